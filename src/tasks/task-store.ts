import { budgetKeysOf, taskAllows, type Task, type TaskUsage } from './task';
import { TaskError } from './task-errors';

/** Why `consume` refused a call. */
export type ConsumeRefusal =
  /** No such task (never begun, or pruned after expiry). */
  | 'not-found'
  /** The task was ended. */
  | 'ended'
  /** The task expired. */
  | 'expired'
  /** The action is not among the task's tools. */
  | 'tool'
  /** The total call budget is spent. */
  | 'budget'
  /** A `perMethod` cap for this action (or its service) is spent; `key` names it. */
  | 'per-method'
  /** `maxConcurrent` calls of the task are already in flight. */
  | 'concurrency';

export type ConsumeResult =
  | {
      readonly ok: true;
      /** Usage after counting this call, for `context.task`. */
      readonly usage: TaskUsage;
      /**
       * Pass to `release` when the call ends (whatever its outcome); frees its concurrency
       * slot. Absent for a task without a concurrency cap: nothing to release.
       */
      readonly lease?: string;
    }
  | { readonly ok: false; readonly reason: ConsumeRefusal; readonly key?: string };

export interface TaskSnapshot {
  readonly task: Task;
  readonly usage: TaskUsage;
}

/**
 * Where tasks and their counters live. In memory by default (`MemoryTaskStore`); in Redis
 * when several gateway replicas share tasks (a later implementation).
 *
 * Every method is async and takes `now` from the caller so that a Redis implementation fits
 * unchanged: `consume` must be atomic across replicas (a Lua script that reads the task
 * hash, checks ended/expired/tools/budget/caps/in-flight and increments in one step), leases
 * become members of a per-task sorted set scored by a deadline (renewed while their calls run)
 * so that a crashed replica's in-flight calls do not hold slots for long, and `end` publishes on a channel so that other
 * replicas cancel the task's open streams. Keys expire with the task (plus retention).
 */
export interface TaskStore {
  /**
   * Stores a new task. Throws `TaskError` `ERR_TASK_TTL` when its lifetime exceeds the
   * store's `maxTtlSeconds`, `ERR_TASK_INVALID` when its id is taken, `ERR_TASK_OPEN_LIMIT`
   * when its owner already holds the store's `maxOpenPerCaller` open tasks (not ended, not
   * expired at the task's `createdAt`). Counting and storing are one atomic step.
   */
  begin(task: Task): Promise<void>;

  /** The task and its usage, or undefined. Ended and expired tasks are returned until pruned. */
  get(id: string): Promise<TaskSnapshot | undefined>;

  /**
   * Ends the task at `now`: `consume` refuses it from then on. Idempotent (the first end time
   * stays). Returns the ended task, or undefined when there is none.
   */
  end(id: string, now: Date): Promise<Task | undefined>;

  /**
   * Atomically checks that the task exists, is not ended, has not expired at `now`, lists
   * `action` among its tools, and has budget, per-method cap and a concurrency slot left;
   * then counts the call and takes the slot. A refused call counts nothing.
   */
  consume(id: string, action: string, now: Date): Promise<ConsumeResult>;

  /** Frees the concurrency slot `lease` holds. Idempotent; unknown tasks and leases are ignored. */
  release(id: string, lease: string): Promise<void>;

  /**
   * Keeps the slots of calls still in flight: a shared store drops a lease not renewed within
   * its TTL, so that the calls of a replica that died stop counting. Released leases stay gone.
   */
  renew(id: string, leases: readonly string[], now: Date): Promise<void>;

  /**
   * Calls `listener` with the id of every task ended from now on, by this process or (for a
   * shared store) by another replica, so that the task's open streams here are cancelled.
   * Returns a function that removes the listener.
   */
  onEnded(listener: (id: string) => void): () => void;

  /** Releases connections and timers. The store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * The `TaskError` for a refused `consume`: `ERR_TASK_BUDGET` for budget, per-method and
 * concurrency (gRPC `RESOURCE_EXHAUSTED`), `ERR_TASK_TOOL` for a tool outside the task, and
 * `ERR_TASK_ENDED`, `ERR_TASK_EXPIRED`, `ERR_TASK_NOT_FOUND` for the rest.
 */
export function consumeRefusalError(result: Extract<ConsumeResult, { ok: false }>): TaskError {
  switch (result.reason) {
    case 'not-found':
      return new TaskError('ERR_TASK_NOT_FOUND', 'no such task');
    case 'ended':
      return new TaskError('ERR_TASK_ENDED', 'the task has ended');
    case 'expired':
      return new TaskError('ERR_TASK_EXPIRED', 'the task has expired');
    case 'tool':
      return new TaskError('ERR_TASK_TOOL', "the method is not among the task's tools");
    case 'budget':
      return new TaskError('ERR_TASK_BUDGET', "the task's call budget is spent");
    case 'per-method':
      return new TaskError('ERR_TASK_BUDGET', `the task's cap on ${JSON.stringify(result.key ?? '')} is spent`);
    case 'concurrency':
      return new TaskError('ERR_TASK_BUDGET', 'the task has its maximum of concurrent calls in flight');
  }
}

/**
 * Why `consume` would refuse a call of `action` on the task as `snapshot` has it at `now`,
 * or undefined when it would count it: the store's checks, in the store's order (the memory
 * store runs them as they are; the Redis script is the same in Lua). Discovery under a task
 * asks it without counting anything; `concurrency: false` leaves out the in-flight cap, a
 * state that passes.
 */
export function consumeRefusal(snapshot: TaskSnapshot, action: string, now: Date, options: { concurrency?: boolean } = {}): Extract<ConsumeResult, { ok: false }> | undefined {
  const { task, usage } = snapshot;
  if (task.endedAt !== undefined) return { ok: false, reason: 'ended' };
  if (now.getTime() >= task.expiresAt.getTime()) return { ok: false, reason: 'expired' };
  if (!taskAllows(task, action)) return { ok: false, reason: 'tool' };
  const { budget } = task;
  if (budget.calls !== undefined && usage.callsUsed >= budget.calls) return { ok: false, reason: 'budget' };
  for (const key of budgetKeysOf(budget, action)) {
    if ((usage.perMethod[key] ?? 0) >= budget.perMethod![key]!) return { ok: false, reason: 'per-method', key };
  }
  if (options.concurrency !== false && budget.maxConcurrent !== undefined && usage.inFlight >= budget.maxConcurrent) return { ok: false, reason: 'concurrency' };
  return undefined;
}

/** `usage` as a call of `action` counted by `consume` would leave it: what that call's `context.task` says. */
export function usageAfter(snapshot: TaskSnapshot, action: string): TaskUsage {
  const { task, usage } = snapshot;
  const perMethod = { ...usage.perMethod };
  for (const key of budgetKeysOf(task.budget, action)) perMethod[key] = (perMethod[key] ?? 0) + 1;
  return { callsUsed: usage.callsUsed + 1, perMethod, inFlight: usage.inFlight + (task.budget.maxConcurrent === undefined ? 0 : 1) };
}
