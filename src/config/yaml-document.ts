import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { KeyPath } from './key-path';
import { errorMessage } from '../errors/unknown-error';

export interface YamlProblem {
  line?: number;
  message: string;
}

/** A parsed config file: its plain value, and the line of any key path in it. */
export interface YamlDocument {
  /** Undefined when `problems` is not empty. */
  value: unknown;
  /** Syntax errors and warnings; a file with any is not used. */
  problems: YamlProblem[];
  lineOf(path: KeyPath): number | undefined;
}

/** Parses one YAML document, keeping node positions so that errors can name lines. */
export function parseYaml(text: string): YamlDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  // Warnings (an unknown tag, say) count as errors: a config must mean what it says.
  const problems: YamlProblem[] = [...doc.errors, ...doc.warnings].map((e) => ({
    line: lineAt(e.pos[0]),
    // yaml's own text for this one speaks to programmers ("use parseAllDocuments()").
    message: e.code === 'MULTIPLE_DOCS' ? 'the file must hold one YAML document, not several' : e.message,
  }));
  let value: unknown;
  if (problems.length === 0) {
    try {
      value = doc.toJS(); // bounds alias expansion (maxAliasCount), against "billion laughs"
    } catch (err) {
      problems.push({ message: errorMessage(err) });
    }
  }
  return { value, problems, lineOf: (path) => lineOf(doc, path, lineAt) };
}

/**
 * The line of the deepest node along `path` that exists: a key's own line when it is
 * there, else its nearest ancestor's (a missing key is reported where its mapping is).
 */
function lineOf(doc: Document, path: KeyPath, lineAt: (offset: number) => number): number | undefined {
  let node: unknown = doc.contents;
  if (path.length === 0) return rangeLine(node, lineAt);
  let line: number | undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      line = rangeLine(pair.key, lineAt);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      line = rangeLine(node, lineAt);
    } else {
      break;
    }
  }
  return line;
}

function rangeLine(node: unknown, lineAt: (offset: number) => number): number | undefined {
  const range = (node as Node | null)?.range;
  return range ? lineAt(range[0]) : undefined;
}
