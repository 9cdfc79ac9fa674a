import type { NewApproval } from '../../src/approvals/approval';
import type { ApprovalStore } from '../../src/approvals/approval-store';
import { MemoryApprovalStore } from '../../src/approvals/memory-approval-store';
import { RedisApprovalStore } from '../../src/approvals/redis-approval-store';
import { shownArguments } from '../../src/approvals/shown-arguments';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';

const BOT = 'spiffe://example.org/agents/research-bot';
const NOW = new Date('2026-01-01T00:00:00Z');

let server: DevRedisServer | undefined;
const implementations: [string, () => Promise<ApprovalStore>][] = [
  ['MemoryApprovalStore', async () => new MemoryApprovalStore()],
  [
    'RedisApprovalStore',
    async () => {
      server ??= await startDevRedisServer();
      return RedisApprovalStore.connect({ url: server.url, keyPrefix: 'shown:' });
    },
  ],
];

afterAll(async () => {
  await server?.stop();
});

describeWithRedis('approval stores keep what the console shows (memory and Redis alike)', () => {
  it.each(implementations)('%s: the redacted arguments and the task intent, as given', async (_name, open) => {
    const store = await open();
    try {
      const request: NewApproval = {
        digest: 'a'.repeat(64),
        caller: BOT,
        principal: 'Agent::"research-bot"',
        action: 'x.v1.S/M',
        resource: 'files',
        task: 't1',
        group: 'owners',
        quorum: 1,
        policies: ['p'],
        ttlMs: 60_000,
        ...shownArguments({ path: '/a', password: 'hunter2' }, ['password']),
        intent: 'pay the <b>invoices</b>',
      };
      const created = await store.create(request, NOW);
      const read = (await store.get(created.id, NOW))!;
      expect(read).toMatchObject({ arguments: '{"path":"/a","password":null}', intent: 'pay the <b>invoices</b>' });
      expect(read.argumentsCut).toBeUndefined();
      expect(JSON.stringify(await store.list(NOW))).not.toContain('hunter2');
    } finally {
      await store.close();
    }
  });
});
