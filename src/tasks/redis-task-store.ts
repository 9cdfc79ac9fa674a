import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis } from '../state/redis-client';
import { RedisScript, type RedisScriptRun } from '../state/redis-script';
import { checkedLifetimeMs, checkedMaxOpen, maxTtlMsOf, openLimitError, type Task, type TaskBudget, type TaskUsage } from './task';
import { TaskError } from './task-errors';
import type { ConsumeRefusal, ConsumeResult, TaskSnapshot, TaskStore } from './task-store';
import { StateError } from '../state/state-error';

/**
 * A task as stored in the `task` field of its hash: times in ms and the per-method caps as
 * ordered pairs, so that the Lua scripts can read them (cjson keeps array order, not object
 * key order, and the first spent cap in key order is the one a refusal names).
 */
interface StoredTask {
  readonly id: string;
  readonly ownerSpiffeId: string;
  readonly intent: string;
  readonly tools: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly budget: {
    readonly calls?: number;
    readonly maxConcurrent?: number;
    readonly perMethod?: readonly (readonly [string, number])[];
  };
}

/**
 * KEYS[1] the task hash, KEYS[2] its owner's open tasks (a sorted set of ids scored by expiry);
 * ARGV[1] the task JSON, ARGV[2] the hash's time to live (ms), ARGV[3] the id, ARGV[4] now (the
 * task's createdAt, ms), ARGV[5] its expiresAt (ms), ARGV[6] the owner's cap of open tasks.
 * Drops the owner's expired tasks, then counts and adds in the same step, so replicas never
 * let an owner past the cap together. Returns 0 when the id is taken, -1 at the cap, 1 when
 * stored. The set lives as long as its longest-lived task.
 */
const BEGIN = new RedisScript(
  'toolgateBeginTask',
  `
if redis.call('HEXISTS', KEYS[1], 'task') == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then return -1 end
redis.call('HSET', KEYS[1], 'task', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
local lifetime = tonumber(ARGV[5]) - tonumber(ARGV[4])
if redis.call('PTTL', KEYS[2]) < lifetime then redis.call('PEXPIRE', KEYS[2], lifetime) end
return 1
`,
);

/**
 * KEYS[1] the task hash, KEYS[2] its owner's open tasks; ARGV[1] now (ms), ARGV[2] the
 * channel, ARGV[3] the id. Sets `endedAt` unless set and publishes only then, so each end is
 * announced once; the task no longer counts as open. Returns nil for no task, else {task
 * JSON, endedAt}.
 */
const END = new RedisScript(
  'toolgateEndTask',
  `
local stored = redis.call('HGET', KEYS[1], 'task')
if not stored then return nil end
if redis.call('HSETNX', KEYS[1], 'endedAt', ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
redis.call('ZREM', KEYS[2], ARGV[3])
return {stored, redis.call('HGET', KEYS[1], 'endedAt')}
`,
);

/**
 * `MemoryTaskStore.consume` in one atomic step, the same checks in the same order (see
 * `taskAllows` and `budgetKeysOf`). KEYS[1] the task hash, KEYS[2] its leases (a sorted set
 * scored by deadline); ARGV[1] now (ms), ARGV[2] the action, ARGV[3] the lease TTL (ms).
 * Leases past their deadline (a replica that died without releasing) are dropped first.
 * Returns {reason[, key]} for a
 * refusal, or {'ok', lease, callsUsed, inFlight, key1, count1, …} with every per-method count.
 * Only a task with a concurrency cap takes a lease (and counts calls in flight): the others'
 * calls need no release, which saves a round trip per call.
 */
