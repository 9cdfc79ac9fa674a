import * as grpc from '@grpc/grpc-js';
import type { VerifiedCallClaims } from '../../src/credentials/call-token-verifier';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { mcpClient, MCP_GATEWAY_POLICIES, NOTES_ID, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { call, taskMetadata, tasksOf } from './support/task-calls';

// Reuse is on by default (5 s); the worlds here set 59 s, so that calls made one after the
// other fall in one window however slow the machine is.
const REUSE_59 = 'credentials:\n  upstreamTokenReuseSeconds: 59\n';
const TASK_POLICIES = { ...POLICIES, 'tasks.cedar': 'permit (principal, action == Action::"toolgate.v1.Tasks/BeginTask", resource);' };

/** The call tokens the files tool verified during `run`. */
async function tokensOf(world: GatewayWorld, run: () => Promise<unknown>): Promise<VerifiedCallClaims[]> {
  const seen = world.verifiedCalls.length;
  await run();
  return world.verifiedCalls.slice(seen);
}

function listDir(client: grpc.Client): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = (client as unknown as { listDir: (r: object) => grpc.ClientReadableStream<unknown> }).listDir({ path: '/' });
    stream.on('data', () => {});
    stream.on('error', reject);
    stream.on('end', resolve);
  });
}

describe('credentials.upstreamTokenReuseSeconds: a signed call token serves the calls with the same claims for a few seconds', () => {
  describe('reuse on', () => {
    let world: GatewayWorld;
    beforeAll(async () => {
      world = await GatewayWorld.start({ verifyCallTokens: true, policies: TASK_POLICIES, extraConfig: REUSE_59 });
      world.files.set('/notes/a.txt', Buffer.from('alpha'));
    });
    afterAll(() => world.close());

    it('hands two calls in a row of one caller and method the same token; another method, caller or task gets its own', async () => {
      const bot = await world.agent(RESEARCH_BOT);
      const ci = await world.agent(CI_BUILDER);
      const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60 });
      const tokens = await tokensOf(world, async () => {
        await call(bot, 'readFile', { path: '/notes/a.txt' });
        await call(bot, 'readFile', { path: '/notes/a.txt' });
        await listDir(bot);
        await call(ci, 'readFile', { path: '/notes/a.txt' });
        await call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token));
        await call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token));
      });
      expect(tokens.map((t) => [t.subject, t.scope, t.taskId])).toEqual([
        [RESEARCH_BOT, 'tools.files.v1.Files/ReadFile', undefined],
        [RESEARCH_BOT, 'tools.files.v1.Files/ReadFile', undefined],
        [RESEARCH_BOT, 'tools.files.v1.Files/ListDir', undefined],
        [CI_BUILDER, 'tools.files.v1.Files/ReadFile', undefined],
        [RESEARCH_BOT, 'tools.files.v1.Files/ReadFile', begun.taskId],
        [RESEARCH_BOT, 'tools.files.v1.Files/ReadFile', begun.taskId],
      ]);
      const jtis = tokens.map((t) => t.jti);
      expect(jtis[1]).toBe(jtis[0]);
      expect(tokens[1]!.payload).toEqual(tokens[0]!.payload);
      expect(jtis[5]).toBe(jtis[4]);
      expect(new Set(jtis).size).toBe(4);
      // Still no later than the task's end, and at most 60 s from iat.
      expect(tokens[5]!.payload.exp).toBeLessThanOrEqual(Number(begun.expiresAt.seconds));
      for (const t of tokens) expect(t.payload.exp! - t.payload.iat!).toBeLessThanOrEqual(60);
    });
  });

  describe('reuse 0', () => {
    let world: GatewayWorld;
    beforeAll(async () => {
      world = await GatewayWorld.start({ verifyCallTokens: true, extraConfig: 'credentials:\n  upstreamTokenReuseSeconds: 0\n' });
      world.files.set('/notes/a.txt', Buffer.from('alpha'));
    });
    afterAll(() => world.close());

    it('gives every call its own token and jti, on every call type', async () => {
      const ci = await world.agent(CI_BUILDER);
      const tokens = await tokensOf(world, async () => {
        await call(ci, 'readFile', { path: '/notes/a.txt' });
        await call(ci, 'readFile', { path: '/notes/a.txt' });
        await listDir(ci);
        await listDir(ci);
      });
      expect(tokens.map((c) => c.scope)).toEqual([
        'tools.files.v1.Files/ReadFile',
        'tools.files.v1.Files/ReadFile',
        'tools.files.v1.Files/ListDir',
        'tools.files.v1.Files/ListDir',
      ]);
      expect(new Set(tokens.map((c) => c.jti)).size).toBe(4);
    });
  });

  describe('on MCP, reuse on', () => {
    let upstream: McpUpstream;
    let world: GatewayWorld;
    beforeAll(async () => {
      upstream = await startMcpUpstream();
      world = await startMcpGatewayWorld(upstream, { policies: MCP_GATEWAY_POLICIES, extraConfig: `    spiffeId: ${NOTES_ID}\n${REUSE_59}` });
    });
    afterAll(async () => {
      await world.close();
      await upstream.close();
    });

    it('hands two tool calls in a row the same token (it never named the arguments), and another tool its own', async () => {
      const client = await mcpClient(world, RESEARCH_BOT);
      const seen = upstream.toolAuthorizations.length;
      await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
      await client.callTool({ name: 'read_note', arguments: { path: '/public/b' } });
      await client.callTool({ name: 'delete_all', arguments: {} });
      await client.close();
      const [a, b, c] = upstream.toolAuthorizations.slice(seen);
      expect(a).toMatch(/^Bearer /);
      expect(b).toBe(a);
      expect(c).toMatch(/^Bearer /);
      expect(c).not.toBe(a);
    });
  });
});
