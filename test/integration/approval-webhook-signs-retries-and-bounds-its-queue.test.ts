import { randomBytes } from 'node:crypto';
import type { Approval } from '../../src/approvals/approval';
import { ApprovalWebhook, type WebhookOutcome } from '../../src/approvals/approval-webhook';
import { WebhookSecrets } from '../../src/approvals/webhook-secrets';
import type { BackoffStrategy } from '../../src/spiffe/workload/backoff';
import { verifyWebhook, WebhookReceiver } from './support/webhook-receiver';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const OTHER_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Waits 20 ms between attempts, and remembers how often it was asked. */
function quickBackoff(): BackoffStrategy & { delays: number } {
  const strategy = {
    delays: 0,
    newBackoff: () => ({
      next: () => {
        strategy.delays++;
        return 20;
      },
      reset: () => undefined,
    }),
  };
  return strategy;
}

let ids = 0;
function approval(overrides: Partial<Approval> = {}): Approval {
  const now = Date.now();
  return {
    id: `ap_${String(ids++).padStart(24, '0')}`,
    digest: 'd'.repeat(64),
    caller: 'spiffe://example.org/agents/research-bot',
    principal: 'Agent::"research-bot"',
    action: 'tools.files.v1.Files/ReadFile',
    resource: 'files',
    task: 'task-1',
    intent: 'summarize Q3',
    decisionId: 'abc-1',
    group: 'payroll-owners',
    quorum: 1,
    policies: ['payroll-needs-approval'],
    createdAt: new Date(now),
    expiresAt: new Date(now + 600_000),
    state: 'pending',
    approvers: [],
    ...overrides,
  };
}

