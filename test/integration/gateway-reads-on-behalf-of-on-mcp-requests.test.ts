import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GATEWAY_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { bearerTlsFetch, MCP_GATEWAY_POLICIES, mcpClient, NOTES_ID, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

const DELETE_ALL = 'mcp:notes/tools/call/delete_all';

const POLICIES = {
  ...MCP_GATEWAY_POLICIES,
  'obo.cedar': `
// Deleting every note needs a user the agent acts for, and only alice may have it done for her.
@id("delete-all-for-alice-only")
forbid (principal, action == Action::"${DELETE_ALL}", resource == Tool::"notes")
unless { context has onBehalfOf && context.onBehalfOf.subject == "alice" };
`,
};

/** What a refused SDK call rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('not refused');
}

describe('MCP requests read x-toolgate-on-behalf-of as gRPC calls do, on both listeners, and never relay it', () => {
  let upstream: McpUpstream;
  let users: OidcFixture;
  let other: OidcFixture;
  let world: GatewayWorld;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    users = await OidcFixture.create('https://login.example.com');
    other = await OidcFixture.create('https://elsewhere.example.com');
    world = await startMcpGatewayWorld(upstream, {
      policies: POLICIES,
      extraConfig: `    spiffeId: ${NOTES_ID}
workloadTokens:
  listen: 127.0.0.1:0
onBehalfOf: { issuer: ${users.issuer}, audience: toolgate-users, jwksUri: "${users.jwksUri}" }
`,
    });
  });
  afterAll(async () => {
    await world?.close();
    await upstream?.close();
    await users?.close();
    await other?.close();
  });

  const userToken = (sub: string) => users.sign({ sub, aud: 'toolgate-users' });

  /** An SDK client on the token listener, as RESEARCH_BOT by JWT-SVID, sending `headers` too. */
  async function bearerClient(headers: Record<string, string>): Promise<Client> {
    const svid = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]);
    const url = new URL(`https://127.0.0.1:${world.gateway.tokenAddress!.port}/mcp/notes`);
    const transport = new StreamableHTTPClientTransport(url, { fetch: bearerTlsFetch(world), requestInit: { headers: { authorization: `Bearer ${svid}`, ...headers } } });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  const connectors: [string, (headers: Record<string, string>) => Promise<Client>][] = [
    ['mTLS', (headers) => mcpClient(world, RESEARCH_BOT, headers)],
    ['token', bearerClient],
  ];

  it.each(connectors)('on the %s listener: the user is context.onBehalfOf of every decision, on the record and in the JWT, and not relayed', async (_name, connect) => {
    const seen = upstream.requestHeaders.length;
    const alice = await connect({ 'x-toolgate-on-behalf-of': await userToken('alice') });
    const bob = await connect({ 'x-toolgate-on-behalf-of': await userToken('bob') });
    const nobody = await connect({});
    try {
      // Discovery asks policy with the same context: only alice's agent sees delete_all.
      expect((await alice.listTools()).tools.map((t) => t.name).sort()).toEqual(['delete_all', 'read_note']);
      expect((await bob.listTools()).tools.map((t) => t.name)).toEqual(['read_note']);
      expect((await nobody.listTools()).tools.map((t) => t.name)).toEqual(['read_note']);
      expect(world.decisions.lines.at(-3)).toMatchObject({ protocol: 'mcp', action: 'mcp:notes/tools/list', decision: 'allow', onBehalfOf: 'alice' });

      expect((await alice.callTool({ name: 'delete_all' })).content).toEqual([{ type: 'text', text: 'deleted' }]);
      expect(world.decisions.lines.at(-1)).toMatchObject({ protocol: 'mcp', caller: RESEARCH_BOT, action: DELETE_ALL, decision: 'allow', onBehalfOf: 'alice' });
      expect(decodeJwt(upstream.toolAuthorizations.at(-1)!.slice('Bearer '.length))).toMatchObject({ sub: RESEARCH_BOT, obo: { iss: users.issuer, sub: 'alice' } });

      for (const client of [bob, nobody]) {
        const denied = await failureOf(client.callTool({ name: 'delete_all' }));
        expect(denied).toBeInstanceOf(McpError);
        expect((denied as McpError).code).toBe(-32003);
        expect(world.decisions.lines.at(-1)).toMatchObject({ action: DELETE_ALL, decision: 'deny', policies: ['delete-all-for-alice-only'] });
      }
      expect(world.decisions.lines.at(-2)).toMatchObject({ onBehalfOf: 'bob' });
      expect(world.decisions.lines.at(-1)?.onBehalfOf).toBeUndefined();
    } finally {
      await Promise.all([alice.close(), bob.close(), nobody.close()]);
    }
    const relayed = upstream.requestHeaders.slice(seen);
    expect(relayed.length).toBeGreaterThan(0);
    for (const headers of relayed) expect(headers['x-toolgate-on-behalf-of']).toBeUndefined();
  });

  it.each(connectors)('on the %s listener: a user token that does not verify refuses the request, 403 with a decision id, and nothing is relayed', async (_name, connect) => {
    const seen = upstream.requestHeaders.length;
    const counted = await world.metric('toolgate_guard_refusals_total', { grpc_status: '16' });
    const forged = await other.sign({ sub: 'alice', aud: 'toolgate-users' });
    const expired = await users.sign({ sub: 'alice', aud: 'toolgate-users' }, { nowMs: Date.now() - 3_600_000 });
    for (const token of [forged, expired, 'not-a-jwt']) {
      const refused = await failureOf(connect({ 'x-toolgate-on-behalf-of': token }));
      expect(refused).toBeInstanceOf(StreamableHTTPError);
      expect((refused as StreamableHTTPError).code).toBe(403);
      const body = JSON.parse((refused as Error).message.replace(/^Streamable HTTP error: Error POSTing to endpoint: /, '')) as { error: { data: { decisionId: string } } };
      expect(world.decisions.lines.at(-1)).toMatchObject({
        decisionId: body.error.data.decisionId,
        protocol: 'mcp',
        caller: RESEARCH_BOT,
        action: 'mcp:notes',
        decision: 'deny',
        reason: expect.stringMatching(/^on-behalf-of token refused: /),
      });
    }
    expect(upstream.requestHeaders.length).toBe(seen);
    // Counted with the gRPC calls refused for a bad user token (UNAUTHENTICATED).
    expect(await world.metric('toolgate_guard_refusals_total', { grpc_status: '16' })).toBe(counted + 3);
  });
});
