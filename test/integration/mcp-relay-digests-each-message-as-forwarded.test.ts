import { createHash } from 'node:crypto';
import { rawPost, RESEARCH_BOT, startMcpWorld, type McpWorld } from './support/mcp-world';

/**
 * The relay hands `decide` each message's digest (`requestDigest`, for its decision record):
 * SHA-256 of the message's text exactly as the MCP server receives it, never of the caller's
 * bytes; in a batch, of each element's own text within the forwarded array.
 */
describe('the MCP relay digests each decided message as it forwards it', () => {
  let world: McpWorld;
  let session: Record<string, string>;
  let batchSession: Record<string, string>;

  beforeAll(async () => {
    world = await startMcpWorld();
    const current = await world.connect(RESEARCH_BOT, '2025-06-18');
    session = { 'mcp-session-id': current.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' };
    const old = await world.connect(RESEARCH_BOT, '2025-03-26');
    batchSession = { 'mcp-session-id': old.transport.sessionId!, 'mcp-protocol-version': '2025-03-26' };
  });
  afterAll(() => world.close());

  const sha256 = (text: string) => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
  const call = (id: number, path: string): object => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read_file', arguments: { path } } });

  it('one message: the digest of the body the server received, not of what the caller sent', async () => {
    const sent = '{ "jsonrpc" : "2.0", "id" : 5 , "method":"tools/call","params":{"name":"read\\u005ffile","arguments":{"path":"\\/public\\/é","n":1.0}}}';
    expect((await rawPost(world, RESEARCH_BOT, sent, session)).status).toBe(200);
    const received = world.counts.bodies.at(-1)!;
    expect(world.decisions.at(-1)).toMatchObject({ allow: true, requestDigest: sha256(received) });
    expect(world.decisions.at(-1)!.requestDigest).not.toBe(sha256(sent));
  });

  it('a batch: each decision has the digest of its own element, as it appears in the forwarded array', async () => {
    const before = world.decisions.length;
    expect((await rawPost(world, RESEARCH_BOT, JSON.stringify([call(1, '/public/a'), call(2, '/public/b')]), batchSession)).status).toBe(200);
    const received = world.counts.bodies.at(-1)!;
    const elements = (JSON.parse(received) as unknown[]).map((e) => JSON.stringify(e));
    expect(received).toBe(`[${elements.join(',')}]`);
    expect(world.decisions.slice(before).map((d) => d.requestDigest)).toEqual(elements.map(sha256));
  });
});