const CONSUME = new RedisScript(
  'toolgateConsumeTask',
  `
local stored = redis.call('HGET', KEYS[1], 'task')
if not stored then return {'not-found'} end
if redis.call('HEXISTS', KEYS[1], 'endedAt') == 1 then return {'ended'} end
local task = cjson.decode(stored)
local now = tonumber(ARGV[1])
if now >= task.expiresAt then return {'expired'} end
local action = ARGV[2]
local slash = string.match(action, '^.*()/')
if slash == nil or slash == 1 or slash == #action then return {'tool'} end
local service = string.sub(action, 1, slash - 1)
local allowed = false
for _, tool in ipairs(task.tools) do
  if tool == action or tool == service then allowed = true end
end
if not allowed then return {'tool'} end
local budget = task.budget
local caps = budget.perMethod or {}
if budget.calls and tonumber(redis.call('HGET', KEYS[1], 'callsUsed') or '0') >= budget.calls then return {'budget'} end
local keys = {}
for _, cap in ipairs(caps) do
  local key = cap[1]
  if key == action or key == service then
    if tonumber(redis.call('HGET', KEYS[1], 'used:' .. key) or '0') >= cap[2] then return {'per-method', key} end
    keys[#keys + 1] = key
  end
end
local inFlight = 0
local lease = ''
if budget.maxConcurrent then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  inFlight = redis.call('ZCARD', KEYS[2])
  if inFlight >= budget.maxConcurrent then return {'concurrency'} end
end

local callsUsed = redis.call('HINCRBY', KEYS[1], 'callsUsed', 1)
for _, key in ipairs(keys) do redis.call('HINCRBY', KEYS[1], 'used:' .. key, 1) end
if budget.maxConcurrent then
  lease = tostring(redis.call('HINCRBY', KEYS[1], 'leaseSeq', 1))
  redis.call('ZADD', KEYS[2], string.format('%d', math.min(task.expiresAt, now + tonumber(ARGV[3]))), lease)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  inFlight = inFlight + 1
end
local reply = {'ok', lease, callsUsed, inFlight}
for _, cap in ipairs(caps) do
  local count = redis.call('HGET', KEYS[1], 'used:' .. cap[1])
  if count then
    reply[#reply + 1] = cap[1]
    reply[#reply + 1] = tonumber(count)
  end
end
return reply
`,
);

/** How long a call's concurrency slot is held without renewal (see `renew`). */
export const LEASE_TTL_MS = 30_000;

export interface RedisTaskStoreOptions {
  /** The longest a task may live, in seconds (config); a longer task is refused with `ERR_TASK_TTL`. */
  readonly maxTtlSeconds: number;
  /** How long an expired task stays for `get` before Redis drops it, in seconds. Default 300. */
  readonly retainSeconds?: number;
  /** Prepended to every key and to the `task-ended` channel. Default `toolgate:`. */
  readonly keyPrefix?: string;
  /** Open (not ended, not expired) tasks one owner may hold, across replicas; one more is refused with `ERR_TASK_OPEN_LIMIT`. Default 32. */
  readonly maxOpenPerCaller?: number;
}

export interface RedisTaskStoreConnectOptions extends RedisTaskStoreOptions {
  /** See `connectRedis` for the forms accepted. */
  readonly url: string;
}

/**
 * Tasks in Redis, shared by every gateway replica, with exactly the semantics of
 * `MemoryTaskStore`. A task is one hash `<prefix>task:{<id>}` (the task as JSON, `callsUsed`,
 * `used:<perMethod key>`, `endedAt`, `leaseSeq`) and its in-flight calls are a sorted set
 * `<prefix>task:{<id>}:leases` scored by a deadline `LEASE_TTL_MS` ahead (never past the
 * task's end), which the replica holding the call renews while it runs: the slots of a replica
 * that died come back within `LEASE_TTL_MS`. (`{id}` keeps both keys in one Redis Cluster slot.)
 * Each owner's open tasks are a sorted set `<prefix>open:{<owner SPIFFE ID>}` of ids scored by
 * expiry, which `begin` counts against `maxOpenPerCaller` and `end` leaves. (`begin` and `end`
 * name a task key and an owner key, which Redis Cluster would put in two slots: the store
 * speaks to one Redis, primary or behind Sentinel, as `connectRedis` does.)
 * Every check-and-count runs as one Lua script, atomic across replicas.
 *
 * Keys expire `retainSeconds` after the task does, measured on the caller's clock like every
 * `now` here: the TTL is set relative to the task's `createdAt` (not PEXPIREAT, which would
 * compare with Redis's clock).
 *
 * `end` publishes the id on `<prefix>task-ended`; `onEnded` listens there on a second
 * connection, opened on first use, so that listeners hear ends from this and every other
 * replica alike, each once.
 */
