import type { Approval } from '../../../src/approvals/approval';
import { MemoryApprovalStore } from '../../../src/approvals/memory-approval-store';
import type { DecisionRecord } from '../../../src/observability/decision-log';
import type { Logger } from '../../../src/observability/logger';
import { ApprovalActions } from '../../../src/server/approval-actions';
import { ApprovalExpirySweep } from '../../../src/server/approval-expiry-sweep';

const BOT = 'spiffe://example.org/agents/research-bot';
const T0 = Date.parse('2026-01-01T00:00:00Z');

function setUp(store: MemoryApprovalStore, now: () => number) {
  const records: DecisionRecord[] = [];
  const logged: [string, string][] = [];
  const log = { write: (record: DecisionRecord) => records.push(record) };
  const logger = { warn: (_: unknown, msg: string) => logged.push(['warn', msg]), info: (msg: string) => logged.push(['info', msg]) } as unknown as Logger;
  let n = 0;
  const actions = new ApprovalActions(
    store,
    log as never,
    () => `d-${++n}`,
    () => 'set',
    now,
  );
  const sweep = new ApprovalExpirySweep({ store, actions, logger, intervalMs: 3_600_000, clock: now });
  return { records, logged, sweep };
}

const request = { digest: 'd', caller: BOT, principal: 'Agent::"research-bot"', action: 'x.v1.S/M', resource: 'files', group: 'g', quorum: 1, policies: ['p'], ttlMs: 60_000 };

describe('ApprovalExpirySweep', () => {
  it('writes one approval expired event per request that expired unused, in backlogs larger than one claim', async () => {
    const store = new MemoryApprovalStore();
    let now = T0;
    const { records, sweep } = setUp(store, () => now);
    const created: Approval[] = [];
    for (let i = 0; i < 150; i++) created.push(await store.create(request, new Date(T0)));
    await sweep.sweep();
    expect(records).toEqual([]);
    now = T0 + 60_000;
    await sweep.sweep();
    await sweep.sweep();
    expect(records).toHaveLength(150);
    expect(new Set(records.map((r) => r.approval))).toEqual(new Set(created.map((c) => c.id)));
    expect(records[0]).toMatchObject({ event: 'approval expired', caller: BOT, reason: 'not approved before its expiry', policySet: 'set' });
    await sweep.close();
  });

  it('logs a failing store once per outage, and when it works again', async () => {
    const store = new MemoryApprovalStore();
    const { logged, sweep } = setUp(store, () => T0);
    const claim = store.claimExpired.bind(store);
    store.claimExpired = () => Promise.reject(new Error('connection lost'));
    await sweep.sweep();
    await sweep.sweep();
    await sweep.sweep();
    store.claimExpired = claim;
    await sweep.sweep();
    expect(logged).toEqual([
      ['warn', 'approval expiry sweep failed; retried each second, logged again once it works'],
      ['info', 'approval expiry sweep works again'],
    ]);
    await sweep.close();
  });
});
