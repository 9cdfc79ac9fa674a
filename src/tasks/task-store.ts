import type { Task, TaskUsage } from './task';
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
