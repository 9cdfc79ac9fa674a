import { rawPost, RESEARCH_BOT, startMcpWorld, type McpWorld } from './support/mcp-world';

/** The MCP server sees the gateway's credentials and headers, never the caller's own. */
describe('the MCP relay sends only its own identity headers upstream', () => {
  let world: McpWorld;
  beforeAll(async () => {
    world = await startMcpWorld();
  });
  afterAll(() => world.close());

  it("drops the caller's authorization, cookies and forwarding headers, and writes the mirrored ones from the body", async () => {
    const { transport } = await world.connect(RESEARCH_BOT, '2025-06-18');
    const answer = await rawPost(
      world,
      RESEARCH_BOT,
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/public/a' } } }),
      {
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
        authorization: 'Bearer the-callers-own-token',
        cookie: 'session=abc',
        'x-forwarded-for': '10.0.0.1',
        'x-toolgate-decision-id': 'forged',
        'mcp-method': 'tools/call',
        'mcp-name': 'read_file',
      },
    );
    expect(answer.status).toBe(200);
    const seen = world.counts.headers.at(-1)!;
    const decision = world.decisions.at(-1)!;
    expect(seen).toMatchObject({
      authorization: `Bearer gateway-token-for-${RESEARCH_BOT}`,
      'x-toolgate-decision-id': decision.decisionId,
      'mcp-method': 'tools/call',
      'mcp-name': 'read_file',
      'mcp-session-id': transport.sessionId,
    });
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-forwarded-for']).toBeUndefined();
    expect(seen['x-test-caller']).toBeUndefined();
  });
});
