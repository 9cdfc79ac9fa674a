import type { TaskStore } from '../tasks/task-store';

/** Why a task's open calls are cut. */
export type TaskCutReason = 'task ended' | 'task expired';

interface OpenTask {
  readonly calls: Set<(reason: TaskCutReason) => void>;
  readonly timer: NodeJS.Timeout;
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
  readonly #recheck: NodeJS.Timeout | undefined;

  /**
   * With `recheckMs`, the tasks with open calls here are also read back from the store that
   * often, and cut if ended: a shared store's end notice (Redis pub/sub) can be lost while a
   * connection is down, and an open stream must not outlive its task because of that.
   */
  constructor(
    private readonly store: TaskStore,
    options: { recheckMs?: number } = {},
  ) {
    this.#unsubscribe = store.onEnded((id) => this.cut(id, 'task ended'));
    if (options.recheckMs !== undefined) {
      this.#recheck = setInterval(() => void this.recheck(), options.recheckMs);
      this.#recheck.unref();
    }
  }

  /** Calls in flight with a task, on this replica. */
  get size(): number {
    let n = 0;
    for (const task of this.#tasks.values()) n += task.calls.size;
    return n;
  }

  /**
   * Registers a call of task `id`; `cancel` ends it when the task ends or at `expiresAt`.
   * Returns the function that unregisters it, to call when the call ends on its own.
   */
  add(id: string, expiresAt: Date, cancel: (reason: TaskCutReason) => void): () => void {
    let task = this.#tasks.get(id);
    if (task === undefined) {
      const delay = Math.min(Math.max(0, expiresAt.getTime() - Date.now()), MAX_TIMER_MS);
      const timer = setTimeout(() => this.cut(id, 'task expired'), delay);
      timer.unref();
      task = { calls: new Set(), timer };
      this.#tasks.set(id, task);
    }
    const calls = task.calls;
    calls.add(cancel);
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
    for (const cancel of task.calls) cancel(reason);
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

  close(): void {
    clearInterval(this.#recheck);
    this.#unsubscribe();
    for (const task of this.#tasks.values()) clearTimeout(task.timer);
    this.#tasks.clear();
  }
}