export class RedisTaskStore implements TaskStore {
  readonly #client: Redis;
  readonly #scripts: Readonly<Record<'begin' | 'end' | 'consume', RedisScriptRun>>;
  readonly #maxTtlMs: number;
  readonly #retainMs: number;
  readonly #maxOpen: number;
  readonly #keyPrefix: string;
  readonly #channel: string;
  readonly #ended = new EventEmitter<{ ended: [id: string] }>();
  #subscriber: Redis | undefined;
  /** Settles once the subscriber listens: `end` waits for it so that a local end is heard. */
  #subscribed: Promise<void> = Promise.resolve();

  /** Takes ownership of `client`: `close` quits it. */
  constructor(client: Redis, options: RedisTaskStoreOptions) {
    this.#client = client;
    this.#scripts = { begin: BEGIN.on(client), end: END.on(client), consume: CONSUME.on(client) };
    this.#maxTtlMs = maxTtlMsOf(options.maxTtlSeconds);
    this.#retainMs = (options.retainSeconds ?? 300) * 1000;
    this.#maxOpen = checkedMaxOpen(options.maxOpenPerCaller);
    this.#keyPrefix = options.keyPrefix ?? 'toolgate:';
    this.#channel = `${this.#keyPrefix}task-ended`;
  }

  /** Connects (see `connectRedis`) after checking the options, so that bad ones open nothing. */
  static async connect(options: RedisTaskStoreConnectOptions): Promise<RedisTaskStore> {
    maxTtlMsOf(options.maxTtlSeconds);
    checkedMaxOpen(options.maxOpenPerCaller);
    return new RedisTaskStore(await connectRedis(options.url), options);
  }

