import type { NewApproval } from '../../src/approvals/approval';
import { approvalDigest } from '../../src/approvals/approval-digest';
import type { ApprovalStore } from '../../src/approvals/approval-store';
import { MemoryApprovalStore } from '../../src/approvals/memory-approval-store';
import { RedisApprovalStore } from '../../src/approvals/redis-approval-store';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';

const BOT = 'spiffe://example.org/agents/research-bot';
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function call(message = 'write /a'): NewApproval {
  const digest = approvalDigest({ caller: BOT, principal: 'Agent::"research-bot"', action: 'x.v1.S/M', upstream: 'files', message: Buffer.from(message) });
  return { digest, caller: BOT, principal: 'Agent::"research-bot"', action: 'x.v1.S/M', resource: 'files', group: 'owners', quorum: 1, policies: ['p'], ttlMs: 60_000 };
}

describe('approvalDigest', () => {
  const base = { caller: BOT, principal: 'Agent::"a"', action: 'x.v1.S/M', upstream: 'files', message: Buffer.from([1, 2]) };
  it('changes with every field of the call, and cannot be shifted between fields', () => {
    const digests = new Set([
      approvalDigest(base),
      approvalDigest({ ...base, caller: `${BOT}2` }),
      approvalDigest({ ...base, principal: 'Agent::"b"' }),
      approvalDigest({ ...base, action: 'x.v1.S/N' }),
      approvalDigest({ ...base, upstream: 'other' }),
      approvalDigest({ ...base, task: 't1' }),
      approvalDigest({ ...base, message: Buffer.from([1, 3]) }),
      approvalDigest({ ...base, upstream: 'file', task: 's' }),
      approvalDigest({ ...base, onBehalfOf: 'https://idp.example#alice' }),
      approvalDigest({ ...base, onBehalfOf: 'https://idp.example#bob' }),
      approvalDigest({ ...base, task: 't1', onBehalfOf: '' }),
    ]);
    expect(digests.size).toBe(10);
    expect(approvalDigest(base)).toBe(approvalDigest({ ...base, message: Uint8Array.from([1, 2]) }));
    expect(approvalDigest(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

let server: DevRedisServer | undefined;
let prefixes = 0;
const implementations: [string, () => Promise<ApprovalStore>][] = [
  ['MemoryApprovalStore', async () => new MemoryApprovalStore()],
  [
    'RedisApprovalStore',
    async () => {
      server ??= await startDevRedisServer();
      return RedisApprovalStore.connect({ url: server.url, keyPrefix: `t${prefixes++}:` });
    },
  ],
];

afterAll(async () => {
  await server?.stop();
});

describeWithRedis('approval stores (memory and Redis alike)', () => {
  describe.each(implementations)('%s', (_name, open) => {
    let store: ApprovalStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates a pending request with an unguessable id and its expiry', async () => {
      const a = await store.create(call(), T0);
      const b = await store.create(call(), T0);
      expect(a.id).toMatch(/^ap_[A-Za-z0-9_-]{24}$/);
      expect(a.id).not.toBe(b.id);
      expect(a).toMatchObject({ state: 'pending', expiresAt: at(60_000), approvers: [], caller: BOT, group: 'owners' });
      expect(await store.get(a.id, T0)).toEqual(a);
      expect(await store.get('ap_nothing', T0)).toBeUndefined();
    });

    it('consumes an approved request once, for the call with its digest only', async () => {
      const request = call();
      const { id } = await store.create(request, T0);
      expect(await store.consume(id, request.digest, T0)).toEqual({ ok: false, reason: 'pending' });
      expect(await store.approve(id, BOT, T0)).toEqual({ ok: false, reason: 'own-call' });
      const approved = await store.approve(id, 'alice', T0);
      expect(approved).toMatchObject({ ok: true, approval: { state: 'approved', approvers: ['alice'] } });
      expect(await store.consume(id, call('write /b').digest, T0)).toEqual({ ok: false, reason: 'mismatch' });
      expect(await store.consume(id, request.digest, T0)).toMatchObject({ ok: true, approval: { state: 'consumed' } });
      expect(await store.consume(id, request.digest, T0)).toEqual({ ok: false, reason: 'consumed' });
      expect(await store.approve(id, 'bob', T0)).toEqual({ ok: false, reason: 'decided' });
    });

    it('consumes at most once among concurrent consumers', async () => {
      const request = call();
      const { id } = await store.create(request, T0);
      await store.approve(id, 'alice', T0);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.consume(id, request.digest, T0)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    });

    it('needs a quorum of distinct approvers', async () => {
      const request = { ...call(), quorum: 2 };
      const { id } = await store.create(request, T0);
      await store.approve(id, 'alice', at(1));
      expect(await store.approve(id, 'alice', at(2))).toEqual({ ok: false, reason: 'already-approved' });
      expect((await store.get(id, at(3)))!.state).toBe('pending');
      expect(await store.approve(id, 'bob', at(4))).toMatchObject({ ok: true, approval: { state: 'approved', approvers: ['alice', 'bob'] } });
    });

    it('records who denied, for good', async () => {
      const request = call();
      const { id } = await store.create(request, T0);
      expect(await store.deny(id, 'carol', T0)).toMatchObject({ ok: true, approval: { state: 'denied', deniedBy: 'carol' } });
      expect(await store.approve(id, 'alice', T0)).toEqual({ ok: false, reason: 'decided' });
      expect(await store.consume(id, request.digest, T0)).toEqual({ ok: false, reason: 'denied' });
    });

    it('expires: neither approved nor consumed past its expiry', async () => {
      const request = call();
      const { id } = await store.create(request, T0);
      expect(await store.approve(id, 'alice', at(60_000))).toEqual({ ok: false, reason: 'expired' });
      const other = await store.create(request, T0);
      await store.approve(other.id, 'alice', at(1));
      expect(await store.consume(other.id, request.digest, at(60_000))).toEqual({ ok: false, reason: 'expired' });
      expect((await store.get(other.id, at(60_000)))!.state).toBe('expired');
    });

    it('lists the requests not yet expired, soonest to expire first, in every state', async () => {
      const late = await store.create({ ...call(), ttlMs: 90_000 }, T0);
      const soon = await store.create({ ...call(), ttlMs: 30_000 }, T0);
      const gone = await store.create({ ...call(), ttlMs: 1_000 }, T0);
      await store.deny(soon.id, 'carol', T0);
      const listed = await store.list(at(2_000));
      expect(listed.map((a) => a.id)).toEqual([soon.id, late.id]);
      expect(listed.map((a) => a.state)).toEqual(['denied', 'pending']);
      expect(listed.map((a) => a.id)).not.toContain(gone.id);
    });

    it('caps the pending requests of one caller; a decided one frees its place', async () => {
      const capped = { ...call(), maxPendingPerCaller: 2 };
      const first = await store.create(capped, T0);
      await store.create(capped, T0);
      await expect(store.create(capped, T0)).rejects.toMatchObject({ code: 'ERR_APPROVAL_LIMIT' });
      // Another caller is not counted against it.
      await store.create({ ...capped, caller: `${BOT}-other` }, T0);
      await store.deny(first.id, 'carol', T0);
      await store.create(capped, T0);
      // Expired requests no longer count.
      await expect(store.create(capped, at(1))).rejects.toMatchObject({ code: 'ERR_APPROVAL_LIMIT' });
      await store.create(capped, at(60_000));
    });

    it('tells listeners when a request is approved or denied', async () => {
      const heard: string[] = [];
      const created: string[] = [];
      store.onDecided((id) => heard.push(id));
      store.onCreated((id) => created.push(id));
      if (store instanceof RedisApprovalStore) await store.listening();
      const a = await store.create(call(), T0);
      const b = await store.create(call(), T0);
      await store.approve(a.id, 'alice', T0);
      await store.deny(b.id, 'alice', T0);
      const deadline = Date.now() + 10_000;
      while ((heard.length < 2 || created.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([a.id, b.id]);
      expect(created).toEqual([a.id, b.id]);
    });
  });

  it('one Redis request seen by two stores (replicas): approved through one, consumed once through either', async () => {
    server ??= await startDevRedisServer();
    const one = await RedisApprovalStore.connect({ url: server.url, keyPrefix: 'shared:' });
    const two = await RedisApprovalStore.connect({ url: server.url, keyPrefix: 'shared:' });
    try {
      const heard: string[] = [];
      one.onDecided((id) => heard.push(id));
      await one.listening();
      const request = call();
      const { id } = await one.create(request, T0);
      await two.approve(id, 'alice', T0);
      const deadline = Date.now() + 10_000;
      while (heard.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([id]);
      const results = await Promise.all([one.consume(id, request.digest, T0), two.consume(id, request.digest, T0)]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
