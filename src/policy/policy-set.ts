import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeAttributeUsage, type AttributeUsage } from './attribute-usage';
import { readApprovalAnnotations, type PolicyApproval } from './approval-annotations';
import { preparsePolicySet, validate, type DetailedError } from './cedar';
import { PolicyError } from './errors';
import { parsePolicyFile, type LoadedPolicy } from './policy-file';
import { SourceFile } from './source-file';
import { errorMessage } from '../errors/unknown-error';

/** A file's name (no folder) and its text. */
export interface PolicySource {
  readonly name: string;
  readonly text: string;
}

const POLICY_EXT = '.cedar';
const SCHEMA_EXT = '.cedarschema';
/** The name `fromText` gives its schema in messages. */
const DEFAULT_SCHEMA_NAME = `schema${SCHEMA_EXT}`;

/**
 * A loaded, validated, preparsed and immutable policy set. Loading refuses the whole set on
 * any problem (the caller keeps serving its last good set); once built, a set never changes,
 * so a reload builds a new one and swaps it in.
 *
 * Cedar keeps preparsed sets in the wasm instance's memory under an id, and cedar-wasm 4.13
 * has no call to drop one. The id is derived from the content, so reloading unchanged files
 * reuses the entry; each distinct set loaded stays resident for the life of the process
 * (~3 KB per policy, measured). The entry lives in the wasm instance of the thread that
 * loaded the set: an engine on another thread would find nothing and deny every call.
 */
export class PolicySet {
  /** Short sha256 of the file names and contents (schema included): names the set in logs. */
  readonly hash: string;
  /** Policy ids in load order (files by name, then position in the file). */
  readonly ids: readonly string[];
  readonly policies: readonly LoadedPolicy[];
  /** The schema's text, when the set has one. */
  readonly schema: string | undefined;
  /** Validator warnings; they do not refuse the set. */
  readonly warnings: readonly string[];
  /** The attributes policies can read, computed once for every engine on this set. */
  readonly attributeUsage: AttributeUsage;
  /** The id of this set in cedar-wasm's preparsed store. */
  readonly cedarId: string;
  /** The `@approval` permits by id (approval-annotations.ts); undefined when the set has none, so decisions do no approval work. */
  readonly approvals: ReadonlyMap<string, PolicyApproval> | undefined;

  private constructor(files: readonly PolicySource[], schema: PolicySource | undefined) {
    const digest = contentHash(files, schema);
    this.hash = digest.slice(0, 12);
    this.cedarId = `toolgate:${digest}`;
    this.policies = loadPolicies(files);
    this.ids = this.policies.map((p) => p.id);
    const annotations = readApprovalAnnotations(this.policies);
    if (annotations.problems.length > 0) throw new PolicyError('ERR_POLICY_LOAD', 'invalid approval annotations', { problems: annotations.problems });
    this.approvals = annotations.approvals;
    this.schema = schema?.text;
    const texts = Object.fromEntries(this.policies.map((p) => [p.id, p.text]));
    this.warnings = schema === undefined ? [] : validateAgainst(schema, texts, this.policies);
    this.attributeUsage = analyzeAttributeUsage(this.policies.map((p) => p.json));
    // Parsed once here, never per call: `statefulIsAuthorized` refers to it by id.
    const preparsed = preparsePolicySet(this.cedarId, { staticPolicies: texts });
    if (preparsed.type === 'failure') {
      throw new PolicyError('ERR_POLICY_LOAD', 'Cedar refused to preparse the policy set', { problems: preparsed.errors.map((e) => e.message) });
    }
  }

  get size(): number {
    return this.policies.length;
  }

