import { ToolgateError } from '../errors/toolgate-error';

/**
 * Stable codes for everything the policy layer refuses. Callers branch on `code`, never on
 * message text. Loading collects every problem it can find before it throws, so that
 * `toolgate policy validate` can list them all at once; `problems` holds them one per entry.
 */
export type PolicyErrorCode =
  /** The directory or a file cannot be read, two schemas, duplicate ids. */
  | 'ERR_POLICY_LOAD'
  /** A policy file does not parse, or uses what toolgate does not take (templates, an empty `@id`); each problem names the file and line. */
  | 'ERR_POLICY_PARSE'
  /** The schema does not parse. */
  | 'ERR_POLICY_SCHEMA'
  /** A policy fails strict validation against the schema; each problem names the policy id. */
  | 'ERR_POLICY_VALIDATION'
  /** cedar-wasm was loaded before the V8 guard ran (see v8-guard.ts). */
  | 'ERR_V8_GUARD'
  /** A `policy test` file that cannot be read or used; each problem names the file and line. */
  | 'ERR_POLICY_TEST';

export class PolicyError extends ToolgateError<PolicyErrorCode> {
  readonly problems: readonly string[];

  constructor(code: PolicyErrorCode, message: string, options: { problems?: readonly string[]; cause?: unknown } = {}) {
    const problems = options.problems ?? [];
    super(code, problems.length === 0 ? message : `${message}:\n  ${problems.join('\n  ')}`, options);
    this.problems = problems;
  }
}
