import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { mcpClient, mtlsFetch, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { RedisApprovalStore } from '../../src/approvals/redis-approval-store';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';
import { tasksOf } from './support/task-calls';
import { waitUntil } from './support/workload-fixtures';

const READ_NOTE = 'mcp:notes/tools/call/read_note';
const ALICE = 'spiffe://example.org/people/alice';
/** The hold of this world: short, so that an agent that is not approved in time hears so soon. */
const HOLD_SECONDS = 4;

const MCP_POLICIES = {
  ...POLICIES,
  'mcp.cedar': `
@id("public-notes")
permit (principal, action == Action::"${READ_NOTE}", resource == Tool::"notes") when { context.request has path && context.request.path like "/public/*" };

@id("payroll-notes-need-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${READ_NOTE}", resource == Tool::"notes") when { context.request has path && context.request.path like "/payroll/*" };

@id("researchers-begin-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");
`,
};

interface ApprovalData {
  decisionId: string;
  reason: string;
  domain: string;
  approvalId?: string;
  expiresAt?: string;
}

/** The JSON-RPC error of a tool call that must fail. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; data: ApprovalData }> {
  const err = await call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof McpError)) throw err;
  return { code: err.code, data: err.data as ApprovalData };
}

const readNote = (client: Client, path: string) => client.callTool({ name: 'read_note', arguments: { path } }, undefined, { timeout: 30_000 });
const text = (reply: unknown) => (reply as { content: { text: string }[] }).content[0]!.text;

describe('escalated MCP tool calls (@approval): held, bound to the exact call, single use, as gRPC calls', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  let bot: Client;
  const mcpLines = (seen: number) => world.decisions.lines.slice(seen).filter((l) => l.protocol === 'mcp');
  const escalation = async (seen: number): Promise<Record<string, unknown>> => {
    await waitUntil(() => mcpLines(seen).some((l) => l.decision === 'escalate'), 10_000);
    return mcpLines(seen).find((l) => l.decision === 'escalate')!;
  };
  /** An SDK client retrying with `x-toolgate-approval: <id>` on every request. */
  const withApproval = async (id: string, as = RESEARCH_BOT) => mcpClient(world, as, { 'x-toolgate-approval': id });

  let users: OidcFixture;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    users = await OidcFixture.create('https://login.example.com');
    world = await startMcpGatewayWorld(upstream, {
      policies: MCP_POLICIES,
      extraConfig: `approvals:\n  holdSeconds: ${HOLD_SECONDS}\nonBehalfOf: { issuer: ${users.issuer}, audience: toolgate-users, jwksUri: "${users.jwksUri}" }\n`,
    });
    bot = await mcpClient(world, RESEARCH_BOT);
  }, 30_000);

  afterAll(async () => {
    await bot?.close();
    await world?.close();
    await upstream?.close();
    await users?.close();
  });

  it('binds the approval to the user the agent acts for: given for alice, refused for the same call for bob', async () => {
    const forUser = async (sub: string, approval?: string) =>
      mcpClient(world, RESEARCH_BOT, {
        'x-toolgate-on-behalf-of': await users.sign({ sub, aud: 'toolgate-users' }),
        ...(approval !== undefined && { 'x-toolgate-approval': approval }),
      });
    const alice = await forUser('alice');
    const first = await refusal(readNote(alice, '/payroll/q3')).finally(() => alice.close());
    const id = first.data.approvalId!;
    await world.gateway.approvals.approve(id, ALICE);
    const bob = await forUser('bob', id);
    const aliceAgain = await forUser('alice', id);
    try {
      expect(await refusal(readNote(bob, '/payroll/q3'))).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_MISMATCH', approvalId: id } });
      expect(text(await readNote(aliceAgain, '/payroll/q3'))).toBe('contents of /payroll/q3');
    } finally {
      await bob.close();
      await aliceAgain.close();
    }
  });

  it('holds the HTTP request of an escalated tool call and relays it the moment a person approves; every step a record with protocol mcp', async () => {
    const seen = world.decisions.lines.length;
    const runs = upstream.toolRuns.read_note ?? 0;
    const call = readNote(bot, '/payroll/q3');
    const escalated = await escalation(seen);
    expect(escalated).toMatchObject({ caller: RESEARCH_BOT, action: READ_NOTE, resource: 'notes', decision: 'escalate', policies: ['payroll-notes-need-approval'] });
    const id = escalated.approval as string;
    expect(id).toMatch(/^ap_/);
    expect(upstream.toolRuns.read_note ?? 0).toBe(runs);

    expect(await world.gateway.approvals.approve(id, RESEARCH_BOT)).toEqual({ ok: false, reason: 'own-call' });
    expect(await world.gateway.approvals.approve(id, ALICE)).toMatchObject({ ok: true, approval: { state: 'approved', protocol: 'mcp' } });
    expect(text(await call)).toBe('contents of /payroll/q3');
    expect(upstream.toolRuns.read_note).toBe(runs + 1);

    const records = world.decisions.lines.slice(seen);
    expect(records.find((l) => l.event === 'approval granted')).toMatchObject({ protocol: 'mcp', approval: id, by: ALICE, caller: RESEARCH_BOT, action: READ_NOTE });
    expect(records.find((l) => l.decision === 'allow')).toMatchObject({
      protocol: 'mcp',
      decisionId: escalated.decisionId,
      approval: id,
      by: [ALICE],
      reason: 'approved',
      policies: ['payroll-notes-need-approval'],
    });
    expect((await world.gateway.approvals.get(id))?.state).toBe('consumed');
  });

  it('an agent not approved within the hold gets -32004 APPROVAL_REQUIRED with the id; its retry with x-toolgate-approval succeeds once, a replay is refused; the header never reaches the server', async () => {
    const seen = world.decisions.lines.length;
    const first = await refusal(readNote(bot, '/payroll/q3'));
    expect(first).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_REQUIRED', domain: 'toolgate.dev' } });
    const id = first.data.approvalId!;
    expect(id).toBe((await escalation(seen)).approval);
    expect(first.data.decisionId).toBe((await escalation(seen)).decisionId);
    expect(Date.parse(first.data.expiresAt!)).toBeGreaterThan(Date.now());
    expect(mcpLines(seen).at(-1)).toMatchObject({ decision: 'deny', approval: id });
    expect(mcpLines(seen).at(-1)!.reason).toMatch(/^APPROVAL_REQUIRED: approval pending: not approved within the hold/);

    await world.gateway.approvals.approve(id, ALICE);
    const retrying = await withApproval(id);
    try {
      const sent = upstream.requestHeaders.length;
      expect(text(await readNote(retrying, '/payroll/q3'))).toBe('contents of /payroll/q3');
      expect(mcpLines(seen).at(-1)).toMatchObject({ decision: 'allow', approval: id, by: [ALICE], reason: 'approved' });
      expect(upstream.requestHeaders.length).toBeGreaterThan(sent);
      // The header is the gateway's: no request of the retrying client carried it upstream.
      expect(upstream.requestHeaders.filter((h) => 'x-toolgate-approval' in h)).toEqual([]);

      const replay = await refusal(readNote(retrying, '/payroll/q3'));
      expect(replay).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_MISMATCH', approvalId: id } });
      expect(mcpLines(seen).at(-1)).toMatchObject({ decision: 'deny', approval: id });
      expect(mcpLines(seen).at(-1)!.reason).toMatch(/already used/);
    } finally {
      await retrying.close();
    }
  }, 30_000);

  it('a caller that goes away while held lets the hold go; the approval then given is refused for a changed argument or another caller, without being used up', async () => {
    const seen = world.decisions.lines.length;
    const leaving = await mcpClient(world, RESEARCH_BOT);
    const abandoned = readNote(leaving, '/payroll/q4').catch(() => undefined);
    const id = (await escalation(seen)).approval as string;
    await leaving.close();
    await abandoned;
    await waitUntil(() => mcpLines(seen).some((l) => l.decision === 'deny' && l.approval === id), 10_000);
    expect(mcpLines(seen).find((l) => l.decision === 'deny')!.reason).toMatch(/went away/);
    await world.gateway.approvals.approve(id, ALICE);

    const retrying = await withApproval(id);
    const other = await withApproval(id, CI_BUILDER);
    const unshaped = await withApproval('ap_../../etc');
    try {
      const changed = await refusal(readNote(retrying, '/payroll/q3'));
      expect(changed).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_MISMATCH', approvalId: id } });
      expect(mcpLines(seen).at(-1)!.reason).toMatch(/another call/);
      const otherCaller = await refusal(readNote(other, '/payroll/q4'));
      expect(otherCaller).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_MISMATCH' } });
      expect(mcpLines(seen).at(-1)).toMatchObject({ caller: CI_BUILDER, decision: 'deny', approval: id });
      const malformed = await refusal(readNote(unshaped, '/payroll/q4'));
      expect(malformed.data).toMatchObject({ reason: 'APPROVAL_MISMATCH' });
      expect(malformed.data.approvalId).toBeUndefined();

      expect(text(await readNote(retrying, '/payroll/q4'))).toBe('contents of /payroll/q4');
    } finally {
      await Promise.all([retrying.close(), other.close(), unshaped.close()]);
    }
  }, 30_000);

  it("a person's denial refuses the held call at once: -32003 APPROVAL_DENIED, and nothing reaches the server", async () => {
    const seen = world.decisions.lines.length;
    const runs = upstream.toolRuns.read_note ?? 0;
    const call = refusal(readNote(bot, '/payroll/q5'));
    const id = (await escalation(seen)).approval as string;
    expect(await world.gateway.approvals.deny(id, ALICE)).toMatchObject({ ok: true });
    expect(await call).toMatchObject({ code: -32003, data: { reason: 'APPROVAL_DENIED', approvalId: id, domain: 'toolgate.dev' } });
    expect(upstream.toolRuns.read_note ?? 0).toBe(runs);
    expect(world.decisions.lines.slice(seen).find((l) => l.event === 'approval denied')).toMatchObject({ protocol: 'mcp', by: ALICE, approval: id });
    expect(mcpLines(seen).find((l) => l.decision === 'deny')).toMatchObject({ approval: id, reason: expect.stringMatching(/^APPROVAL_DENIED/) });
  });

  it('decides a held tool call again under the policies in force when it is approved: a forbid added meanwhile denies it', async () => {
    const seen = world.decisions.lines.length;
    const call = refusal(readNote(bot, '/payroll/q6'));
    const id = (await escalation(seen)).approval as string;
    const paused = join(world.policyDir, 'payroll-paused.cedar');
    writeFileSync(
      paused,
      `@id("payroll-paused") forbid (principal, action == Action::"${READ_NOTE}", resource) when { context.request has path && context.request.path like "/payroll/*" };`,
    );
    try {
      expect(world.gateway.reload('SIGHUP')).toMatchObject({ result: 'success' });
      const policySet = world.gateway.pipeline.current.policyHash;
      await world.gateway.approvals.approve(id, ALICE);
      expect((await call).code).toBe(-32003);
      const denial = mcpLines(seen).find((l) => l.decision === 'deny')!;
      expect(denial).toMatchObject({ approval: id, policies: ['payroll-paused'], policySet, reason: 'approved, but the policies in force at release deny the call' });
      // Not consumed: the approval was never used.
      expect((await world.gateway.approvals.get(id))?.state).toBe('approved');
    } finally {
      rmSync(paused);
      world.gateway.reload('SIGHUP');
    }
  });

  it('cuts a held tool call whose task ends meanwhile: refused, and the approval then given runs nothing', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const begun = await tasks.begin({ intent: 'payroll', tools: [READ_NOTE], ttlSeconds: 60 });
    const inTask = await mcpClient(world, RESEARCH_BOT, { 'x-toolgate-task': begun.token });
    try {
      const seen = world.decisions.lines.length;
      const runs = upstream.toolRuns.read_note ?? 0;
      const call = refusal(readNote(inTask, '/payroll/q7'));
      const escalated = await escalation(seen);
      expect(escalated).toMatchObject({ task: begun.taskId });
      await tasks.end(begun.taskId);
      expect((await call).code).toBe(-32003);
      expect(mcpLines(seen).find((l) => l.decision === 'cut')).toMatchObject({ task: begun.taskId, decisionId: escalated.decisionId });
      expect(mcpLines(seen).find((l) => l.decision === 'deny')).toMatchObject({ approval: escalated.approval, reason: expect.stringMatching(/task ended/) });
      await world.gateway.approvals.approve(escalated.approval as string, ALICE);
      expect(upstream.toolRuns.read_note ?? 0).toBe(runs);
    } finally {
      await inTask.close();
    }
  });

  it('an escalated element of a batch (2025-03-26) is not held: the whole batch is refused, that element with APPROVAL_REQUIRED and its approval id', async () => {
    const seen = world.decisions.lines.length;
    const fetch = await mtlsFetch(world, RESEARCH_BOT);
    const call = (id: number, path: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read_note', arguments: { path } } });
    const started = Date.now();
    const response = await fetch(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-03-26' },
      body: JSON.stringify([call(1, '/public/a'), call(2, '/payroll/q3')]),
    });
    expect(response.status).toBe(200);
    const answers = (await response.json()) as { id: number; error: { code: number; data?: ApprovalData } }[];
    // Not held: answered well before the hold would have ended.
    expect(Date.now() - started).toBeLessThan(HOLD_SECONDS * 1000);
    const id = (await escalation(seen)).approval as string;
    expect(answers).toMatchObject([
      { id: 1, error: { code: -32003 } },
      { id: 2, error: { code: -32004, data: { reason: 'APPROVAL_REQUIRED', approvalId: id } } },
    ]);
    expect(upstream.requestHeaders.filter((h) => h['mcp-protocol-version'] === '2025-03-26')).toEqual([]);
  });
});

