import { EventEmitter } from 'node:events';
import { budgetKeysOf, checkedLifetimeMs, checkedMaxOpen, maxTtlMsOf, openLimitError, type Task, type TaskUsage } from './task';
import { TaskError } from './task-errors';
import { consumeRefusal, type ConsumeResult, type TaskSnapshot, type TaskStore } from './task-store';

export interface MemoryTaskStoreOptions {
  /** The longest a task may live, in seconds (config); a longer task is refused with `ERR_TASK_TTL`. */
  readonly maxTtlSeconds: number;
  /** How long an expired task stays for `get` before `prune` drops it, in seconds. Default 300. */
  readonly retainSeconds?: number;
  /** Open (not ended, not expired) tasks one owner may hold; one more is refused with `ERR_TASK_OPEN_LIMIT`. Default 32. */
  readonly maxOpenPerCaller?: number;
}

interface Entry {
  task: Task;
  callsUsed: number;
  readonly perMethod: Map<string, number>;
  readonly leases: Set<string>;
}

/**
 * Tasks in this process's memory. `consume` is atomic because it runs to completion without
 * awaiting: nothing else can run between its checks and its counting.
 */
export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, Entry>();
  /** Each owner's open tasks: id → expiry (ms). Ended tasks leave at once, expired ones when next looked at. */
  readonly #open = new Map<string, Map<string, number>>();
  readonly #maxOpen: number;
  readonly #maxTtlMs: number;
  readonly #retainMs: number;
  readonly #ended = new EventEmitter<{ ended: [id: string] }>();
  #nextLease = 0;

  constructor(options: MemoryTaskStoreOptions) {
    this.#maxTtlMs = maxTtlMsOf(options.maxTtlSeconds);
    this.#retainMs = (options.retainSeconds ?? 300) * 1000;
    this.#maxOpen = checkedMaxOpen(options.maxOpenPerCaller);
  }

  /** Tasks held, ended and expired ones included. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Counts and stores in one step (nothing awaited between): two concurrent begins cannot both take the last slot. */
  async begin(task: Task): Promise<void> {
    checkedLifetimeMs(task, this.#maxTtlMs);
    if (this.#tasks.has(task.id)) throw new TaskError('ERR_TASK_INVALID', 'a task with this id exists');
    const open = this.#open.get(task.ownerSpiffeId) ?? new Map<string, number>();
    dropExpired(open, task.createdAt.getTime());
    if (open.size >= this.#maxOpen) throw openLimitError(this.#maxOpen);
    open.set(task.id, task.expiresAt.getTime());
    this.#open.set(task.ownerSpiffeId, open);
    this.#tasks.set(task.id, { task, callsUsed: 0, perMethod: new Map(), leases: new Set() });
  }

  async get(id: string): Promise<TaskSnapshot | undefined> {
    const entry = this.#tasks.get(id);
    return entry === undefined ? undefined : { task: entry.task, usage: usageOf(entry) };
  }

  async end(id: string, now: Date): Promise<Task | undefined> {
    const entry = this.#tasks.get(id);
    if (entry === undefined) return undefined;
    if (entry.task.endedAt === undefined) {
      entry.task = { ...entry.task, endedAt: new Date(now.getTime()) };
      this.#closeOpen(entry.task.ownerSpiffeId, (open) => open.delete(id));
      this.#ended.emit('ended', id);
    }
    return entry.task;
  }

  async consume(id: string, action: string, now: Date): Promise<ConsumeResult> {
    const entry = this.#tasks.get(id);
    if (entry === undefined) return { ok: false, reason: 'not-found' };
    const refusal = consumeRefusal({ task: entry.task, usage: usageOf(entry) }, action, now);
    if (refusal !== undefined) return refusal;
    const { budget } = entry.task;
    const keys = budgetKeysOf(budget, action);

    entry.callsUsed++;
    for (const key of keys) entry.perMethod.set(key, (entry.perMethod.get(key) ?? 0) + 1);
    // Only a concurrency cap needs the call's slot back when it ends.
    if (budget.maxConcurrent === undefined) return { ok: true, usage: usageOf(entry) };
    const lease = String(++this.#nextLease);
    entry.leases.add(lease);
    return { ok: true, usage: usageOf(entry), lease };
  }

  async release(id: string, lease: string): Promise<void> {
    this.#tasks.get(id)?.leases.delete(lease);
  }

  /** Leases here live and die with this process: nothing to renew. */
  async renew(): Promise<void> {}

  onEnded(listener: (id: string) => void): () => void {
    this.#ended.on('ended', listener);
    return () => this.#ended.off('ended', listener);
  }

  async close(): Promise<void> {
    this.#ended.removeAllListeners();
  }

  /** Drops tasks that expired more than `retainSeconds` before `now`, and forgets owners with no open task. Returns how many tasks. */
  prune(now: Date): number {
    for (const owner of [...this.#open.keys()]) this.#closeOpen(owner, (open) => dropExpired(open, now.getTime()));
    let dropped = 0;
    for (const [id, entry] of this.#tasks) {
      if (now.getTime() - entry.task.expiresAt.getTime() > this.#retainMs) {
        this.#tasks.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  /** Applies `change` to the owner's open tasks, and forgets the owner once none is left. */
  #closeOpen(owner: string, change: (open: Map<string, number>) => void): void {
    const open = this.#open.get(owner);
    if (open === undefined) return;
    change(open);
    if (open.size === 0) this.#open.delete(owner);
  }
}

/** Removes the tasks that have expired at `nowMs` (a task expires at its `expiresAt`, as `consume` sees it). */
function dropExpired(open: Map<string, number>, nowMs: number): void {
  for (const [id, expiresAt] of open) if (expiresAt <= nowMs) open.delete(id);
}

function usageOf(entry: Entry): TaskUsage {
  return { callsUsed: entry.callsUsed, perMethod: Object.fromEntries(entry.perMethod), inFlight: entry.leases.size };
}
