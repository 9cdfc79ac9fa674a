import * as tls from 'node:tls';
import type { FetchLike } from '../../src/server/mtls-fetch';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import { CI_BUILDER, GATEWAY_ID, type GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { bearerTlsFetch, mtlsFetch, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

/**
 * Issue 12, "Done when": bad input gets a clear refusal and reaches nothing, through the
 * gateway (not the relay alone), on both listeners: malformed JSON, a body over the size
 * limit, a batch mixing allowed and denied calls, another caller's session id (POST, the GET
 * stream and DELETE), a header naming one tool over a body calling another, an unknown
 * method; and what an attacker would try on the HTTP layer (Content-Length with
 * Transfer-Encoding, two Content-Lengths, two session ids, a protocol version other than the
 * session's). The server counts every request it receives; raw sessions (no SDK client
 * opening its own GET stream) keep that count exact.
 */

const LIMIT = 65536;
const INITIALIZE = (version: string): string =>
  JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
const call = (id: number, name: string, args: object): object => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

interface Listener {
  readonly url: string;
  readonly port: number;
  /** A fetch as `id`, and the headers that authenticate it (none on mTLS: the certificate does). */
  as(id: string): Promise<{ fetch: FetchLike; auth: Record<string, string>; tls: tls.ConnectionOptions }>;
}

describe.each(['mTLS', 'token'] as const)('the gateway refuses bad MCP input on its %s listener, and nothing reaches the server', (kind) => {
  let upstream: McpUpstream;
  let world: GatewayWorld;
  let listener: Listener;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    world = await startMcpGatewayWorld(upstream, { extraConfig: `workloadTokens:\n  listen: 127.0.0.1:0\nlimits:\n  maxMessageBytes: ${LIMIT}\n` });
    const port = kind === 'mTLS' ? world.gateway.address.port : world.gateway.tokenAddress!.port;
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    listener = {
      url: `https://127.0.0.1:${port}/mcp/notes`,
      port,
      as: async (id) => {
        if (kind === 'mTLS') {
          const source = await world.spiffe.workload(id);
          return { fetch: await mtlsFetch(world, id), auth: {} as Record<string, string>, tls: mtlsClientOptions(source, authorizeId(GATEWAY_ID), ['http/1.1'])() };
        }
        const token = await world.spiffe.provider.mintJwtSvid(id, [GATEWAY_ID]);
        const checkServerIdentity = (_host: string, cert: tls.PeerCertificate): Error | undefined =>
          cert.subjectaltname?.split(', ').includes(`URI:${GATEWAY_ID}`) ? undefined : new Error('not the gateway');
        return { fetch: bearerTlsFetch(world), auth: { authorization: `Bearer ${token}` }, tls: { ca: pem, checkServerIdentity, ALPNProtocols: ['http/1.1'] } };
      },
    };
  });

  afterAll(async () => {
    await world?.close();
    await upstream?.close();
  });

  /** A POST as `id`; the answer's status, headers and text. */
  async function post(id: string, body: string, headers: Record<string, string> = {}, method = 'POST'): Promise<{ status: number; headers: Headers; text: string }> {
    const { fetch, auth } = await listener.as(id);
    const response = await fetch(listener.url, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth, ...headers },
      ...(method === 'POST' && { body }),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** A session opened by `id` at `version` (initialize, then initialized), as raw requests: its headers. */
  async function openSession(id: string, version: string): Promise<Record<string, string>> {
    const opened = await post(id, INITIALIZE(version));
    expect(opened.status).toBe(200);
    const session = { 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': version };
    expect(session['mcp-session-id']).toEqual(expect.any(String));
    expect((await post(id, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), session)).status).toBe(202);
    return session;
  }

  /** Runs `send`, expects nothing of it to reach the server, and returns its answer. */
  async function reachingNothing<T>(send: () => Promise<T>): Promise<T> {
    const before = upstream.requestHeaders.length;
    const answer = await send();
    expect(upstream.requestHeaders.length).toBe(before);
    return answer;
  }

  /** Raw HTTP/1.1 bytes over TLS as `id`; the whole answer, the connection closed by either side. */
  async function rawHttp(id: string, head: (auth: string) => string, body: string): Promise<string> {
    const { tls: options, auth } = await listener.as(id);
    const authLine = auth.authorization === undefined ? '' : `authorization: ${auth.authorization}\r\n`;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: listener.port, ...options }, () => socket.write(head(authLine) + body));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', (err) => (text === '' ? reject(err) : resolve(text)));
    });
  }

  it('malformed JSON: 400, -32700', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const answer = await reachingNothing(() => post(RESEARCH_BOT, '{"jsonrpc":"2.0","id":1,"method":"tools/list"', session));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ id: null, error: { code: -32700, message: expect.stringContaining('Parse error') } });
  });

  it('a body over limits.maxMessageBytes: 413, the rest discarded', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const big = JSON.stringify(call(1, 'read_note', { path: `/public/${'x'.repeat(LIMIT)}` }));
    const answer = await reachingNothing(() => post(RESEARCH_BOT, big, session));
    expect(answer.status).toBe(413);
    expect(answer.text).toContain(`over the limit of ${LIMIT} bytes`);
  });

  it('a 2025-03-26 batch mixing an allowed and a denied call: each decided, none relayed', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-03-26');
    const decided = world.decisions.lines.length;
    const batch = JSON.stringify([call(1, 'read_note', { path: '/public/a' }), call(2, 'read_note', { path: '/secrets/key' })]);
    const answer = await reachingNothing(() => post(RESEARCH_BOT, batch, session));
    const records = world.decisions.lines.slice(decided);
    expect(records.map((r) => [r.action, r.decision])).toEqual([
      ['mcp:notes/tools/call/read_note', 'allow'],
      ['mcp:notes/tools/call/read_note', 'deny'],
    ]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32003, message: 'Not relayed: another message of this batch was refused' } },
      { jsonrpc: '2.0', id: 2, error: { code: -32003, message: `Denied by policy (decision ${String(records[1]!.decisionId)})`, data: { decisionId: records[1]!.decisionId } } },
    ]);
    expect(upstream.toolRuns.read_note ?? 0).toBe(0);
  });

  it("another caller's session id: POST, the GET stream and DELETE are each 404, and the owner keeps the session", async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    for (const method of ['POST', 'GET', 'DELETE']) {
      const answer = await reachingNothing(() => post(CI_BUILDER, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session, method));
      expect([method, answer.status, JSON.parse(answer.text)]).toEqual([method, 404, expect.objectContaining({ error: expect.objectContaining({ code: -32001 }) })]);
    }
    const own = await post(RESEARCH_BOT, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), session);
    expect(own.status).toBe(200);
    expect(own.text).toContain('read_note');
  });

  it('a header naming one tool over a body calling another: 400, -32020', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const body = JSON.stringify(call(1, 'delete_all', {}));
    const answer = await reachingNothing(() => post(RESEARCH_BOT, body, { ...session, 'mcp-method': 'tools/call', 'mcp-name': 'read_note' }));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: -32020, message: expect.stringContaining('Mcp-Name') } });
  });

  it('an unknown method: -32601 Method not found', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const answer = await reachingNothing(() => post(RESEARCH_BOT, '{"jsonrpc":"2.0","id":7,"method":"admin/shutdown"}', session));
    expect(JSON.parse(answer.text)).toMatchObject({ id: 7, error: { code: -32601, message: expect.stringContaining('Method not found') } });
  });

  it("an MCP-Protocol-Version other than the session's (a batch smuggled into a 2025-06-18 session): 400", async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const batch = JSON.stringify([call(1, 'read_note', { path: '/public/a' })]);
    const answer = await reachingNothing(() => post(RESEARCH_BOT, batch, { ...session, 'mcp-protocol-version': '2025-03-26' }));
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('not the version negotiated for this session (2025-06-18)');
  });

  it('Content-Length beside Transfer-Encoding, two Content-Lengths, and two Mcp-Session-Ids are refused at the HTTP layer', async () => {
    const session = await openSession(RESEARCH_BOT, '2025-06-18');
    const foreign = await openSession(CI_BUILDER, '2025-06-18');
    const body = JSON.stringify(call(1, 'delete_all', {}));
    const head =
      (extra: string) =>
      (auth: string): string =>
        `POST /mcp/notes HTTP/1.1\r\nhost: 127.0.0.1\r\n${auth}content-type: application/json\r\naccept: application/json, text/event-stream\r\n` +
        `mcp-protocol-version: 2025-06-18\r\nconnection: close\r\n${extra}\r\n`;
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const answers = await reachingNothing(async () => [
      await rawHttp(RESEARCH_BOT, head(`mcp-session-id: ${session['mcp-session-id']}\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n`), chunked),
      await rawHttp(RESEARCH_BOT, head(`mcp-session-id: ${session['mcp-session-id']}\r\ncontent-length: ${body.length}\r\ncontent-length: 5\r\n`), body),
      await rawHttp(RESEARCH_BOT, head(`mcp-session-id: ${session['mcp-session-id']}\r\nmcp-session-id: ${foreign['mcp-session-id']}\r\ncontent-length: ${body.length}\r\n`), body),
    ]);
    expect(answers.map((a) => a.split('\r\n')[0])).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request']);
    expect(upstream.toolRuns.delete_all ?? 0).toBe(0);
  });
});
