import { policySetTextToParts, policyToJson, type PolicyJson } from './cedar';
import { PolicyError } from './errors';
import { SourceFile, type Position } from './source-file';

/** One static policy as loaded from a file: what the engine, the index and the tools need. */
export interface LoadedPolicy {
  /** From `@id("...")`, else `<file name>#<index>`. */
  readonly id: string;
  readonly file: string;
  /** 0-based position of the policy in its file. */
  readonly index: number;
  /** Where the policy (its first annotation) starts in the file. */
  readonly position: Position;
  /** The policy's source text, exactly as in the file. */
  readonly text: string;
  /** Cedar's JSON form: effect, scope constraints (for indexing) and conditions. */
  readonly json: PolicyJson;
}

/**
 * Splits one file into its policies and names each. Each file is parsed on its own so that
 * a parse error names its file and line, and an unannotated policy's id can be its index
 * in the file. Throws `PolicyError` `ERR_POLICY_PARSE`.
 */
export function parsePolicyFile(name: string, text: string): LoadedPolicy[] {
  const source = new SourceFile(name, text);
  const refuse = (problems: string[]): PolicyError => new PolicyError('ERR_POLICY_PARSE', `${name} cannot be loaded`, { problems });
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') throw refuse(parts.errors.map((e) => source.describe(e)));
  if (parts.policy_templates.length > 0) {
    throw refuse([`${name}: has templates (policies with ?principal or ?resource slots), which toolgate does not link`]);
  }

  const policies: LoadedPolicy[] = [];
  let from = 0;
  for (const [index, part] of inSourceOrder(parts.policies).entries()) {
    // Policies follow one another, so each is searched after the previous one.
    const offset = source.find(part, from);
    if (offset === -1) throw refuse([`${name}: cannot locate policy ${index} in the file (has Cedar changed how it splits files?)`]);
    from = offset + Buffer.byteLength(part, 'utf8');
    const position = source.positionOf(offset);
    const parsed = policyToJson(part);
    if (parsed.type === 'failure') {
      const snippet = new SourceFile(name, part, position);
      throw refuse(parsed.errors.map((e) => snippet.describe(e)));
    }
    const annotated = parsed.json.annotations?.['id'];
    if (annotated === '') throw refuse([`${source.where(offset)}: @id must not be empty`]);
    policies.push({ id: annotated ?? `${name}#${index}`, file: name, index, position, text: part, json: parsed.json });
  }
  return policies;
}

/**
 * `policySetTextToParts` returns a file's policies sorted by the ids Cedar gives them while
 * parsing — `policy0`, `policy1`, … in source order — compared as strings, so `policy10`
 * sorts before `policy2`. Sorting those ids the same way maps each part back to its index.
 */
function inSourceOrder(sortedById: readonly string[]): string[] {
  const ids = sortedById.map((_, i) => `policy${i}`).sort();
  const byIndex: string[] = new Array<string>(sortedById.length);
  ids.forEach((id, k) => {
    byIndex[Number(id.slice('policy'.length))] = sortedById[k] as string;
  });
  return byIndex;
}
