import { ToolgateError } from '../errors/toolgate-error';

/**
 * Stable codes for everything the task layer refuses. Callers branch on `code`, never on
 * message text. Messages never contain a token, a key or another agent's SPIFFE ID: they may
 * reach the caller and the logs.
 */
export type TaskErrorCode =
  /** A task token that does not verify: bad signature, unknown key, wrong `typ`/`iss`, malformed, or presented by another SPIFFE ID. */
  | 'ERR_TASK_TOKEN'
  /** The task was ended (EndTask). */
  | 'ERR_TASK_ENDED'
  /** The task, or its token, expired. */
  | 'ERR_TASK_EXPIRED'
  /** A call would exceed the task's total budget, a per-method cap or its concurrency cap (gRPC `RESOURCE_EXHAUSTED`). */
  | 'ERR_TASK_BUDGET'
  /** The caller already has `tasks.maxOpenPerCaller` tasks open (not ended, not expired): BeginTask answers `RESOURCE_EXHAUSTED`. */
  | 'ERR_TASK_OPEN_LIMIT'
  /** The requested TTL is not a positive whole number of seconds or exceeds the configured cap. */
  | 'ERR_TASK_TTL'
  /** No such task (or not the caller's: the two are not told apart). */
  | 'ERR_TASK_NOT_FOUND'
  /** The called action is not among the task's tools. */
  | 'ERR_TASK_TOOL'
  /** A BeginTask request that is malformed: empty or bad tool names, negative budget, duplicate id. */
  | 'ERR_TASK_INVALID'
  /** A signing key that cannot be used: not an ES256 (P-256) private JWK, or none current. */
  | 'ERR_TASK_KEY';

export class TaskError extends ToolgateError<TaskErrorCode> {}
