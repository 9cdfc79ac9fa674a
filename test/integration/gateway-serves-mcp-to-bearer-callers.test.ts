import { connect, constants } from 'node:http2';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GATEWAY_ID, GatewayWorld, RESEARCH_BOT, STRANGER } from './support/gateway-world';
import { bearerTlsFetch, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

/** The token listener's MCP endpoint for the `notes` upstream. */
function notesUrl(world: GatewayWorld): URL {
  return new URL(`https://127.0.0.1:${world.gateway.tokenAddress!.port}/mcp/notes`);
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
});

describe('the token listener serves MCP to bearer callers, as an OAuth protected resource', () => {
  let upstream: McpUpstream;
  let k8s: OidcFixture;
  let world: GatewayWorld;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    k8s = await OidcFixture.create('https://oidc.k8s.example');
    world = await startMcpGatewayWorld(upstream, {
      extraConfig: `
workloadTokens:
  listen: 127.0.0.1:0
  oidc:
    - { issuer: ${k8s.issuer}, audience: toolgate, jwksFile: ${k8s.jwksFile}, trustDomain: k8s.example }
`,
    });
  });

  afterAll(async () => {
    await world?.close();
    await upstream?.close();
    await k8s?.close();
  });

  /** An SDK client on the token listener presenting `token` as `authorization: Bearer`. */
  async function bearerClient(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(notesUrl(world), { fetch: bearerTlsFetch(world), requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  }

  /** A raw POST of an initialize to the token listener's MCP endpoint. */
  function postInitialize(headers: Record<string, string> = {}): Promise<Response> {
    return bearerTlsFetch(world)(notesUrl(world), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: INITIALIZE,
    });
  }

  it('decides a JWT-SVID caller with Cedar as on the mTLS listener, and never relays its token', async () => {
    const seen = upstream.requestHeaders.length;
    const { client } = await bearerClient(await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]));
    try {
      const allowed = await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
      expect(allowed.content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
      const denied = await client.callTool({ name: 'read_note', arguments: { path: '/secrets/key' } }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(denied).toBeInstanceOf(McpError);
      expect((denied as McpError).code).toBe(-32003);
      const records = world.decisions.lines.filter((l) => l.protocol === 'mcp').slice(-2);
      expect(records.map((r) => [r.action, r.decision, r.caller, r.principal])).toEqual([
        ['mcp:notes/tools/call/read_note', 'allow', RESEARCH_BOT, 'Agent::"research-bot"'],
        ['mcp:notes/tools/call/read_note', 'deny', RESEARCH_BOT, 'Agent::"research-bot"'],
      ]);
    } finally {
      await client.close();
    }
    const relayed = upstream.requestHeaders.slice(seen);
    expect(relayed.length).toBeGreaterThan(0);
    for (const headers of relayed) expect(headers.authorization).toBeUndefined();
  });

  it('answers a request without a token 401 with a challenge whose resource_metadata serves RFC 9728 metadata', async () => {
    const seen = upstream.requestHeaders.length;
    const res = await postInitialize();
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    const metadataUrl = `https://127.0.0.1:${world.gateway.tokenAddress!.port}/.well-known/oauth-protected-resource/mcp/notes`;
    expect(challenge).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    const body = (await res.json()) as { error: { data: { decisionId: string } } };
    expect(world.decisions.lines.at(-1)).toMatchObject({ decisionId: body.error.data.decisionId, decision: 'deny', listener: 'token', code: 'ERR_TOKEN_MISSING' });
    // The SDK's own reading of the challenge and of the document.
    expect(extractWWWAuthenticateParams(res).resourceMetadataUrl?.href).toBe(metadataUrl);
    const metadata = await discoverOAuthProtectedResourceMetadata(notesUrl(world), { resourceMetadataUrl: metadataUrl }, bearerTlsFetch(world));
    expect(OAuthProtectedResourceMetadataSchema.parse(metadata)).toEqual({
      resource: notesUrl(world).href,
      authorization_servers: [k8s.issuer],
      bearer_methods_supported: ['header'],
      resource_name: 'toolgate MCP upstream notes',
    });
    // The SDK client without a token is refused as well; the server saw none of it.
    const transport = new StreamableHTTPClientTransport(notesUrl(world), { fetch: bearerTlsFetch(world) });
    await expect(new Client({ name: 'agent', version: '1.0.0' }).connect(transport)).rejects.toBeInstanceOf(StreamableHTTPError);
    expect(upstream.requestHeaders.length).toBe(seen);
  });

  it('serves no metadata for an upstream it does not have, and only to GET', async () => {
    const fetch = bearerTlsFetch(world);
    const base = `https://127.0.0.1:${world.gateway.tokenAddress!.port}/.well-known/oauth-protected-resource`;
    expect((await fetch(`${base}/mcp/elsewhere`)).status).toBe(404);
    expect((await fetch(`${base}/mcp/notes`, { method: 'POST' })).status).toBe(405);
  });

  it('answers an invalid, an expired or a foreign-audience token 401 error="invalid_token", a malformed header error="invalid_request"', async () => {
    const seen = upstream.requestHeaders.length;
    const good = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]);
    const tampered = `${good.slice(0, -4)}AAAA`;
    const expired = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID], { ttlMs: -120_000 });
    const elsewhere = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, ['spiffe://example.org/some-other-service']);
    for (const token of [tampered, expired, elsewhere, 'not-a-jwt']) {
      const res = await postInitialize({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer resource_metadata="https:\/\/[^"]+\/\.well-known\/oauth-protected-resource\/mcp\/notes", error="invalid_token"$/,
      );
    }
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', listener: 'token' });
    expect(world.decisions.lines.some((l) => l.code === 'ERR_TOKEN_EXPIRED')).toBe(true);
    const malformed = await postInitialize({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get('www-authenticate')).toMatch(/, error="invalid_request"$/);
    expect(upstream.requestHeaders.length).toBe(seen);
  });

  it('refuses a session opened by one bearer caller to another (404, nothing relayed), and keeps it for its owner', async () => {
    const { client, transport } = await bearerClient(await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]));
    try {
      const sessionId = transport.sessionId!;
      expect(sessionId).toEqual(expect.any(String));
      const seen = upstream.requestHeaders.length;
      const other = await world.spiffe.provider.mintJwtSvid(STRANGER, [GATEWAY_ID]);
      const res = await bearerTlsFetch(world)(notesUrl(world), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${other}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
      // (The SDK client's own GET stream may reach the server meanwhile: look for the list only.)
      expect(upstream.requestHeaders.slice(seen).filter((h) => h['mcp-method'] === 'tools/list')).toEqual([]);
      // Its owner goes on using it.
      expect((await client.listTools()).tools.length).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('serves an OIDC workload token caller over HTTP/2 too', async () => {
    const token = await k8s.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const session = connect(`https://127.0.0.1:${world.gateway.tokenAddress!.port}`, { ca: pem, checkServerIdentity: () => undefined });
    try {
      const post = (headers: Record<string, string>) =>
        new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
          const stream = session.request({
            [constants.HTTP2_HEADER_METHOD]: 'POST',
            [constants.HTTP2_HEADER_PATH]: '/mcp/notes',
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          });
          stream.once('response', (h) => {
            stream.resume();
            resolve({ status: Number(h[':status']), headers: h });
          });
          stream.once('error', reject);
          stream.end(INITIALIZE);
        });
      const unauthenticated = await post({});
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers['www-authenticate']).toMatch(/^Bearer resource_metadata="https:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp\/notes"$/);
      const opened = await post({ authorization: `Bearer ${token}` });
      expect(opened.status).toBe(200);
      const sessionId = String(opened.headers['mcp-session-id']);
      expect(sessionId).not.toBe('undefined');
      // Bound to the OIDC caller: a JWT-SVID caller presenting it is refused.
      const other = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]);
      expect((await post({ authorization: `Bearer ${other}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' })).status).toBe(404);
    } finally {
      session.close();
    }
  });
});