describeWithRedis('escalated MCP tool calls across replicas sharing one Redis', () => {
  let redis: DevRedisServer;
  let upstream: McpUpstream;
  let world: GatewayWorld;
  let bot: Client;
  let otherReplica: RedisApprovalStore;

  beforeAll(async () => {
    redis = await startDevRedisServer();
    upstream = await startMcpUpstream();
    world = await startMcpGatewayWorld(upstream, { policies: MCP_POLICIES, extraConfig: `state:\n  redis:\n    url: ${redis.url}\n` });
    bot = await mcpClient(world, RESEARCH_BOT);
    // Another replica's view of the same shared state: the store a second gateway opens on the same Redis.
    otherReplica = await RedisApprovalStore.connect({ url: redis.url });
  }, 30_000);

  afterAll(async () => {
    await bot?.close();
    await otherReplica?.close();
    await world?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('releases a tool call held on one replica by an approval given through another, used once', async () => {
    const seen = world.decisions.lines.length;
    const call = readNote(bot, '/payroll/q3');
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    const id = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string;
    expect(await otherReplica.approve(id, ALICE, new Date())).toMatchObject({ ok: true, approval: { protocol: 'mcp' } });
    expect(text(await call)).toBe('contents of /payroll/q3');
    expect(world.decisions.lines.slice(seen).find((l) => l.decision === 'allow')).toMatchObject({ protocol: 'mcp', approval: id, by: [ALICE] });
    expect((await otherReplica.get(id, new Date()))?.state).toBe('consumed');
  });

  it('fails closed when the shared approval store is gone: -32004 APPROVAL_UNAVAILABLE, nothing relayed', async () => {
    const runs = upstream.toolRuns.read_note ?? 0;
    await redis.stop();
    const gone = await refusal(readNote(bot, '/payroll/q3'));
    expect(gone).toMatchObject({ code: -32004, data: { reason: 'APPROVAL_UNAVAILABLE' } });
    expect(world.decisions.lines.at(-1)!.reason).toMatch(/^APPROVAL_UNAVAILABLE: approval store unavailable/);
    expect(upstream.toolRuns.read_note ?? 0).toBe(runs);
  }, 20_000);
});