  async begin(task: Task): Promise<void> {
    const lifetime = checkedLifetimeMs(task, this.#maxTtlMs);
    const stored = await this.#scripts.begin(
      [this.#taskKey(task.id), this.#openKey(task.ownerSpiffeId)],
      [JSON.stringify(storedTask(task)), Math.ceil(lifetime + this.#retainMs), task.id, task.createdAt.getTime(), task.expiresAt.getTime(), this.#maxOpen],
    );
    if (stored === 0) throw new TaskError('ERR_TASK_INVALID', 'a task with this id exists');
    if (stored === -1) throw openLimitError(this.#maxOpen);
  }

  async get(id: string): Promise<TaskSnapshot | undefined> {
    const replies = await this.#client.multi().hgetall(this.#taskKey(id)).zcard(this.#leasesKey(id)).exec();
    if (replies === null) throw new StateError('the Redis transaction reading a task was aborted');
    for (const [err] of replies) if (err) throw err;
    const fields = replies[0]![1] as Record<string, string>;
    const inFlight = replies[1]![1] as number;
    if (fields.task === undefined) return undefined;
    const stored = JSON.parse(fields.task) as StoredTask;
    const perMethod = (stored.budget.perMethod ?? []).flatMap(([key]) => {
      const count = fields[`used:${key}`];
      return count === undefined ? [] : [[key, Number(count)] as const];
    });
    return {
      task: taskOf(stored, fields.endedAt),
      usage: { callsUsed: Number(fields.callsUsed ?? 0), perMethod: Object.fromEntries(perMethod), inFlight },
    };
  }

  async end(id: string, now: Date): Promise<Task | undefined> {
    await this.#subscribed;
    // The owner names the second key, which a script must be given up front; it never changes.
    const owner = await this.#client.hget(this.#taskKey(id), 'task');
    if (owner === null) return undefined;
    const { ownerSpiffeId } = JSON.parse(owner) as StoredTask;
    const reply = (await this.#scripts.end([this.#taskKey(id), this.#openKey(ownerSpiffeId)], [now.getTime(), this.#channel, id])) as [string, string] | null;
    return reply === null ? undefined : taskOf(JSON.parse(reply[0]) as StoredTask, reply[1]);
  }

  async consume(id: string, action: string, now: Date): Promise<ConsumeResult> {
    const reply = (await this.#scripts.consume([this.#taskKey(id), this.#leasesKey(id)], [now.getTime(), action, LEASE_TTL_MS])) as (string | number)[];
    if (reply[0] !== 'ok') {
      const reason = reply[0] as ConsumeRefusal;
      return reply.length > 1 ? { ok: false, reason, key: String(reply[1]) } : { ok: false, reason };
    }
    const [, lease, callsUsed, inFlight, ...counts] = reply;
    const perMethod: Record<string, number> = {};
    for (let i = 0; i < counts.length; i += 2) perMethod[String(counts[i])] = Number(counts[i + 1]);
    const usage: TaskUsage = { callsUsed: Number(callsUsed), perMethod, inFlight: Number(inFlight) };
    return { ok: true, usage, ...(lease !== '' && { lease: String(lease) }) };
  }

  async release(id: string, lease: string): Promise<void> {
    await this.#client.zrem(this.#leasesKey(id), lease);
  }

  async renew(id: string, leases: readonly string[], now: Date): Promise<void> {
    if (leases.length === 0) return;
    const deadline = now.getTime() + LEASE_TTL_MS;
    // XX: only leases still there; a released or expired one must not come back.
    await this.#client.zadd(this.#leasesKey(id), 'XX', ...leases.flatMap((lease) => [deadline, lease]));
  }

  onEnded(listener: (id: string) => void): () => void {
    if (this.#subscriber === undefined) this.#subscribe();
    this.#ended.on('ended', listener);
    return () => this.#ended.off('ended', listener);
  }

  async close(): Promise<void> {
    this.#ended.removeAllListeners();
    await Promise.all([closeRedis(this.#client), this.#subscriber === undefined ? undefined : closeRedis(this.#subscriber)]);
  }

  /**
   * Opens the subscriber connection. A failed subscription leaves listeners deaf (ends are
   * still stored and refused by `consume` everywhere) rather than failing every later `end`.
   */
  #subscribe(): void {
    const subscriber = this.#client.duplicate();
    // Connection errors surface as reconnections; ioredis resubscribes on its own.
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.#channel) this.#ended.emit('ended', id);
    });
    this.#subscriber = subscriber;
    this.#subscribed = subscriber.subscribe(this.#channel).then(
      () => undefined,
      () => undefined,
    );
  }

  #taskKey(id: string): string {
    return `${this.#keyPrefix}task:{${id}}`;
  }

  #leasesKey(id: string): string {
    return `${this.#keyPrefix}task:{${id}}:leases`;
  }

  #openKey(owner: string): string {
    return `${this.#keyPrefix}open:{${owner}}`;
  }
}

function storedTask(task: Task): StoredTask {
  const { calls, maxConcurrent, perMethod } = task.budget;
  return {
    id: task.id,
    ownerSpiffeId: task.ownerSpiffeId,
    intent: task.intent,
    tools: task.tools,
    createdAt: task.createdAt.getTime(),
    expiresAt: task.expiresAt.getTime(),
    budget: { calls, maxConcurrent, perMethod: perMethod === undefined ? undefined : Object.entries(perMethod) },
  };
}

function taskOf(stored: StoredTask, endedAt: string | undefined): Task {
  const { calls, maxConcurrent, perMethod } = stored.budget;
  const budget: TaskBudget = {
    ...(calls === undefined ? {} : { calls }),
    ...(maxConcurrent === undefined ? {} : { maxConcurrent }),
    ...(perMethod === undefined ? {} : { perMethod: Object.fromEntries(perMethod) }),
  };
  return {
    id: stored.id,
    ownerSpiffeId: stored.ownerSpiffeId,
    intent: stored.intent,
    tools: stored.tools,
    createdAt: new Date(stored.createdAt),
    expiresAt: new Date(stored.expiresAt),
    budget,
    ...(endedAt === undefined ? {} : { endedAt: new Date(Number(endedAt)) }),
  };
}
