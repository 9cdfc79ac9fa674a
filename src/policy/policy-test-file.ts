import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatKeyPath, type KeyPath } from '../config/key-path';
import { parseYaml } from '../config/yaml-document';
import { principalSpecOf, type PrincipalSpec } from './policy-test-principal';
import type { RequestSpec } from './policy-test-request';
import { toCedarRecord } from './policy-test-value';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { PolicyError } from './errors';

/** One case: a request and the decision expected for it. */
export interface PolicyTestCase extends RequestSpec {
  readonly name: string;
  /** `escalate`: permitted only with a person's approval (`@approval` permits, docs/approvals.md). */
  readonly expect: 'allow' | 'deny' | 'escalate';
  /** The policies expected to determine the decision, in any order; unchecked when absent. */
  readonly policies?: readonly string[];
}

export interface PolicyTestFile {
  /** The config to resolve principals and routes against: absolute, relative paths resolved against the test file's folder. */
  readonly config?: string;
  readonly cases: readonly PolicyTestCase[];
}

const TOP_KEYS = new Set(['config', 'cases']);
const CASE_KEYS = new Set(['name', 'principal', 'action', 'resource', 'authn', 'metadata', 'request', 'context', 'expect', 'policies']);

/**
 * Reads a policy test file (YAML):
 *
 * ```yaml
 * config: ../examples/toolgate.yaml     # optional; `--config` overrides it
 * cases:
 *   - name: researchers read reports
 *     principal: research-bot            # agent name, SPIFFE ID, or {type, id, attrs, groups}
 *     action: tools.files.v1.Files/ReadFile
 *     request: { path: /reports/q3.md, maxBytes: 1024 }
 *     expect: allow
 *     policies: [researchers-read-files]
 * ```
 *
 * Unknown keys are refused, so that a misspelt `expect` cannot make a case pass unchecked.
 * Throws `PolicyError` (`ERR_POLICY_TEST`) listing every problem as `file:line: key path: message`.
 */
export function readPolicyTestFile(file: string): PolicyTestFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError('ERR_POLICY_TEST', `cannot read ${file}: ${errorCode(err) === 'ENOENT' ? 'file not found' : errorMessage(err)}`, { cause: err });
  }
  const doc = parseYaml(text);
  const problems = doc.problems.map(({ line, message }) => ({ line, text: message }));
  const add: Add = (path, message, label = formatKeyPath(path)) => {
    problems.push({ line: doc.lineOf(path), text: `${label}: ${message}` });
  };
  const parsed = problems.length > 0 ? undefined : parseTop(doc.value, dirname(resolve(file)), add);
  if (parsed !== undefined && problems.length === 0) return parsed;
  // In file order, so the report reads top to bottom.
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new PolicyError('ERR_POLICY_TEST', `${file} cannot be used`, { problems: problems.map((p) => `${file}${p.line === undefined ? '' : `:${p.line}`}: ${p.text}`) });
}

/** Reports a problem at the line of `path`, under `label` (default: the path itself). */
type Add = (path: KeyPath, message: string, label?: string) => void;

function parseTop(value: unknown, baseDir: string, add: Add): PolicyTestFile | undefined {
  if (!isMapping(value)) {
    add([], 'must be a mapping with a `cases` list');
    return undefined;
  }
  for (const key of Object.keys(value)) if (!TOP_KEYS.has(key)) add([key], 'unknown key (expected config, cases)');
  if (value['config'] !== undefined && typeof value['config'] !== 'string') add(['config'], 'must be the path of a config file');
  const cases = value['cases'];
  if (!Array.isArray(cases) || cases.length === 0) {
    add(['cases'], 'must be a non-empty list of test cases');
    return undefined;
  }
  const parsed = cases.map((c, i) => parseCase(c, ['cases', i], add));
  const config = typeof value['config'] === 'string' ? resolve(baseDir, value['config']) : undefined;
  return { ...(config !== undefined && { config }), cases: parsed.filter((c): c is PolicyTestCase => c !== undefined) };
}

function parseCase(value: unknown, path: KeyPath, add: Add): PolicyTestCase | undefined {
  if (!isMapping(value)) {
    add(path, 'must be a mapping (name, principal, action, expect, ...)');
    return undefined;
  }
  const problem = (key: string, message: string): void => add([...path, key], message);
  for (const key of Object.keys(value)) if (!CASE_KEYS.has(key)) problem(key, `unknown key (expected ${[...CASE_KEYS].join(', ')})`);
  const { name, action, resource, authn, expect, policies } = value;
  if (typeof name !== 'string' || name === '') problem('name', 'must be a non-empty string');
  if (typeof action !== 'string' || !action.includes('/')) problem('action', 'must be "<package.Service>/<Method>" or "mcp:<upstream>/<method>[/<name>]"');
  if (resource !== undefined && typeof resource !== 'string') problem('resource', "must be an upstream's name");
  if (authn !== undefined && authn !== 'x509-svid' && authn !== 'jwt-svid') problem('authn', 'must be x509-svid or jwt-svid');
  const expected = expect === 'allow' || expect === 'deny' || expect === 'escalate';
  if (!expected) problem('expect', 'must be allow, deny or escalate');
  if (policies !== undefined && !(Array.isArray(policies) && policies.every((p) => typeof p === 'string'))) problem('policies', 'must be a list of policy ids');
  let principal: PrincipalSpec | undefined;
  try {
    principal = principalSpecOf(value['principal']);
  } catch (err) {
    problem('principal', errorMessage(err));
  }
  const metadata = value['metadata'];
  if (metadata !== undefined && !(isMapping(metadata) && Object.values(metadata).every((v) => typeof v === 'string'))) {
    problem('metadata', 'must map header names to strings');
  }
  const records: Partial<Record<'request' | 'context', ReturnType<typeof toCedarRecord>>> = {};
  for (const key of ['request', 'context'] as const) {
    if (value[key] === undefined) continue;
    try {
      records[key] = toCedarRecord(value[key], key);
    } catch (err) {
      // The message names the value's own path (`request.a`), so it is put under the case's.
      add([...path, key], errorMessage(err), formatKeyPath(path));
    }
  }
  if (typeof name !== 'string' || typeof action !== 'string' || principal === undefined || !expected) return undefined;
  return {
    name,
    principal,
    action,
    expect: expect as PolicyTestCase['expect'],
    ...(typeof resource === 'string' && { resource }),
    ...((authn === 'x509-svid' || authn === 'jwt-svid') && { authn }),
    ...(isMapping(metadata) && { metadata: metadata as Record<string, string> }),
    ...records,
    ...(Array.isArray(policies) && { policies: policies as string[] }),
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
