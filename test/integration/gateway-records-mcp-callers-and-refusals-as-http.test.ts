import * as https from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GATEWAY_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { bearerTlsFetch, mcpClient, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

/** The SPIFFE ID an OIDC token of the k8s issuer with this `sub` proves (`spiffe://<trustDomain>/<sub>`, colons as slashes). */
const K8S_AGENT = 'spiffe://k8s.example/system/serviceaccount/tools/agent';

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('not refused');
}

describe('MCP records: refusals carry the HTTP status the caller got, and callers are named as gRPC records name them', () => {
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

  const tokenUrl = () => new URL(`https://127.0.0.1:${world.gateway.tokenAddress!.port}/mcp/notes`);

  async function bearerClient(token: string, headers: Record<string, string> = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(tokenUrl(), { fetch: bearerTlsFetch(world), requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  }

  it("records the token listener's 401 as an MCP refusal with httpStatus, not a gRPC status", async () => {
    const res = await bearerTlsFetch(world)(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const { error } = (await res.json()) as { error: { data: { decisionId: string } } };
    const record = world.decisions.lines.at(-1)!;
    expect(record).toMatchObject({ decisionId: error.data.decisionId, protocol: 'mcp', decision: 'deny', httpStatus: 401, listener: 'token', code: 'ERR_TOKEN_MISSING' });
    expect(record.status).toBeUndefined();
  });

  it("records the token listener's 400 for a Host it will not name the resource by, and tells the caller the decision id", async () => {
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(tokenUrl(), {
        method: 'POST',
        headers: { host: 'a b', 'content-type': 'application/json' },
        ca: `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`,
        checkServerIdentity: () => undefined,
        ...{ ALPNProtocols: ['http/1.1'] },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.end('{}');
    });
    expect(answer.status).toBe(400);
    const { error } = JSON.parse(answer.body) as { error: { data: { decisionId: string } } };
    expect(world.decisions.lines.at(-1)).toMatchObject({ decisionId: error.data.decisionId, protocol: 'mcp', decision: 'deny', httpStatus: 400, listener: 'token' });
  });

  it('records a refusal of the mTLS routes with its HTTP status', async () => {
    const refused = await failureOf(mcpClient(world, RESEARCH_BOT, { 'x-toolgate-on-behalf-of': 'no-issuer-is-configured' }));
    expect((refused as { code?: number }).code).toBe(403);
    expect(world.decisions.lines.at(-1)).toMatchObject({
      protocol: 'mcp',
      caller: RESEARCH_BOT,
      decision: 'deny',
      httpStatus: 403,
      reason: expect.stringMatching(/^on-behalf-of/),
    });
  });

  it('names an OIDC caller by the SPIFFE ID its token proved in every MCP record, as gRPC records do (never iss#sub)', async () => {
    const oidc = await k8s.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });
    // A refusal by the call guard: a task token that is no task token.
    const { client } = await bearerClient(oidc, { 'x-toolgate-task': 'not-a-task-token' });
    try {
      const refused = await failureOf(client.callTool({ name: 'read_note', arguments: { path: '/public/a' } }));
      expect(refused).toBeInstanceOf(McpError);
      expect(world.decisions.lines.at(-1)).toMatchObject({ protocol: 'mcp', caller: K8S_AGENT, action: 'mcp:notes/tools/call/read_note', decision: 'deny' });
    } finally {
      await client.close();
    }
    // A refusal by the relay: another caller's session.
    const { client: owner, transport } = await bearerClient(await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]));
    try {
      const res = await bearerTlsFetch(world)(tokenUrl(), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${oidc}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': transport.sessionId!,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
      const record = world.decisions.lines.filter((l) => l.protocol === 'mcp' && String(l.reason).startsWith('foreign-session')).at(-1);
      expect(record).toMatchObject({ caller: K8S_AGENT, decision: 'deny', httpStatus: 404 });
    } finally {
      await owner.close();
    }
    for (const line of world.decisions.lines) expect(String(line.caller ?? '')).not.toContain('#');
  });
});
