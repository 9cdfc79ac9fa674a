import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/*
 * The error model (docs/errors.md) kept by a scan of src/: every error leaving a boundary is
 * a ToolgateError with a documented code, and caught values are read with
 * src/errors/unknown-error.ts, never cast. src/spiffe is the SPIFFE library, with its own
 * base (SpiffeError) and its own rules.
 */

const ROOT = join(__dirname, '../../..');
const SRC = join(ROOT, 'src');

/**
 * The one place that says where a plain `Error` is still thrown, and why. Anything else
 * throws a ToolgateError subclass (add a code to a family, and to docs/errors.md).
 * `text` is a fragment of the line; without it the whole file is exempt.
 */
const PLAIN_ERRORS: readonly { file: string; text?: string; why: string }[] = [
  { file: 'src/relay/message-plan.ts', text: 'is not a protobuf scalar', why: 'invariant: protobufjs has resolved every field type before a plan is built' },
  { file: 'src/relay/canonical-encode.ts', text: 'is not a scalar', why: 'invariant: the switch covers every scalar kind' },
  { file: 'src/state/redis-client.ts', text: "reject(new Error('timed out'))", why: 'caught at once and reported as a StateError' },
  { file: 'src/policy/attribute-usage.ts', text: 'class UnknownForm extends Error', why: 'control flow inside one walk over a policy: never leaves it' },
  { file: 'src/policy/compiled-policy.ts', text: 'class OutsideSubset extends Error', why: 'control flow while compiling one policy: caught there, the policy left to cedar-wasm' },
  {
    file: 'src/policy/compiled-values.ts',
    text: 'class Unanswerable extends Error',
    why: 'control flow inside one fast-path decision: caught by the engine, which asks cedar-wasm',
  },
  {
    file: 'src/relay/reset-with-cancel.ts',
    text: 'no longer destroys with an AbortError',
    why: 'invariant checked once at load, on the Node version: a Node that breaks it must fail at start, not reset calls with the wrong code',
  },
  { file: 'src/demo/run-demo.ts', text: 'the gateway recorded no escalation', why: 'the demo script stops with it: a bug in the demo, shown as is, never a gateway error' },
  {
    file: 'src/server/approvals-console-page.ts',
    why: "the console's browser script, served as text: its errors are the page's, shown to the approver, never thrown in the gateway",
  },
];

/** The base class itself is the one direct subclass of Error. */
const BASE = { file: 'src/errors/toolgate-error.ts', text: 'class ToolgateError' };

const RULES: readonly { name: string; pattern: RegExp }[] = [
  { name: 'a plain Error thrown or rejected with', pattern: /\b(?:throw|reject\()\s*new Error\(/ },
  { name: 'a class extending a built-in error directly', pattern: /\bclass\s+\w+(?:<[^>]*>)?\s+extends\s+(?:Error|RangeError|TypeError)\b/ },
  { name: 'a cast of a caught value (use errorMessage/errorCode/asError)', pattern: /\bas (?:Error\b|NodeJS\.ErrnoException\b)/ },
];

interface Finding {
  file: string;
  line: number;
  text: string;
  rule: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === join(SRC, 'spiffe') ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The rules one line of code breaks; comment lines break none. */
function brokenRules(line: string): string[] {
  const code = line.trim();
  if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return [];
  return RULES.filter((r) => r.pattern.test(code)).map((r) => r.name);
}

/** Every line of `files` breaking a rule. */
function findings(files: readonly string[]): Finding[] {
  return files.flatMap((path) => {
    const file = relative(ROOT, path);
    const lines = readFileSync(path, 'utf8').split('\n');
    return lines.flatMap((text, i) => brokenRules(text).map((rule) => ({ file, line: i + 1, text: text.trim(), rule })));
  });
}

const exempt = (f: Finding, entry: { file: string; text?: string }): boolean => f.file === entry.file && (entry.text === undefined || f.text.includes(entry.text));

describe('the error model', () => {
  const found = findings(sourceFiles(SRC));

  it('has no plain Error at a boundary, no other error base, and no cast of a caught value', () => {
    const unexpected = found.filter((f) => !exempt(f, BASE) && !PLAIN_ERRORS.some((entry) => exempt(f, entry)));
    expect(unexpected.map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.text}`)).toEqual([]);
  });

  it('lists no exemption that no longer applies', () => {
    const stale = PLAIN_ERRORS.filter((entry) => existsSync(join(ROOT, entry.file)) && !found.some((f) => exempt(f, entry)));
    expect(stale.map((entry) => `${entry.file}: ${entry.text ?? '(whole file)'}`)).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    // The scan itself, on lines that break each rule, so that a broken pattern cannot pass silently.
    const sample = [
      "throw new Error('x');",
      "return Promise.reject(new Error('x'));",
      'export class LooseError extends Error {}',
      'class Bounds extends RangeError {}',
      'const m = (err as Error).message;',
      'const c = (err as NodeJS.ErrnoException).code;',
      '// throw new Error in a comment',
      "throw new InvalidValueError('x');",
      'class E extends ToolgateError<"ERR_X"> {}',
    ];
    expect(sample.map((line) => brokenRules(line).length)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });
});

describe('docs/errors.md', () => {
  /** Codes toolgate reads from jose's errors; they are jose's, documented there. */
  const FOREIGN = /^ERR_J/;

  it('lists every code the code throws, and no other', () => {
    const inSource = new Set(
      sourceFiles(SRC)
        .flatMap((path) => [...readFileSync(path, 'utf8').matchAll(/'(ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!))
        .filter((code) => !FOREIGN.test(code)),
    );
    const rows = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('|'));
    const documented = new Set(rows.flatMap((row) => [...row.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!)));
    expect([...inSource].filter((code) => !documented.has(code)).sort()).toEqual([]);
    expect([...documented].filter((code) => !inSource.has(code)).sort()).toEqual([]);
  });
});
