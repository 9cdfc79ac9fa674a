import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { MCP_GATEWAY_POLICIES, mcpClient, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { tasksOf } from './support/task-calls';

const READ = 'mcp:notes/tools/call/read_note';
const SLEEP = 'mcp:notes/tools/call/sleep';
const DELETE_ALL = 'mcp:notes/tools/call/delete_all';

const POLICIES = {
  ...MCP_GATEWAY_POLICIES,
  'tasks.cedar': `
@id("researchers-begin-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");

// Task-dependent: sleeping only within a task that says so.
@id("sleep-only-in-a-nap")
forbid (principal, action == Action::"${SLEEP}", resource == Tool::"notes")
unless { context has task && context.task.intent == "nap" };

// Task-dependent on usage: a task's third call is never delete_all.
@id("no-delete-after-two-calls")
forbid (principal, action == Action::"${DELETE_ALL}", resource == Tool::"notes")
when { context has task && context.task.callsUsed > 2 };
`,
};

/** The names a listing shows, sorted. */
async function listed(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

async function refusalOf(promise: Promise<unknown>): Promise<McpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('tools/list under a task shows what a tools/call with the same headers could be permitted (docs/mcp.md, "Discovery")', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  const clients: Client[] = [];

  beforeAll(async () => {
    upstream = await startMcpUpstream({ slowTool: true });
    world = await startMcpGatewayWorld(upstream, { policies: POLICIES });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await world?.close();
    await upstream?.close();
  });

  async function client(headers?: Record<string, string>): Promise<Client> {
    const c = await mcpClient(world, RESEARCH_BOT, headers);
    clients.push(c);
    return c;
  }

  async function taskClient(intent: string, tools: string[], budget?: object): Promise<{ client: Client; taskId: string }> {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent, tools, ttlSeconds: 60, ...(budget && { budget }) });
    return { client: await client({ 'x-toolgate-task': begun.token }), taskId: begun.taskId };
  }

  it('without a task: a tool permitted only within a task is hidden; an argument-dependent one is shown', async () => {
    expect(await listed(await client())).toEqual(['delete_all', 'read_note']);
  });

  it('within a task: a tool permitted only there is shown; one outside the task tools is hidden, and each call agrees', async () => {
    const nap = await taskClient('nap', [READ, SLEEP]);
    expect(await listed(nap.client)).toEqual(['read_note', 'sleep']);
    // What the list shows, a call may do; what it hides, a call may not.
    expect((await nap.client.callTool({ name: 'sleep', arguments: { ms: 1 } })).content).toEqual([{ type: 'text', text: 'slept' }]);
    expect((await refusalOf(nap.client.callTool({ name: 'delete_all' }))).code).toBe(-32003);
    // Listing spent nothing: one call counted (delete_all, outside the task, was refused before counting).
    expect(await (await tasksOf(world, RESEARCH_BOT)).get(nap.taskId)).toMatchObject({ callsUsed: 1 });

    const chores = await taskClient('chores', ['mcp:notes/tools/call']);
    expect(await listed(chores.client)).toEqual(['delete_all', 'read_note']);
  });

  it("follows the task's usage: context.task as the call would have it, and a spent cap or budget hides the tool", async () => {
    const { client: c } = await taskClient('chores', ['mcp:notes/tools/call'], { calls: 3, perMethod: { [READ]: 1 } });
    expect(await listed(c)).toEqual(['delete_all', 'read_note']);
    await c.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
    // read_note's cap is spent; delete_all would be the second call (callsUsed 2): allowed.
    expect(await listed(c)).toEqual(['delete_all']);
    await c.callTool({ name: 'sleep', arguments: { ms: 1 } }).catch(() => undefined); // denied by policy, but counted
    // delete_all would now be the third call: policy forbids it, the list agrees.
    expect(await listed(c)).toEqual([]);
    expect((await refusalOf(c.callTool({ name: 'delete_all' }))).code).toBe(-32003);
    // The budget of 3 is spent: nothing left to show.
    expect(await listed(c)).toEqual([]);
  });

  it('refuses a tools/list whose task token is bad or whose task has ended, as it would refuse the call, with a record', async () => {
    const seen = upstream.requestHeaders.filter((h) => h['mcp-method'] === 'tools/list').length;
    const forged = await client({ 'x-toolgate-task': 'not-a-task-token' });
    const refused = await refusalOf(forged.listTools());
    expect(refused.code).toBe(-32003);
    const decisionId = (refused.data as { decisionId: string }).decisionId;
    expect(world.decisions.lines.at(-1)).toMatchObject({ decisionId, protocol: 'mcp', action: 'mcp:notes/tools/list', decision: 'deny', reason: expect.any(String) });

    const { client: ended, taskId } = await taskClient('chores', [READ]);
    expect(await listed(ended)).toEqual(['read_note']);
    await (await tasksOf(world, RESEARCH_BOT)).end(taskId);
    expect((await refusalOf(ended.listTools())).code).toBe(-32003);
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: 'mcp:notes/tools/list', decision: 'deny', task: taskId, reason: 'the task has ended' });
    // Only the one list of the live task reached the server.
    expect(upstream.requestHeaders.filter((h) => h['mcp-method'] === 'tools/list').length).toBe(seen + 1);
  });
});
