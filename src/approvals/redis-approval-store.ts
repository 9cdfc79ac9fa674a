import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { isApprovalId, newApprovalId, stateAt, type Approval, type NewApproval } from './approval';
import { APPROVAL_RETAIN_MS, type ApprovalStore, type ConsumeRefusal, type ConsumeResult, type DecideRefusal, type DecideResult } from './approval-store';
import { closeRedis, connectRedis } from '../state/redis-client';
import { RedisScript, type RedisScriptRun } from '../state/redis-script';
import { StateError } from '../state/state-error';
import { limitError } from './approval-error';

/** The immutable part of a request, as the `approval` field of its hash (times in ms). */
interface StoredApproval extends Omit<NewApproval, 'ttlMs' | 'maxPendingPerCaller'> {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * KEYS[1] the request's hash, KEYS[2] the index by expiry, KEYS[3] the caller's pending
 * requests (ids scored by expiry), KEYS[4] the requests whose expiry is still to be recorded
 * (scored by expiry); ARGV[1] the request JSON, ARGV[2] the hash's TTL (ms),
 * ARGV[3] the id, ARGV[4] now (ms), ARGV[5] the expiry (ms), ARGV[6] the caller's cap (0:
 * none), ARGV[7] the channel new requests are published on. Drops the caller's expired
 * requests, counts and adds in one step, so replicas never let a caller past its cap
 * together. Returns 0 at the cap, 1 when stored.
 */
const CREATE = new RedisScript(
  'toolgateCreateApproval',
  `
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
local cap = tonumber(ARGV[6])
if cap > 0 and redis.call('ZCARD', KEYS[3]) >= cap then return 0 end
redis.call('HSET', KEYS[1], 'approval', ARGV[1], 'state', 'pending')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
local lifetime = tonumber(ARGV[5]) - tonumber(ARGV[4])
if redis.call('PTTL', KEYS[3]) < lifetime then redis.call('PEXPIRE', KEYS[3], lifetime) end
redis.call('PUBLISH', ARGV[7], ARGV[3])
return 1
`,
);

/**
 * KEYS[1] the request's hash, KEYS[2] its caller's pending requests; ARGV[1] now (ms), ARGV[2] `approve` or `deny`, ARGV[3] the
 * approver, ARGV[4] the channel, ARGV[5] the id. The checks of `MemoryApprovalStore` in
 * the same order; an approver is a field `by:<approver>` (HSETNX: counted once). Publishes
 * the id when the request becomes approved or denied. Returns the refusal, or the hash as
 * the decision left it (HGETALL's flat list), so that the answer is never a later state.
 */
