import * as grpc from '@grpc/grpc-js';
import { errorInfoOf, STATUS_DETAILS_HEADER } from '../../src/relay/status-details';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { sleep, waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const ALICE = 'spiffe://example.org/people/alice';

const POLICIES = {
  'files.cedar': `
@id("payroll-needs-approval-soon")
@approval("payroll-owners")
@approvalTtl("2s")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };
`,
};

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function readFile(client: Client, path: string, deadlineMs: number): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) =>
    client.readFile({ path }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null) => resolve(err ?? undefined)),
  );
}

describe('an approval request that expires unused is recorded when it expires (approval expired)', () => {
  let world: GatewayWorld;
  let bot: Client;

  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    bot = (await world.agent(RESEARCH_BOT)) as Client;
  }, 30_000);

  afterAll(async () => {
    await world?.close();
  });

  const expiries = (id: unknown) => world.decisions.lines.filter((l) => l.event === 'approval expired' && l.approval === id);

  it('records the expiry of a request nobody approved, with no call meeting it, once', async () => {
    const seen = world.decisions.lines.length;
    // The agent gives up before the request expires, and never retries.
    const err = await readFile(bot, '/payroll/q3.csv', 1000);
    expect(errorInfoOf(err!.metadata.get(STATUS_DETAILS_HEADER)[0] as Buffer)).toMatchObject({ reason: 'APPROVAL_REQUIRED' });
    const escalated = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!;
    await waitUntil(() => expiries(escalated.approval).length > 0, 15_000);
    const [expired] = expiries(escalated.approval);
    expect(expired).toMatchObject({
      event: 'approval expired',
      approval: escalated.approval,
      caller: RESEARCH_BOT,
      action: READ,
      resource: 'files',
      policies: ['payroll-needs-approval-soon'],
      expiresAt: escalated.expiresAt,
      reason: 'not approved before its expiry',
    });
    expect(expired!.decisionId).not.toBe(escalated.decisionId);
    expect(expired!.by).toBeUndefined();
    expect(Date.parse(expired!.time as string)).toBeGreaterThanOrEqual(Date.parse(escalated.expiresAt as string));
    // Later sweeps do not record it again.
    await sleep(2500);
    expect(expiries(escalated.approval)).toHaveLength(1);
  });

  it('records the expiry of an approval given but never used', async () => {
    const seen = world.decisions.lines.length;
    await readFile(bot, '/payroll/q3.csv', 1000);
    const id = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string;
    await world.gateway.approvals.approve(id, ALICE);
    await waitUntil(() => expiries(id).length > 0, 15_000);
    expect(expiries(id)[0]).toMatchObject({ reason: 'approved, but not used before its expiry' });
  });
});
