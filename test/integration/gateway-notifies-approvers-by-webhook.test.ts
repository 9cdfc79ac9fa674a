import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorInfoOf, STATUS_DETAILS_HEADER } from '../../src/relay/status-details';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { taskMetadata, tasksOf } from './support/task-calls';
import { verifyWebhook, WebhookReceiver } from './support/webhook-receiver';
import { sleep, waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const ALICE = 'spiffe://example.org/people/alice';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const POLICIES = {
  'files.cedar': `
@id("payroll-needs-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };

@id("tasks")
permit (principal, action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");
`,
};

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function readFile(client: Client, path: string, deadlineMs?: number, metadata = new grpc.Metadata()): Promise<{ content: Buffer }> {
  const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise((resolve, reject) =>
    client.readFile({ path }, metadata, options, (err: grpc.ServiceError | null, reply: { content: Buffer }) => (err ? reject(err) : resolve(reply))),
  );
}

describe('approvals.webhook: each new request is POSTed, signed, and never holds up the call', () => {
  let world: GatewayWorld;
  let receiver: WebhookReceiver;
  let bot: Client;
  let dir: string;
  /** How the receiver answers the n-th request it gets for one approval id. */
  let answer: (nth: number) => number | 'hang' = () => 204;
  const perApproval = new Map<string, number>();

  beforeAll(async () => {
    receiver = await WebhookReceiver.start((index) => {
      const id = String(receiver.received[index]!.headers['webhook-id']);
      const nth = perApproval.get(id) ?? 0;
      perApproval.set(id, nth + 1);
      return answer(nth);
    });
    dir = mkdtempSync(join(tmpdir(), 'toolgate-webhook-'));
    writeFileSync(join(dir, 'webhook.secret'), `${SECRET}\n`, { mode: 0o600 });
    world = await GatewayWorld.start({
      policies: POLICIES,
      protos: true,
      // One notice queued at most: a second one drops the first (counted).
      extraConfig: `approvals:\n  webhook:\n    url: ${receiver.url}\n    secretFile: ${join(dir, 'webhook.secret')}\n    timeoutSeconds: 60\n    maxQueued: 1\n`,
    });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    bot = (await world.agent(RESEARCH_BOT)) as Client;
  }, 30_000);

  afterAll(async () => {
    await world?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function escalation(seen: number): Promise<Record<string, unknown>> {
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    return world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!;
  }

  it("POSTs the held call's request, which the receiver verifies with the secret; no argument, no token", async () => {
    answer = () => 204;
    const seen = world.decisions.lines.length;
    const before = receiver.received.length;
    const call = readFile(bot, '/payroll/q3.csv');
    const escalated = await escalation(seen);
    await receiver.waitFor(before + 1);
    const got = receiver.received[before]!;
    expect(verifyWebhook(SECRET, got.headers, got.body)).toBe(true);
    const body = JSON.parse(got.body.toString()) as { type: string; data: Record<string, unknown> };
    expect(body).toMatchObject({
      type: 'approval.requested',
      data: {
        approvalId: escalated.approval,
        expiresAt: escalated.expiresAt,
        decisionId: escalated.decisionId,
        caller: RESEARCH_BOT,
        principal: escalated.principal,
        action: READ,
        upstream: 'files',
        group: 'payroll-owners',
        quorum: 1,
        policies: ['payroll-needs-approval'],
      },
    });
    expect(got.body.toString()).not.toMatch(/payroll\/q3|salaries|authorization|Bearer/i);

    await world.gateway.approvals.approve(escalated.approval as string, ALICE);
    expect((await call).content.toString()).toBe('salaries');
    await metricReaches(world, 'toolgate_approval_webhooks_total', { outcome: 'sent' }, 1);
  });

  it("names the call's task and its intent, as the agent declared it", async () => {
    answer = () => 204;
    const { taskId, token } = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent: 'reconcile Q3 payroll', tools: [READ], ttlSeconds: 300 });
    const before = receiver.received.length;
    await readFile(bot, '/payroll/q3.csv', 1000, taskMetadata(token)).catch(() => undefined);
    await receiver.waitFor(before + 1);
    const body = JSON.parse(receiver.received[before]!.body.toString()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({ taskId, taskIntent: 'reconcile Q3 payroll' });
    expect(receiver.received[before]!.body.toString()).not.toContain(token);
    await metricReaches(world, 'toolgate_approval_webhooks_total', { outcome: 'sent' }, 2);
  });

  it('a receiver that never answers delays nothing: the held call is released, the refused one refused, while its notice still waits', async () => {
    answer = () => 'hang';
    const order: string[] = [];
    let before = receiver.received.length;
    let seen = world.decisions.lines.length;
    const call = readFile(bot, '/payroll/q3.csv').then((reply) => {
      order.push(`call answered, its notice ${receiver.received[before]!.settled() ? 'answered' : 'still unanswered'}`);
      return reply;
    });
    const { approval } = await escalation(seen);
    await receiver.waitFor(before + 1);
    order.push('notice received, left unanswered');
    await world.gateway.approvals.approve(approval as string, ALICE);
    expect((await call).content.toString()).toBe('salaries');
    expect(order).toEqual(['notice received, left unanswered', 'call answered, its notice still unanswered']);
    expect(await world.metric('toolgate_approval_webhooks_total', { outcome: 'sent' })).toBe(2);

    // Given up by the agent (its deadline before the hold's end): APPROVAL_REQUIRED as without a webhook.
    before = receiver.received.length;
    seen = world.decisions.lines.length;
    const err = await readFile(bot, '/payroll/q3.csv', 1000).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorInfoOf(err!.metadata.get(STATUS_DETAILS_HEADER)[0] as Buffer)).toMatchObject({
      reason: 'APPROVAL_REQUIRED',
      metadata: { approvalId: (await escalation(seen)).approval },
    });
    // Its notice was queued while the first still hangs: the queue (maxQueued 1) dropped the older one.
    await metricReaches(world, 'toolgate_approval_webhooks_total', { outcome: 'dropped' }, 1);
    await receiver.waitFor(before + 1);
    expect(await world.metric('toolgate_approval_webhooks_total', { outcome: 'sent' })).toBe(2);
  });

  it('retries a failing receiver (500, 500, then 200) with backoff until it takes the notice', async () => {
    answer = (nth) => (nth < 2 ? 500 : 200);
    const seen = world.decisions.lines.length;
    const call = readFile(bot, '/payroll/q3.csv', 1000).catch((e: grpc.ServiceError) => e);
    const id = (await escalation(seen)).approval as string;
    await waitUntil(() => perApproval.get(id) === 3, 20_000);
    const attempts = receiver.received.filter((r) => r.headers['webhook-id'] === id);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((r) => verifyWebhook(SECRET, r.headers, r.body))).toBe(true);
    await metricReaches(world, 'toolgate_approval_webhooks_total', { outcome: 'sent' }, 3);
    expect(((await call) as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
  }, 30_000);

  it('reads the secret file again on reload: a new key signs too; a bad file keeps the keys in use', async () => {
    answer = () => 204;
    const rotated = `whsec_${randomBytes(32).toString('base64')}`;
    writeFileSync(join(dir, 'webhook.secret'), `${rotated}\n${SECRET}\n`);
    world.gateway.reload('rotate the webhook key');
    let before = receiver.received.length;
    await readFile(bot, '/payroll/q3.csv', 1000).catch(() => undefined);
    await receiver.waitFor(before + 1);
    expect(verifyWebhook(rotated, receiver.received[before]!.headers, receiver.received[before]!.body)).toBe(true);
    expect(verifyWebhook(SECRET, receiver.received[before]!.headers, receiver.received[before]!.body)).toBe(true);

    writeFileSync(join(dir, 'webhook.secret'), 'not a key\n');
    world.gateway.reload('a bad webhook secret');
    expect(world.operations.lines.some((l) => l.msg === 'approval webhook secret not reloaded; keeping the keys in use')).toBe(true);
    expect(JSON.stringify(world.operations.lines)).not.toContain(rotated.slice(6));
    before = receiver.received.length;
    await readFile(bot, '/payroll/q3.csv', 1000).catch(() => undefined);
    await receiver.waitFor(before + 1);
    expect(verifyWebhook(rotated, receiver.received[before]!.headers, receiver.received[before]!.body)).toBe(true);
  });
});

/** Resolves once the metric's value is `value`; fails after 10 s. */
async function metricReaches(world: GatewayWorld, name: string, labels: Record<string, string>, value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await world.metric(name, labels);
    if (now === value) return;
    if (Date.now() > deadline) throw new Error(`${name} ${JSON.stringify(labels)} is ${now}, not ${value}`);
    await sleep(50);
  }
}
