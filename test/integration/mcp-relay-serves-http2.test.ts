import * as http2 from 'node:http2';
import { POLICY_DENIED } from '../../src/mcp/mcp-relay';
import { RESEARCH_BOT, startMcpWorld, TEST_CALLER_HEADER, type McpWorld } from './support/mcp-world';

/** The relay behind node:http2's compatibility API, as the gateway's h2 listener will serve it, to a raw HTTP/2 MCP client. */
describe('the MCP relay over HTTP/2', () => {
  let world: McpWorld;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    world = await startMcpWorld({ http2: true });
    session = http2.connect(new URL(world.relayUrl).origin);
  });
  afterAll(async () => {
    session.close();
    await world.close();
  });

  /** POSTs `message` and returns the status, the session id and the JSON-RPC messages of the answer (JSON or SSE). */
  function post(message: object, headers: Record<string, string> = {}): Promise<{ status: number; sessionId: string | undefined; messages: unknown[] }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': new URL(world.relayUrl).pathname,
        [TEST_CALLER_HEADER]: RESEARCH_BOT,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      });
      let head: http2.IncomingHttpHeaders = {};
      let text = '';
      stream.on('response', (h) => (head = h));
      stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      stream.on('error', reject);
      stream.on('end', () => {
        const sse = String(head['content-type']).startsWith('text/event-stream');
        const messages = sse
          ? text
              .split('\n')
              .filter((l) => l.startsWith('data: ') && l.length > 6)
              .map((l) => JSON.parse(l.slice(6)) as unknown)
          : text === ''
            ? []
            : [JSON.parse(text) as unknown];
        resolve({ status: Number(head[':status']), sessionId: head['mcp-session-id'] as string | undefined, messages });
      });
      stream.end(JSON.stringify(message));
    });
  }

  it('initializes, relays a permitted call and denies one on its arguments', async () => {
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'h2', version: '1' } } });
    expect(init.status).toBe(200);
    expect(init.messages).toMatchObject([{ id: 1, result: { protocolVersion: '2025-06-18', serverInfo: { name: 'files' } } }]);
    const headers = { 'mcp-session-id': init.sessionId!, 'mcp-protocol-version': '2025-06-18' };
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);

    const allowed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/public/a' } } }, headers);
    expect(allowed.messages).toMatchObject([{ id: 2, result: { content: [{ text: 'contents of /public/a' }] } }]);

    const before = world.counts.http;
    const denied = await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/secrets/k' } } }, headers);
    expect(denied).toMatchObject({ status: 200, messages: [{ id: 3, error: { code: POLICY_DENIED, data: { decisionId: expect.any(String) } } }] });
    expect(world.counts.http).toBe(before);
  });
});
