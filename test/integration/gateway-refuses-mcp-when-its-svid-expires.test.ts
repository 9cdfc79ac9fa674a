import * as https from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { agentFetch } from '../../src/server/mtls-fetch';
import type { IssuedX509Svid } from '../../src/spiffe/dev/ca';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GATEWAY_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { mcpClient, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { nextEvent, rawSvid, sleep } from './support/workload-fixtures';

/** How long the gateway's short-lived SVID lives: time enough to set up and call before it expires. */
const TTL_MS = 6000;

const K8S_AGENT = 'spiffe://k8s.example/system/serviceaccount/tools/agent';

const POLICIES = {
  'mcp.cedar': `
@id("researchers-call-notes")
permit (principal in AgentGroup::"researchers", action in Action::"mcp:notes/tools/call", resource == Tool::"notes");

@id("oidc-workloads-call-notes")
permit (principal is Workload, action in Action::"mcp:notes/tools/call", resource == Tool::"notes")
when { context.peer.authn == "oidc" };
`,
};

/** What the Workload API sends for one gateway SVID. */
function svidResponse(world: GatewayWorld, svid: IssuedX509Svid) {
  const provider = world.spiffe.provider;
  return { svids: [rawSvid(svid, provider.x509Bundle())], federated_bundles: { 'spiffe://partner.test': provider.x509Bundle('partner.test') } };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('not refused');
}

describe('MCP fails closed while the gateway SVID is expired (the Workload API down), and recovers with a fresh one', () => {
  let upstream: McpUpstream;
  let oidc: OidcFixture;
  let world: GatewayWorld;
  let mtls: Client;
  let bearer: Client;
  let expiresAt: number;
  const toolCallsReceived = () => upstream.requestHeaders.filter((h) => h['mcp-method'] === 'tools/call').length;
  const read = (client: Client) => client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    oidc = await OidcFixture.create('https://oidc.k8s.example');
    world = await startMcpGatewayWorld(upstream, {
      policies: POLICIES,
      extraConfig: `
workloadTokens:
  listen: 127.0.0.1:0
  jwtSvid: false
  oidc:
    - { issuer: ${oidc.issuer}, audience: toolgate, jwksFile: ${oidc.jwksFile}, trustDomain: k8s.example }
`,
    });
    const token = await oidc.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });

    // The gateway gets a short-lived SVID, then loses its Workload API.
    const short = await world.spiffe.provider.issueX509(GATEWAY_ID, { notAfter: new Date(Date.now() + TTL_MS) });
    const updated = nextEvent(world.gateway.source, 'update');
    world.gatewayApi.setX509SvidResponse(svidResponse(world, short));
    await updated;
    expiresAt = world.gateway.source.getX509Svid().expiresAt.getTime();

    // SDK clients whose connections stay open (keep-alive) while the SVID is valid: over mTLS, and over the token listener.
    const tls = mtlsClientOptions(await world.spiffe.workload(RESEARCH_BOT), authorizeId(GATEWAY_ID), ['http/1.1']);
    mtls = new Client({ name: 'agent', version: '1.0.0' });
    const mtlsUrl = new URL(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`);
    await mtls.connect(new StreamableHTTPClientTransport(mtlsUrl, { fetch: agentFetch(new https.Agent({ keepAlive: true }), () => tls()) }));
    const ca = `-----BEGIN CERTIFICATE-----\n${world.spiffe.provider.x509Bundle().toString('base64')}\n-----END CERTIFICATE-----\n`;
    const bearerTls = { ca, checkServerIdentity: () => undefined, ...{ ALPNProtocols: ['http/1.1'] } };
    bearer = new Client({ name: 'agent', version: '1.0.0' });
    const tokenUrl = new URL(`https://127.0.0.1:${world.gateway.tokenAddress!.port}/mcp/notes`);
    await bearer.connect(
      new StreamableHTTPClientTransport(tokenUrl, {
        fetch: agentFetch(new https.Agent({ keepAlive: true }), () => bearerTls),
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );

    await world.gatewayApi.stop();
  });

  afterAll(async () => {
    await Promise.allSettled([mtls?.close(), bearer?.close()]);
    await world?.close();
    await upstream?.close();
    await oidc?.close();
  });

  it('while the SVID is valid, serves tool calls on both listeners with the Workload API down', async () => {
    expect((await read(mtls)).content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    expect((await read(bearer)).content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    // All of this ran before the SVID expired (on a machine too loaded for that, raise TTL_MS).
    expect(Date.now()).toBeLessThan(expiresAt);
  });

  it('past notAfter, a tool call on a connection already open is refused 503 with a decision id and a record, and nothing reaches the server', async () => {
    const wait = expiresAt - Date.now() + 50;
    if (wait > 0) await sleep(wait);
    const received = toolCallsReceived();
    for (const [client, caller] of [
      [mtls, RESEARCH_BOT],
      [bearer, K8S_AGENT],
    ] as const) {
      const refused = await failureOf(read(client));
      expect(refused).toBeInstanceOf(StreamableHTTPError);
      expect((refused as StreamableHTTPError).code).toBe(503);
      const decisionId = /"decisionId":"([^"]+)"/.exec((refused as Error).message)?.[1];
      expect(decisionId).toBeDefined();
      expect(world.decisions.byDecisionId(decisionId!)).toMatchObject({ protocol: 'mcp', caller, decision: 'deny', httpStatus: 503, reason: 'gateway SVID expired' });
    }
    expect(toolCallsReceived()).toBe(received);
  });

  it('serves MCP again once the Workload API returns with a fresh SVID, on the connections it held and on new ones', async () => {
    const wait = expiresAt - Date.now() + 50;
    if (wait > 0) await sleep(wait);
    const updated = nextEvent(world.gateway.source, 'update');
    world.gatewayApi.setX509SvidResponse(svidResponse(world, await world.spiffe.provider.issueX509(GATEWAY_ID)));
    await world.gatewayApi.restart();
    await updated;
    expect((await read(mtls)).content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    expect((await read(bearer)).content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    const fresh = await mcpClient(world, RESEARCH_BOT);
    try {
      expect((await read(fresh)).content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
    } finally {
      await fresh.close();
    }
  });
});
