import type { TaskStore } from '../tasks/task-store';

/** Why a task's open calls are cut. */
export type TaskCutReason = 'task ended' | 'task expired';

interface OpenTask {
  /** Each open call's cancel function, and the lease of its concurrency slot if it holds one. */
  readonly calls: Map<(reason: TaskCutReason) => void, string | undefined>;
  readonly timer: NodeJS.Timeout;
}

export interface OpenTaskCallsOptions {
  /** Read the tasks with open calls back from the store this often, and cut those ended. */
  readonly recheckMs?: number;
  /** Renew the leases of open calls this often (a shared store drops leases not renewed). */
  readonly renewMs?: number;
}

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The calls in flight on this replica, by task, so that a task's open streams are cut the
 * moment it ends (here or, through the store, on another replica) or expires. A task with
 * no open call here holds no timer.
 */
export class OpenTaskCalls {
  readonly #tasks = new Map<string, OpenTask>();
  readonly #unsubscribe: () => void;
  readonly #timers: NodeJS.Timeout[] = [];

  /**
   * With `recheckMs`, the tasks with open calls here are also read back from the store that
   * often, and cut if ended: a shared store's end notice (Redis pub/sub) can be lost while a
   * connection is down, and an open stream must not outlive its task because of that. With
   * `renewMs`, the leases of open calls are renewed that often, so that they keep their slots
   * while the slots of a replica that died come back.
   */
  constructor(
    private readonly store: TaskStore,
    options: OpenTaskCallsOptions = {},
  ) {
    this.#unsubscribe = store.onEnded((id) => this.cut(id, 'task ended'));
    if (options.recheckMs !== undefined) this.#every(options.recheckMs, () => this.recheck());
    if (options.renewMs !== undefined) this.#every(options.renewMs, () => this.renew());
  }

  #every(ms: number, run: () => Promise<void>): void {
    const timer = setInterval(() => void run(), ms);
    timer.unref();
    this.#timers.push(timer);
  }

  /** Calls in flight with a task, on this replica. */
  get size(): number {
    let n = 0;
    for (const task of this.#tasks.values()) n += task.calls.size;
    return n;
  }

  /**
   * Registers a call of task `id`, holding `lease` when the task has a concurrency cap;
   * `cancel` ends it when the task ends or at `expiresAt`. Returns the function that
   * unregisters it, to call when the call ends on its own.
   */
  add(id: string, expiresAt: Date, cancel: (reason: TaskCutReason) => void, lease?: string): () => void {
    let task = this.#tasks.get(id);
    if (task === undefined) {
      const delay = Math.min(Math.max(0, expiresAt.getTime() - Date.now()), MAX_TIMER_MS);
      const timer = setTimeout(() => this.cut(id, 'task expired'), delay);
      timer.unref();
      task = { calls: new Map(), timer };
      this.#tasks.set(id, task);
    }
    const calls = task.calls;
    calls.set(cancel, lease);
    return () => {
      calls.delete(cancel);
      if (calls.size === 0 && this.#tasks.get(id) === task) {
        clearTimeout(task.timer);
        this.#tasks.delete(id);
      }
    };
  }

  /** Cancels every open call of task `id`. */
  cut(id: string, reason: TaskCutReason): void {
    const task = this.#tasks.get(id);
    if (task === undefined) return;
    this.#tasks.delete(id);
    clearTimeout(task.timer);
    for (const cancel of task.calls.keys()) cancel(reason);
  }

  /** Cuts the open calls of every task the store says has ended. A store error changes nothing (the next pass retries). */
  async recheck(): Promise<void> {
    await Promise.all(
      [...this.#tasks.keys()].map(async (id) => {
        const snapshot = await this.store.get(id).catch(() => null);
        if (snapshot === null) return;
        if (snapshot === undefined || snapshot.task.endedAt !== undefined) this.cut(id, 'task ended');
      }),
    );
  }

  /** Renews the leases of the calls open here. A store error changes nothing (the next pass retries). */
  async renew(): Promise<void> {
    const now = new Date();
    await Promise.all(
      [...this.#tasks].map(([id, task]) => {
        const leases = [...task.calls.values()].filter((lease): lease is string => lease !== undefined);
        return leases.length === 0 ? Promise.resolve() : this.store.renew(id, leases, now).catch(() => undefined);
      }),
    );
  }

  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#unsubscribe();
    for (const task of this.#tasks.values()) clearTimeout(task.timer);
    this.#tasks.clear();
  }
}
