import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { rawPost, RESEARCH_BOT, startMcpWorld, type McpWorld } from './support/mcp-world';

/**
 * Policy decides `resources/read` on `context.request.uri`, a string; the SDK server reads
 * `new URL(uri)` (WHATWG: dot segments resolved, scheme lowercased, `localhost` dropped from
 * file URLs, backslashes and stray spaces fixed), and so does a server on the Rust `url`
 * crate. A URI whose normalized form differs from its text would be decided as one resource
 * and read as another: `file:///public/../secrets/key` passes `forbid … like
 * "file:///secrets/*"` and the server reads `file:///secrets/key`. The relay refuses such a
 * URI (it asks for the normalized form), and relays only URIs that are their own normal form.
 */
describe('resources are decided on the URI the server will read', () => {
  let world: McpWorld;
  beforeAll(async () => {
    world = await startMcpWorld();
  });
  afterAll(() => world.close());

  it.each([
    'file:///public/../secrets/key',
    'file:///public/%2e%2e/secrets/key',
    'FILE:///secrets/key',
    'file://localhost/secrets/key',
    'file:/secrets/key',
    'file:\\\\\\secrets\\key',
    ' file:///secrets/key',
  ])('refuses %j, which the server would read as file:///secrets/key, and relays nothing', async (uri) => {
    const { client } = await world.connect(RESEARCH_BOT, '2025-06-18');
    const before = world.counts.http;
    const refused: unknown = await client.readResource({ uri }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(McpError);
    expect(refused).toMatchObject({ code: -32602, message: expect.stringContaining('file:///secrets/key') });
    expect(world.counts.http).toBe(before);
  });

  it('refuses a URI that does not parse, and a subscribe alike', async () => {
    const { transport } = await world.connect(RESEARCH_BOT, '2025-06-18');
    const session = { 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' };
    const before = world.counts.http;
    const notAUri = await rawPost(world, RESEARCH_BOT, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'secrets/key' } }), session);
    expect(notAUri.json).toMatchObject({ id: 1, error: { code: -32602 } });
    const subscribe = await rawPost(
      world,
      RESEARCH_BOT,
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'file:///public/../secrets/key' } }),
      session,
    );
    expect(subscribe.json).toMatchObject({ id: 2, error: { code: -32602 } });
    expect(world.counts.http).toBe(before);
  });

  it('relays a URI in its normal form, of any scheme, and still denies the forbidden one', async () => {
    const { client } = await world.connect(RESEARCH_BOT, '2025-06-18');
    await expect(client.readResource({ uri: 'file:///public/readme' })).resolves.toMatchObject({ contents: [{ text: 'hello' }] });
    await expect(client.readResource({ uri: 'file:///secrets/key' })).rejects.toMatchObject({ code: -32003 });
    // Another scheme in its normal form reaches the server (which has no such resource).
    await expect(client.readResource({ uri: 'notes://team/a' })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('not found') });
  });
});