describe('approval webhooks: signed per Standard Webhooks, retried, bounded', () => {
  const receivers: WebhookReceiver[] = [];
  const webhooks: ApprovalWebhook[] = [];
  afterEach(async () => {
    webhooks.splice(0).forEach((w) => w.close());
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function setUp(answer: (index: number) => number | 'hang', options: Partial<ConstructorParameters<typeof ApprovalWebhook>[0]> = {}) {
    const receiver = await WebhookReceiver.start(answer);
    receivers.push(receiver);
    const outcomes: [WebhookOutcome, string, string][] = [];
    const webhook = new ApprovalWebhook({
      url: new URL(receiver.url),
      secrets: WebhookSecrets.parse(SECRET),
      backoff: quickBackoff(),
      onOutcome: (outcome, id, detail) => outcomes.push([outcome, id, detail]),
      ...options,
    });
    webhooks.push(webhook);
    return { receiver, webhook, outcomes };
  }

  it("POSTs the request as JSON the receiver verifies with the shared secret; nothing of the call's arguments", async () => {
    const { receiver, webhook, outcomes } = await setUp(() => 204);
    const request = approval();
    webhook.notify(request);
    await receiver.waitFor(1);
    const [got] = receiver.received;
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['webhook-id']).toBe(request.id);
    expect(verifyWebhook(SECRET, got!.headers, got!.body)).toBe(true);
    // Anything changed fails: the body, the id, the timestamp, the key.
    expect(verifyWebhook(SECRET, got!.headers, Buffer.concat([got!.body, Buffer.from(' ')]))).toBe(false);
    expect(verifyWebhook(SECRET, { ...got!.headers, 'webhook-id': 'ap_other' }, got!.body)).toBe(false);
    expect(verifyWebhook(SECRET, { ...got!.headers, 'webhook-timestamp': String(Number(got!.headers['webhook-timestamp']) + 1) }, got!.body)).toBe(false);
    expect(verifyWebhook(OTHER_SECRET, got!.headers, got!.body)).toBe(false);
    // A replay later than 5 minutes is refused by the receiver's timestamp check.
    expect(verifyWebhook(SECRET, got!.headers, got!.body, Number(got!.headers['webhook-timestamp']) + 301)).toBe(false);

    expect(JSON.parse(got!.body.toString())).toEqual({
      type: 'approval.requested',
      timestamp: request.createdAt.toISOString(),
      data: {
        approvalId: request.id,
        createdAt: request.createdAt.toISOString(),
        expiresAt: request.expiresAt.toISOString(),
        caller: request.caller,
        principal: request.principal,
        action: request.action,
        upstream: 'files',
        taskId: 'task-1',
        taskIntent: 'summarize Q3',
        group: 'payroll-owners',
        quorum: 1,
        policies: ['payroll-needs-approval'],
        decisionId: 'abc-1',
      },
    });
    expect(got!.body.toString()).not.toContain(request.digest);
    // An agent's long intent is cut: the message stays small.
    webhook.notify(approval({ intent: 'x'.repeat(50_000) }));
    await receiver.waitFor(2);
    const long = JSON.parse(receiver.received[1]!.body.toString()) as { data: { taskIntent: string } };
    expect(long.data.taskIntent).toBe(`${'x'.repeat(999)}…`);
    await waitFor(() => outcomes.length === 2);
    expect(outcomes).toContainEqual(['sent', request.id, 'HTTP 204']);
  });

  it('signs with every key of the secret file, so that a key is rotated without a gap', async () => {
    const { receiver, webhook } = await setUp(() => 200, { secrets: WebhookSecrets.parse(`${OTHER_SECRET}\n${SECRET}\n`) });
    webhook.notify(approval());
    await receiver.waitFor(1);
    const [got] = receiver.received;
    expect((got!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(verifyWebhook(SECRET, got!.headers, got!.body)).toBe(true);
    expect(verifyWebhook(OTHER_SECRET, got!.headers, got!.body)).toBe(true);
  });

  it('retries a failing receiver with backoff (500, 500, then 200): the same message id, signed afresh each time', async () => {
    const backoff = quickBackoff();
    const { receiver, webhook, outcomes } = await setUp((i) => (i < 2 ? 500 : 200), { backoff });
    const request = approval();
    webhook.notify(request);
    await receiver.waitFor(3);
    await waitFor(() => outcomes.length === 1);
    expect(outcomes).toEqual([['sent', request.id, 'HTTP 200']]);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([request.id, request.id, request.id]);
    expect(receiver.received.every((r) => verifyWebhook(SECRET, r.headers, r.body))).toBe(true);
    expect(backoff.delays).toBe(2);
    expect(webhook.queued).toBe(0);
  });

  it('gives up after maxAttempts, and at once on 410 Gone', async () => {
    const { receiver, webhook, outcomes } = await setUp(() => 503, { maxAttempts: 3 });
    const request = approval();
    webhook.notify(request);
    await waitFor(() => outcomes.length === 1);
    expect(receiver.received).toHaveLength(3);
    expect(outcomes[0]![0]).toBe('failed');
    expect(outcomes[0]![2]).toMatch(/HTTP 503; 3 attempts made/);

    const gone = await setUp(() => 410);
    gone.webhook.notify(approval());
    await waitFor(() => gone.outcomes.length === 1);
    expect(gone.receiver.received).toHaveLength(1);
    expect(gone.outcomes[0]![0]).toBe('failed');
  });

  it('gives up once the request expires before the next attempt: nobody can approve it any more', async () => {
    const backoff: BackoffStrategy = { newBackoff: () => ({ next: () => 60_000, reset: () => undefined }) };
    const { receiver, webhook, outcomes } = await setUp(() => 500, { backoff });
    webhook.notify(approval({ expiresAt: new Date(Date.now() + 30_000) }));
    await waitFor(() => outcomes.length === 1);
    expect(receiver.received).toHaveLength(1);
    expect(outcomes[0]![2]).toMatch(/expires before the next attempt/);
  });

  it('abandons an attempt the receiver leaves unanswered after timeoutMs, and retries it', async () => {
    const { receiver, webhook, outcomes } = await setUp((i) => (i === 0 ? 'hang' : 200), { timeoutMs: 300 });
    webhook.notify(approval());
    await receiver.waitFor(2);
    await waitFor(() => outcomes.length === 1);
    expect(outcomes[0]![0]).toBe('sent');
  });

  it('notify never waits for the receiver; a full queue drops the oldest notice, counted', async () => {
    // One attempt at a time, to a receiver that never answers: everything else waits in the queue.
    const { receiver, webhook, outcomes } = await setUp(() => 'hang', { concurrency: 1, maxQueued: 2, timeoutMs: 60_000 });
    const [a, b, c, d] = [approval(), approval(), approval(), approval()];
    webhook.notify(a);
    await receiver.waitFor(1);
    // Returns at once while the receiver holds the first attempt.
    webhook.notify(b);
    webhook.notify(c);
    webhook.notify(d);
    expect(outcomes.map(([outcome, id]) => [outcome, id])).toEqual([
      ['dropped', a.id],
      ['dropped', b.id],
    ]);
    expect(webhook.queued).toBe(2);
    // The dropped attempt in flight was abandoned: the next queued one is sent.
    await receiver.waitFor(2);
    expect(receiver.received[1]!.headers['webhook-id']).toBe(c.id);
  });

  it('refuses a secret that is not whsec_ and 24 to 64 bytes of base64, naming the line and not the key', () => {
    expect(() => WebhookSecrets.parse('')).toThrow(/holds no whsec_ key/);
    expect(() => WebhookSecrets.parse(`# rotated 2026-12\n${SECRET}\nsecret123`, 'hook.secret')).toThrow(/hook\.secret, line 3/);
    expect(() => WebhookSecrets.parse(`whsec_${randomBytes(16).toString('base64')}`)).toThrow(/24 to 64/);
    let thrown: unknown;
    try {
      WebhookSecrets.parse(`${SECRET}x`);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'ERR_APPROVAL_WEBHOOK_SECRET' });
    expect((thrown as Error).message).not.toContain(SECRET.slice(6, 20));
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