const DECIDE = new RedisScript(
  'toolgateDecideApproval',
  `
local stored = redis.call('HGET', KEYS[1], 'approval')
if not stored then return 'not-found' end
local approval = cjson.decode(stored)
local state = redis.call('HGET', KEYS[1], 'state')
local now = tonumber(ARGV[1])
if (state == 'pending' or state == 'approved') and (now >= approval.expiresAt or redis.call('HEXISTS', KEYS[1], 'expiryClaimed') == 1) then return 'expired' end
if state ~= 'pending' then return 'decided' end
if ARGV[3] == approval.caller then return 'own-call' end
if ARGV[2] == 'deny' then
  redis.call('HSET', KEYS[1], 'state', 'denied', 'deniedBy', ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return redis.call('HGETALL', KEYS[1])
end
if redis.call('HSETNX', KEYS[1], 'by:' .. ARGV[3], ARGV[1]) == 0 then return 'already-approved' end
if redis.call('HINCRBY', KEYS[1], 'approvals', 1) >= approval.quorum then
  redis.call('HSET', KEYS[1], 'state', 'approved')
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS[1] the request's hash; ARGV[1] now (ms), ARGV[2] the call's digest. The digest is
 * compared first; then approved and unexpired → consumed, exactly once across replicas.
 * Returns 'ok' or the refusal.
 */
const CONSUME = new RedisScript(
  'toolgateConsumeApproval',
  `
local stored = redis.call('HGET', KEYS[1], 'approval')
if not stored then return 'not-found' end
local approval = cjson.decode(stored)
if approval.digest ~= ARGV[2] then return 'mismatch' end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'denied' or state == 'consumed' then return state end
if tonumber(ARGV[1]) >= approval.expiresAt or redis.call('HEXISTS', KEYS[1], 'expiryClaimed') == 1 then return 'expired' end
if state ~= 'approved' then return 'pending' end
redis.call('HSET', KEYS[1], 'state', 'consumed', 'consumedAt', ARGV[1])
return 'ok'
`,
);

/**
 * KEYS[1] the request's hash, KEYS[2] the requests whose expiry is still to be recorded;
 * ARGV[1] now (ms), ARGV[2] the id. Claims the expiry of a request that expired unused
 * (pending or approved): once, whichever replica asks first (HSETNX `expiryClaimed`, which
 * approve, deny and consume then read as expired, whatever their clock). Returns the hash
 * (HGETALL's flat list) when claimed here, else false.
 */
const CLAIM_EXPIRY = new RedisScript(
  'toolgateClaimApprovalExpiry',
  `
local stored = redis.call('HGET', KEYS[1], 'approval')
if not stored then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return false
end
local approval = cjson.decode(stored)
if tonumber(ARGV[1]) < approval.expiresAt then return false end
redis.call('ZREM', KEYS[2], ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' and state ~= 'approved' then return false end
if redis.call('HSETNX', KEYS[1], 'expiryClaimed', ARGV[1]) == 0 then return false end
return redis.call('HGETALL', KEYS[1])
`,
);

export interface RedisApprovalStoreOptions {
  /** Prepended to every key and to the `approval-decided` channel. Default `toolgate:`. */
  readonly keyPrefix?: string;
}

/**
 * Approval requests in Redis, beside the tasks, shared by every replica, with the semantics
 * of `MemoryApprovalStore`. One hash per request, `<prefix>approval:{<id>}`: `approval` (the
 * request's facts as JSON), `state`, `approvals` (the count), `by:<approver>`, `deniedBy`,
 * `consumedAt`, indexed by expiry in the sorted set `<prefix>approvals` (`list`) and, while
 * pending, in its caller's `<prefix>approvals-pending:{<SPIFFE ID>}` (the cap), and, until its
 * expiry is claimed (`claimExpired`), in `<prefix>approvals-expiring`; it expires `APPROVAL_RETAIN_MS` after the request does (a TTL relative to
 * `now`, the caller's clock, like the task store's). Approve, deny and consume are Lua
 * scripts (atomic). A request that becomes approved or denied is published on
 * `<prefix>approval-decided` (new ones on `<prefix>approval-created`), heard by every replica (`onDecided`, `onCreated`): a call held on one is
 * released by an approval given through another.
 */
export class RedisApprovalStore implements ApprovalStore {
  readonly #client: Redis;
  readonly #scripts: Readonly<Record<'create' | 'decide' | 'consume' | 'claimExpiry', RedisScriptRun>>;
  readonly #keyPrefix: string;
  readonly #channel: string;
  readonly #createdChannel: string;
  readonly #decided = new EventEmitter<{ decided: [id: string]; created: [id: string] }>();
  #subscriber: Redis | undefined;
  /** Settles once the subscriber listens. */
  #subscribed: Promise<void> = Promise.resolve();

  /** Takes ownership of `client`: `close` quits it. */
  constructor(client: Redis, options: RedisApprovalStoreOptions = {}) {
    this.#client = client;
    this.#scripts = { create: CREATE.on(client), decide: DECIDE.on(client), consume: CONSUME.on(client), claimExpiry: CLAIM_EXPIRY.on(client) };
    this.#keyPrefix = options.keyPrefix ?? 'toolgate:';
    this.#channel = `${this.#keyPrefix}approval-decided`;
    this.#createdChannel = `${this.#keyPrefix}approval-created`;
  }

  static async connect(options: RedisApprovalStoreOptions & { url: string }): Promise<RedisApprovalStore> {
    return new RedisApprovalStore(await connectRedis(options.url), options);
  }

  async create(request: NewApproval, now: Date): Promise<Approval> {
    const { ttlMs, maxPendingPerCaller, ...facts } = request;
    const stored: StoredApproval = { ...facts, id: newApprovalId(), createdAt: now.getTime(), expiresAt: now.getTime() + ttlMs };
    const created = await this.#scripts.create(
      [this.#key(stored.id), this.#indexKey(), this.#pendingKey(stored.caller), this.#expiringKey()],
      [JSON.stringify(stored), Math.ceil(ttlMs + APPROVAL_RETAIN_MS), stored.id, now.getTime(), stored.expiresAt, maxPendingPerCaller ?? 0, this.#createdChannel],
    );
    if (created === 0) throw limitError(maxPendingPerCaller!);
    return approvalOf(stored, { state: 'pending' }, now);
  }

  async list(now: Date): Promise<Approval[]> {
    const ids = await this.#client.zrangebyscore(this.#indexKey(), `(${now.getTime()}`, '+inf');
    const approvals = await Promise.all(ids.map((id) => this.get(id, now)));
    return approvals.filter((a): a is Approval => a !== undefined && a.expiresAt.getTime() > now.getTime());
  }

  async get(id: string, now: Date): Promise<Approval | undefined> {
    if (!isApprovalId(id)) return undefined;
    const fields = await this.#client.hgetall(this.#key(id));
    if (fields.approval === undefined) return undefined;
    return approvalOf(JSON.parse(fields.approval) as StoredApproval, fields, now);
  }

  async approve(id: string, approver: string, now: Date): Promise<DecideResult> {
    return this.#decide(id, 'approve', approver, now);
  }

  async deny(id: string, approver: string, now: Date): Promise<DecideResult> {
    return this.#decide(id, 'deny', approver, now);
  }

  async consume(id: string, digest: string, now: Date): Promise<ConsumeResult> {
    if (!isApprovalId(id)) return { ok: false, reason: 'not-found' };
    const reply = (await this.#scripts.consume([this.#key(id)], [now.getTime(), digest])) as string;
    if (reply !== 'ok') return { ok: false, reason: reply as ConsumeRefusal };
    const approval = await this.get(id, now);
    if (approval === undefined) throw new StateError('an approval consumed a moment ago is gone from Redis');
    return { ok: true, approval };
  }

  async claimExpired(now: Date, max: number): Promise<Approval[]> {
    const ids = await this.#client.zrangebyscore(this.#expiringKey(), '-inf', now.getTime(), 'LIMIT', 0, max);
    const claimed: Approval[] = [];
    for (const id of ids) {
      const reply = (await this.#scripts.claimExpiry([this.#key(id), this.#expiringKey()], [now.getTime(), id])) as string[] | null;
      if (reply === null) continue;
      const fields = fieldsOf(reply);
      claimed.push(approvalOf(JSON.parse(fields.approval!) as StoredApproval, fields, now));
    }
    return claimed;
  }

  onDecided(listener: (id: string) => void): () => void {
    if (this.#subscriber === undefined) this.#subscribe();
    this.#decided.on('decided', listener);
    return () => this.#decided.off('decided', listener);
  }

  onCreated(listener: (id: string) => void): () => void {
    if (this.#subscriber === undefined) this.#subscribe();
    this.#decided.on('created', listener);
    return () => this.#decided.off('created', listener);
  }

  /** Resolves once this store hears decisions (tests; a held call also re-reads its request every second). */
  listening(): Promise<void> {
    if (this.#subscriber === undefined) this.#subscribe();
    return this.#subscribed;
  }

  async close(): Promise<void> {
    this.#decided.removeAllListeners();
    await Promise.all([closeRedis(this.#client), this.#subscriber === undefined ? undefined : closeRedis(this.#subscriber)]);
  }

  async #decide(id: string, verdict: 'approve' | 'deny', approver: string, now: Date): Promise<DecideResult> {
    if (!isApprovalId(id)) return { ok: false, reason: 'not-found' };
    // The caller names the second key, which a script must be given up front; it never changes.
    const stored = await this.#client.hget(this.#key(id), 'approval');
    if (stored === null) return { ok: false, reason: 'not-found' };
    const caller = (JSON.parse(stored) as StoredApproval).caller;
    const reply = (await this.#scripts.decide([this.#key(id), this.#pendingKey(caller)], [now.getTime(), verdict, approver, this.#channel, id])) as string | string[];
    if (typeof reply === 'string') return { ok: false, reason: reply as DecideRefusal };
    const fields = fieldsOf(reply);
    return { ok: true, approval: approvalOf(JSON.parse(fields.approval!) as StoredApproval, fields, now) };
  }

  #subscribe(): void {
    const subscriber = this.#client.duplicate();
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.#channel) this.#decided.emit('decided', id);
      else if (channel === this.#createdChannel) this.#decided.emit('created', id);
    });
    this.#subscriber = subscriber;
    this.#subscribed = subscriber.subscribe(this.#channel, this.#createdChannel).then(
      () => undefined,
      () => undefined,
    );
  }

  #pendingKey(caller: string): string {
    return `${this.#keyPrefix}approvals-pending:{${caller}}`;
  }

  #expiringKey(): string {
    return `${this.#keyPrefix}approvals-expiring`;
  }

  #indexKey(): string {
    return `${this.#keyPrefix}approvals`;
  }

  #key(id: string): string {
    return `${this.#keyPrefix}approval:{${id}}`;
  }
}

/** HGETALL's flat list as a record. */
function fieldsOf(reply: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[reply[i]!] = reply[i + 1]!;
  return fields;
}

function approvalOf(stored: StoredApproval, fields: Record<string, string>, now: Date): Approval {
  const { createdAt, expiresAt, ...facts } = stored;
  const state = (fields.state ?? 'pending') as 'pending' | 'approved' | 'denied' | 'consumed';
  // Approvers in the order they approved (the field's value is when).
  const approvers = Object.entries(fields)
    .filter(([key]) => key.startsWith('by:'))
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map(([key]) => key.slice(3));
  return {
    ...facts,
    createdAt: new Date(createdAt),
    expiresAt: new Date(expiresAt),
    // A claimed expiry is final, whatever the reader's clock says.
    state: fields.expiryClaimed !== undefined && (state === 'pending' || state === 'approved') ? 'expired' : stateAt(state, expiresAt, now.getTime()),
    approvers,
    ...(fields.deniedBy !== undefined && { deniedBy: fields.deniedBy }),
  };
}
