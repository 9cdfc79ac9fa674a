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

let server: DevRedisServer | undefined;
let prefixes = 0;

afterAll(async () => {
  await server?.stop();
});

/** Two views of one store: the same memory store twice, or two Redis clients (two replicas) on one prefix. */
const implementations: [string, () => Promise<[ApprovalStore, ApprovalStore]>][] = [
  [
    'MemoryApprovalStore',
    async () => {
      const store = new MemoryApprovalStore();
      return [store, store];
    },
  ],
  [
    'RedisApprovalStore (two replicas)',
    async () => {
      server ??= await startDevRedisServer();
      const keyPrefix = `x${prefixes++}:`;
      return [await RedisApprovalStore.connect({ url: server.url, keyPrefix }), await RedisApprovalStore.connect({ url: server.url, keyPrefix })];
    },
  ],
];

describeWithRedis('claiming approval expiries (each recorded once)', () => {
  describe.each(implementations)('%s', (_name, open) => {
    let a: ApprovalStore;
    let b: ApprovalStore;
    beforeEach(async () => {
      [a, b] = await open();
    });
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });

    it('returns a request that expired unused once, to one claimer among replicas, and none before its expiry', async () => {
      const pending = await a.create(call(), T0);
      expect(await a.claimExpired(at(59_999), 10)).toEqual([]);
      const claims = await Promise.all([a.claimExpired(at(60_000), 10), b.claimExpired(at(60_000), 10), a.claimExpired(at(60_001), 10), b.claimExpired(at(60_002), 10)]);
      expect(claims.flat().map((c) => c.id)).toEqual([pending.id]);
      expect(claims.flat()[0]).toMatchObject({ state: 'expired', caller: BOT, policies: ['p'] });
      expect(await a.claimExpired(at(120_000), 10)).toEqual([]);
    });

    it('claims an approved request never used, and never a consumed or denied one', async () => {
      const request = call();
      const approved = await a.create(request, T0);
      await a.approve(approved.id, 'alice', at(1));
      const consumed = await a.create(request, T0);
      await a.approve(consumed.id, 'alice', at(1));
      await a.consume(consumed.id, request.digest, at(2));
      const denied = await a.create(request, T0);
      await a.deny(denied.id, 'carol', at(1));
      const claimed = await b.claimExpired(at(60_000), 10);
      expect(claimed.map((c) => c.id)).toEqual([approved.id]);
      expect(claimed[0]!.approvers).toEqual(['alice']);
    });

    it('a claimed expiry is final: a replica whose clock lags can no longer use or decide the request', async () => {
      const request = call();
      const approved = await a.create(request, T0);
      await a.approve(approved.id, 'alice', at(1));
      const pending = await a.create(request, T0);
      expect(await a.claimExpired(at(60_000), 10)).toHaveLength(2);
      // Another replica's clock is a second behind.
      expect(await b.consume(approved.id, request.digest, at(59_000))).toEqual({ ok: false, reason: 'expired' });
      expect(await b.approve(pending.id, 'alice', at(59_000))).toEqual({ ok: false, reason: 'expired' });
      expect((await b.get(pending.id, at(59_000)))!.state).toBe('expired');
    });

    it('claims at most `max` per call', async () => {
      for (let i = 0; i < 5; i++) await a.create(call(), T0);
      expect(await a.claimExpired(at(60_000), 2)).toHaveLength(2);
      expect(await b.claimExpired(at(60_000), 10)).toHaveLength(3);
    });
  });
});
