import * as http from 'node:http';
import { HEADER_MISMATCH } from '../../src/mcp/mirrored-headers';
import { POLICY_DENIED } from '../../src/mcp/mcp-relay';
import { rawPost, RESEARCH_BOT, startMcpWorld, TEST_CALLER_HEADER, type McpWorld } from './support/mcp-world';

/**
 * Input an SDK client would never send, sent raw into a session an SDK client opened: each
 * gets a clear refusal, and nothing reaches the MCP server (counted by the server itself).
 */
describe('the MCP relay refuses bad input before it reaches the server', () => {
  let world: McpWorld;
  /** Session headers of an SDK client's session at 2025-03-26 (the version with batches) and at 2025-06-18. */
  let batchSession: Record<string, string>;
  let session: Record<string, string>;

  beforeAll(async () => {
    world = await startMcpWorld();
    const old = await world.connect(RESEARCH_BOT, '2025-03-26');
    batchSession = { 'mcp-session-id': old.transport.sessionId!, 'mcp-protocol-version': '2025-03-26' };
    const current = await world.connect(RESEARCH_BOT, '2025-06-18');
    session = { 'mcp-session-id': current.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' };
  });
  afterAll(() => world.close());

  /** Sends `body`, expects `status` and an error with `message` in it, and that the server saw nothing. */
  async function refused(body: string | Uint8Array, status: number, message: string, headers: Record<string, string> = session): Promise<unknown> {
    const before = world.counts.http;
    const answer = await rawPost(world, RESEARCH_BOT, body, headers);
    expect({ status: answer.status, text: answer.text }).toEqual({ status, text: expect.stringContaining(message) });
    expect(world.counts.http).toBe(before);
    return answer.json;
  }

  const call = (id: number, name: string, args: object): object => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

  it('malformed JSON', async () => {
    expect(await refused('{"jsonrpc":"2.0","id":1,"method":"tools/list"', 400, 'Parse error: unexpected end of the body')).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700 },
    });
  });

  it('a body over the size limit', async () => {
    const big = JSON.stringify(call(1, 'write_file', { path: '/public/x', text: 'x'.repeat(70 * 1024) }));
    await refused(big, 413, 'Payload Too Large: the request body is over the limit of 65536 bytes');
  });

  it('a body over the size limit that never ends: answered 413, the rest discarded unbuffered, and the request cut after a bounded time', async () => {
    const before = world.counts.http;
    const { status, closed } = await new Promise<{ status: number; closed: Promise<void> }>((resolve, reject) => {
      const req = http.request(world.relayUrl, {
        method: 'POST',
        headers: { [TEST_CALLER_HEADER]: RESEARCH_BOT, 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...session },
      });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const feed = setInterval(() => req.write(chunk), 5);
      const closed = new Promise<void>((done) => req.once('close', () => (clearInterval(feed), done())));
      req.on('error', () => {});
      req.once('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, closed });
      });
      req.once('error', reject);
      req.write('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"');
    });
    expect(status).toBe(413);
    // Cut about 5 s after the answer; the bound here is generous for a loaded machine.
    await closed;
    expect(world.counts.http).toBe(before);
  }, 60_000);

  it('a duplicate key, which JSON.parse would resolve to the last value', async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/public/a","path":"/secrets/key"}}}';
    await refused(body, 400, 'duplicate key \\"path\\" in $.params.arguments');
  });

  it('an id or argument beyond 2^53, a lone surrogate, bad UTF-8, a BOM, trailing data, a __proto__ key', async () => {
    await refused('{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/list"}', 400, 'beyond ±(2^53 − 1)');
    await refused(JSON.stringify(call(1, 'read_file', { path: '/public/a' })).replace('/public/a', '\\ud800/a'), 400, 'lone surrogate');
    await refused(Uint8Array.from([...Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"'), 0xff, ...Buffer.from('"}}')]), 400, 'not valid UTF-8');
    await refused(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')]), 400, 'byte order mark');
    await refused('{"jsonrpc":"2.0","id":1,"method":"tools/list"} {"jsonrpc":"2.0","id":2,"method":"tools/call"}', 400, 'unexpected data after the JSON value');
    await refused(JSON.stringify(call(1, 'read_file', {})).replace('"arguments":{}', '"arguments":{"__proto__":{"path":"/secrets/key"}}'), 400, 'a key \\"__proto__');
  });

  it('a message that is not JSON-RPC 2.0 as MCP uses it', async () => {
    await refused('{"jsonrpc":"1.0","id":1,"method":"tools/list"}', 400, 'jsonrpc must be \\"2.0\\"');
    await refused('{"jsonrpc":"2.0","id":1,"method":"tools/list","extra":1}', 400, 'a member JSON-RPC does not define here');
    await refused('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["read_file"]}', 400, 'params must be an object');
    await refused('{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}', 400, 'id must be a string or an integer');
  });

  it('an unknown method, answered "Method not found"', async () => {
    expect(await refused('{"jsonrpc":"2.0","id":7,"method":"admin/shutdown"}', 200, 'Method not found')).toMatchObject({ id: 7, error: { code: -32601 } });
    await refused('{"jsonrpc":"2.0","method":"notifications/admin"}', 400, 'Method not found');
  });

  it('a header naming one tool over a body calling another', async () => {
    const body = JSON.stringify(call(1, 'delete_all', {}));
    const answer = await refused(body, 400, 'Header mismatch: the Mcp-Name header does not name', { ...session, 'mcp-method': 'tools/call', 'mcp-name': 'read_file' });
    expect(answer).toMatchObject({ error: { code: HEADER_MISMATCH } });
    await refused(JSON.stringify(call(1, 'read_file', { path: '/public/a' })), 400, 'Mcp-Method header does not name', { ...session, 'mcp-method': 'tools/list' });
  });

  it('an unknown protocol version, and a body that is not JSON', async () => {
    await refused('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', 400, 'unsupported MCP-Protocol-Version', { ...session, 'mcp-protocol-version': '2099-01-01' });
    await refused('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', 415, 'Content-Type must be application/json', { ...session, 'content-type': 'text/plain' });
  });

  it('a batch under a protocol version without batches, however the header is spelled', async () => {
    const batch = JSON.stringify([call(1, 'read_file', { path: '/public/a' }), call(2, 'read_file', { path: '/public/b' })]);
    await refused(batch, 400, 'protocol version 2025-06-18 has no batches');
    // Without the header, the session's negotiated version holds; a header naming another is refused.
    await refused(batch, 400, 'protocol version 2025-06-18 has no batches', { 'mcp-session-id': session['mcp-session-id']! });
    await refused(batch, 400, 'MCP-Protocol-Version 2025-03-26 is not the version negotiated for this session (2025-06-18)', { ...session, 'mcp-protocol-version': '2025-03-26' });
  });

  it('a 2025-03-26 batch mixing allowed and denied calls: decided element by element, all refused', async () => {
    const batch = JSON.stringify([
      call(1, 'read_file', { path: '/public/a' }),
      call(2, 'read_file', { path: '/secrets/key' }),
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
    ]);
    const decided = world.decisions.length;
    const answers = (await refused(batch, 200, 'Denied by policy', batchSession)) as { id: number; error: { code: number; message: string; data?: { decisionId: string } } }[];
    const [allowed, denied] = world.decisions.slice(decided);
    expect(allowed).toMatchObject({ allow: true });
    expect(denied).toMatchObject({ allow: false });
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: POLICY_DENIED, message: 'Not relayed: another message of this batch was refused' } },
      { jsonrpc: '2.0', id: 2, error: { code: POLICY_DENIED, message: `Denied by policy (decision ${denied!.decisionId})`, data: { decisionId: denied!.decisionId } } },
    ]);
  });

  it('relays a 2025-03-26 batch of allowed calls, each decided', async () => {
    const before = world.counts.tools.read_file ?? 0;
    const answer = await rawPost(world, RESEARCH_BOT, JSON.stringify([call(1, 'read_file', { path: '/public/a' }), call(2, 'read_file', { path: '/public/b' })]), batchSession);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('contents of /public/a');
    expect(answer.text).toContain('contents of /public/b');
    expect(world.counts.tools.read_file).toBe(before + 2);
  });

  it("relays the canonical text of what was decided, never the caller's bytes", async () => {
    const body = '{ "jsonrpc" : "2.0", "id" : 5 , "method":"tools/call","params":{"name":"read\\u005ffile","arguments":{"path":"\\/public\\/a","n":1.0}}}';
    const answer = await rawPost(world, RESEARCH_BOT, body, session);
    expect(answer.status).toBe(200);
    expect(world.counts.bodies.at(-1)).toBe('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/public/a","n":1}}}');
  });
});
