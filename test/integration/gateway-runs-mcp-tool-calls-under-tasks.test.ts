import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createCallTokenVerifier, type CallTokenVerifier, type VerifiedCallClaims } from '../../src/credentials/call-token-verifier';
import { JWKS_PATH } from '../../src/credentials/jwks-route';
import { GATEWAY_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { MCP_GATEWAY_POLICIES, mcpClient, NOTES_ID, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { tasksOf } from './support/task-calls';
import { waitUntil } from './support/workload-fixtures';

const READ = 'mcp:notes/tools/call/read_note';
const ALL_TOOLS = 'mcp:notes/tools/call';

const POLICIES = {
  ...MCP_GATEWAY_POLICIES,
  'tasks.cedar': `
@id("researchers-begin-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");

@id("a-task-reads-once-unless-it-says-so")
forbid (principal, action == Action::"${READ}", resource)
when { context has task && context.task.callsUsed > 1 && context.task.intent == "read once" };
`,
};

/** A loopback MCP upstream with a spiffeId: its tokens' audience (no mTLS on plain http). */
const NOTES_SPIFFE_ID = `    spiffeId: ${NOTES_ID}\n`;

/** The JSON-RPC error a refused tool call rejects with. */
async function refusalOf(promise: Promise<unknown>): Promise<McpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error('the tool call was not refused');
}

describe('MCP tool calls under tasks, with the per-call JWT (docs/mcp.md#tasks-and-credentials)', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  let verify: CallTokenVerifier;

  beforeAll(async () => {
    upstream = await startMcpUpstream({ slowTool: true });
    world = await startMcpGatewayWorld(upstream, { policies: POLICIES, extraConfig: NOTES_SPIFFE_ID });
    const jwksUrl = `http://127.0.0.1:${world.gateway.adminAddress!.port}${JWKS_PATH}`;
    verify = createCallTokenVerifier({ jwksUrl, issuer: GATEWAY_ID, audience: NOTES_ID });
  });
  afterAll(async () => {
    await world.close();
    await upstream.close();
  });

  /** The claims of the gateway's token on the last tool run, as the server would check them. */
  async function lastToolToken(): Promise<VerifiedCallClaims> {
    const authorization = upstream.toolAuthorizations.at(-1);
    expect(authorization).toMatch(/^Bearer /);
    return verify(authorization!.slice('Bearer '.length));
  }

  async function taskClient(tools: string[], budget?: object, intent = 'test'): Promise<{ client: Client; taskId: string; expiresAt: number }> {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent, tools, ttlSeconds: 60, ...(budget && { budget }) });
    const client = await mcpClient(world, RESEARCH_BOT, { 'x-toolgate-task': begun.token });
    return { client, taskId: begun.taskId, expiresAt: Number(begun.expiresAt.seconds) };
  }

  it('runs a tool call under its task, spends the budget, and hands the server a JWT naming caller, tool call and task', async () => {
    const { client, taskId, expiresAt } = await taskClient([READ], { calls: 3 });
    const runs = upstream.toolRuns.read_note ?? 0;
    const result = await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    expect(result.content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    expect(upstream.toolRuns.read_note).toBe(runs + 1);
    expect(world.decisions.lines.at(-1)).toMatchObject({ protocol: 'mcp', action: READ, task: taskId, decision: 'allow' });
    expect(await (await tasksOf(world, RESEARCH_BOT)).get(taskId)).toMatchObject({ callsUsed: 1, callsRemaining: 2 });

    const claims = await lastToolToken();
    expect(claims).toMatchObject({ subject: RESEARCH_BOT, actor: GATEWAY_ID, scope: READ, taskId, agent: 'research-bot' });
    expect(claims.payload).toMatchObject({ iss: GATEWAY_ID, aud: NOTES_ID });
    expect(claims.payload.exp! - claims.payload.iat!).toBeLessThanOrEqual(60);
    expect(claims.payload.exp).toBeLessThanOrEqual(expiresAt);
    await client.close();
  });

  it('refuses a call past the budget with a JSON-RPC error naming the decision, and nothing reaches the server', async () => {
    const { client, taskId } = await taskClient([READ], { calls: 1 });
    await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    const runs = upstream.toolRuns.read_note;
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/b' } }));
    expect(refused.code).toBe(-32003);
    const decisionId = (refused.data as { decisionId: string }).decisionId;
    expect(refused.message).toContain(decisionId);
    expect(upstream.toolRuns.read_note).toBe(runs);
    expect(world.decisions.byDecisionId(decisionId)).toMatchObject({ protocol: 'mcp', action: READ, task: taskId, decision: 'deny', reason: expect.stringMatching(/budget/) });
    // The guard's refusal names the message it refused (decision-records.md, "The request digest").
    expect(world.decisions.byDecisionId(decisionId)?.requestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await (await tasksOf(world, RESEARCH_BOT)).get(taskId)).toMatchObject({ callsUsed: 1, callsRemaining: 0 });
    await client.close();
  });

  it('refuses a tool the task does not name, though policy alone would permit it', async () => {
    const { client, taskId } = await taskClient([READ]);
    const runs = upstream.toolRuns.delete_all ?? 0;
    const refused = await refusalOf(client.callTool({ name: 'delete_all', arguments: {} }));
    expect(refused.code).toBe(-32003);
    const decisionId = (refused.data as { decisionId: string }).decisionId;
    expect(world.decisions.byDecisionId(decisionId)).toMatchObject({ action: 'mcp:notes/tools/call/delete_all', task: taskId, decision: 'deny' });
    expect(upstream.toolRuns.delete_all ?? 0).toBe(runs);
    // Without the task, the same caller's call is decided by policy alone.
    const plain = await mcpClient(world, RESEARCH_BOT);
    await plain.callTool({ name: 'delete_all', arguments: {} });
    expect(upstream.toolRuns.delete_all).toBe(runs + 1);
    await Promise.all([client.close(), plain.close()]);
  });

  it("takes all of an upstream's tools as one entry, with a per-tool cap keyed by the tool call action", async () => {
    const { client, taskId } = await taskClient([ALL_TOOLS], { perMethod: { [READ]: 1 } });
    await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/a' } }));
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)).toMatchObject({ task: taskId, decision: 'deny' });
    // Another tool of the same upstream is not under the cap.
    await client.callTool({ name: 'delete_all', arguments: {} });
    expect(await (await tasksOf(world, RESEARCH_BOT)).get(taskId)).toMatchObject({ callsUsed: 2 });
    await client.close();
  });

  it("gives policy context.task: a forbid on the task's usage applies to MCP tool calls", async () => {
    const { client } = await taskClient([READ], undefined, 'read once');
    await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/a' } }));
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)).toMatchObject({
      decision: 'deny',
      policies: ['a-task-reads-once-unless-it-says-so'],
    });
    await client.close();
  });

  it('holds a concurrency slot of the task only while its tool call is answered', async () => {
    const { client, taskId } = await taskClient([ALL_TOOLS], { maxConcurrent: 1 });
    // While one call runs, a second of the same task is refused, and does not reach the server.
    const sleepsBefore = upstream.toolRuns.sleep ?? 0;
    const running = client.callTool({ name: 'sleep', arguments: { ms: 1500 } });
    await waitUntil(() => upstream.toolRuns.sleep === sleepsBefore + 1, 5000);
    const runs = upstream.toolRuns.read_note;
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/a' } }));
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)).toMatchObject({ decision: 'deny', task: taskId });
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)?.reason).toMatch(/concurren/);
    expect(upstream.toolRuns.read_note).toBe(runs);
    await running;
    // Each call's slot is given back when its answer ends: else these would be refused.
    for (const path of ['/public/a', '/public/b', '/public/c']) await client.callTool({ name: 'read_note', arguments: { path } });
    // The sleep and the three reads; the refused call spent nothing.
    expect(await (await tasksOf(world, RESEARCH_BOT)).get(taskId)).toMatchObject({ callsUsed: 4 });
    await client.close();
  });

  it('cuts a tool call whose task ends while it runs', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent: 'test', tools: [ALL_TOOLS], ttlSeconds: 60 });
    const client = await mcpClient(world, RESEARCH_BOT, { 'x-toolgate-task': begun.token });
    const started = Date.now();
    const running = client.callTool({ name: 'sleep', arguments: { ms: 10_000 } }, undefined, { timeout: 8_000 });
    running.catch(() => {}); // awaited below, once the task is ended
    await waitUntil(() => upstream.toolRuns.sleep === 1);
    await (await tasksOf(world, RESEARCH_BOT)).end(begun.taskId);
    const refused = await refusalOf(running);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(refused.code).toBe(-32003);
    const decisionId = (refused.data as { decisionId: string }).decisionId;
    expect(refused.message).toContain(`Cut (decision ${decisionId})`);
    // The cut is recorded under the id of the decision that let the call through.
    expect(world.decisions.lines.filter((l) => l.decisionId === decisionId).map((l) => l.decision)).toEqual(['allow', 'cut']);
    expect(world.decisions.lines.find((l) => l.decision === 'cut')).toMatchObject({
      protocol: 'mcp',
      action: 'mcp:notes/tools/call/sleep',
      task: begun.taskId,
      reason: 'task ended',
    });
    const [allowed, cut] = world.decisions.lines.filter((l) => l.decisionId === decisionId);
    expect(cut!.requestDigest).toBe(allowed!.requestDigest);
    expect(cut!.requestDigest).toMatch(/^sha256:/);
    await client.close();
  });

  it("never relays the caller's own authorization header: the server sees only the gateway's token", async () => {
    const client = await mcpClient(world, RESEARCH_BOT, { authorization: 'Bearer the-callers-own-secret' });
    await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    expect(upstream.toolAuthorizations.at(-1)).not.toContain('the-callers-own-secret');
    const claims = await lastToolToken();
    expect(claims).toMatchObject({ subject: RESEARCH_BOT, scope: READ });
    expect(claims.taskId).toBeUndefined();
    await client.close();
  });

  it('refuses a task token that does not verify, and nothing reaches the server', async () => {
    const client = await mcpClient(world, RESEARCH_BOT, { 'x-toolgate-task': 'not-a-task-token' });
    const runs = upstream.toolRuns.read_note;
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/a' } }));
    expect(refused.code).toBe(-32003);
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)).toMatchObject({ decision: 'deny', protocol: 'mcp' });
    expect(upstream.toolRuns.read_note).toBe(runs);
    await client.close();
  });
});

describe('the per-agent rate limit counts MCP tool calls (limits.agentRate)', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  beforeAll(async () => {
    upstream = await startMcpUpstream();
    world = await startMcpGatewayWorld(upstream, { extraConfig: 'limits:\n  agentRate: { perSecond: 0.001, burst: 2 }\n' });
  });
  afterAll(async () => {
    await world.close();
    await upstream.close();
  });

  it('lets the burst of tool calls through, then refuses; initialize and lists are not counted', async () => {
    const client = await mcpClient(world, RESEARCH_BOT);
    await client.listTools();
    await client.listTools();
    await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    await client.callTool({ name: 'read_note', arguments: { path: '/public/b' } });
    const refused = await refusalOf(client.callTool({ name: 'read_note', arguments: { path: '/public/c' } }));
    expect(world.decisions.byDecisionId((refused.data as { decisionId: string }).decisionId)).toMatchObject({
      protocol: 'mcp',
      decision: 'deny',
      reason: expect.stringMatching(/rate limit/),
    });
    expect(upstream.toolRuns.read_note).toBe(2);
    await client.close();
  });
});