  /**
   * Loads `dir/*.cedar` (sorted by name) and at most one `dir/*.cedarschema`. Sub-folders are
   * not read (`shadow/` holds a candidate set, loaded on its own), nor are names starting
   * with a dot (editor lock files such as `.#agents.cedar`; a ConfigMap's `..data`).
   * Symbolic links are followed, as in a Kubernetes ConfigMap volume.
   */
  static loadDirectory(dir: string): PolicySet {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw new PolicyError('ERR_POLICY_LOAD', `cannot read policy directory ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    const files: PolicySource[] = [];
    const schemas: PolicySource[] = [];
    for (const name of names) {
      if (name.startsWith('.') || !(name.endsWith(POLICY_EXT) || name.endsWith(SCHEMA_EXT))) continue;
      const path = join(dir, name);
      try {
        if (!statSync(path).isFile()) continue;
        (name.endsWith(POLICY_EXT) ? files : schemas).push({ name, text: readFileSync(path, 'utf8') });
      } catch (err) {
        throw new PolicyError('ERR_POLICY_LOAD', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
      }
    }
    if (schemas.length > 1) {
      throw new PolicyError('ERR_POLICY_LOAD', `${dir} has more than one schema: ${schemas.map((s) => s.name).join(', ')}`);
    }
    return new PolicySet(files, schemas[0]);
  }

  /** A set from file names and texts (tests, generated policies). */
  static fromText(files: Readonly<Record<string, string>>, schema?: string): PolicySet {
    const sources = Object.keys(files)
      .sort()
      .map((name) => ({ name, text: files[name] as string }));
    return new PolicySet(sources, schema === undefined ? undefined : { name: DEFAULT_SCHEMA_NAME, text: schema });
  }
}

function contentHash(files: readonly PolicySource[], schema: PolicySource | undefined): string {
  const hash = createHash('sha256');
  // NUL separators: no name or text boundary can be moved without changing the digest.
  for (const file of files) hash.update(`${file.name}\0${file.text}\0`);
  if (schema !== undefined) hash.update(`\0schema\0${schema.name}\0${schema.text}`);
  return hash.digest('hex');
}

/** Every file's policies, with ids unique across the set; all problems reported at once. */
function loadPolicies(files: readonly PolicySource[]): LoadedPolicy[] {
  const policies: LoadedPolicy[] = [];
  const parseProblems: string[] = [];
  for (const file of files) {
    try {
      policies.push(...parsePolicyFile(file.name, file.text));
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      parseProblems.push(...(err.problems.length > 0 ? err.problems : [err.message]));
    }
  }
  if (parseProblems.length > 0) throw new PolicyError('ERR_POLICY_PARSE', 'policy files cannot be loaded', { problems: parseProblems });

  const seen = new Map<string, LoadedPolicy>();
  const duplicates: string[] = [];
  for (const policy of policies) {
    const first = seen.get(policy.id);
    if (first === undefined) seen.set(policy.id, policy);
    else duplicates.push(`"${policy.id}" in ${at(first)} and ${at(policy)}`);
  }
  if (duplicates.length > 0) throw new PolicyError('ERR_POLICY_LOAD', 'duplicate policy ids', { problems: duplicates });
  return policies;
}

function at(policy: LoadedPolicy): string {
  return `${policy.file}:${policy.position.line}`;
}

/**
 * Strict validation against the schema: a policy that reads an attribute no request can
 * carry, or compares values of different types, is refused here rather than left to deny
 * every call at run time. Returns the warnings.
 */
function validateAgainst(schema: PolicySource, texts: Record<string, string>, policies: readonly LoadedPolicy[]): string[] {
  const answer = validate({ schema: schema.text, validationSettings: { mode: 'strict' }, policies: { staticPolicies: texts } });
  if (answer.type === 'failure') {
    const source = new SourceFile(schema.name, schema.text);
    throw new PolicyError('ERR_POLICY_SCHEMA', `schema ${schema.name} does not parse`, { problems: answer.errors.map((e) => source.describe(e)) });
  }
  const byId = new Map(policies.map((p) => [p.id, p]));
  const describe = ({ policyId, error }: { policyId: string; error: DetailedError }): string => {
    const policy = byId.get(policyId);
    const where = policy === undefined ? error.message : new SourceFile(policy.file, policy.text, policy.position).describe(error);
    return `policy "${policyId}" at ${where}`;
  };
  if (answer.validationErrors.length > 0) {
    throw new PolicyError('ERR_POLICY_VALIDATION', `policies fail validation against ${schema.name}`, {
      problems: answer.validationErrors.map(describe),
    });
  }
  return [...answer.validationWarnings.map(describe), ...answer.otherWarnings.map((w) => w.message)];
}
