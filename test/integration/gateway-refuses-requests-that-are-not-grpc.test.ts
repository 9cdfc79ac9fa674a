import type { ClientHttp2Session } from 'node:http2';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { grpcFrame, rawCall, rawSession } from './support/raw-h2';
import { waitUntil } from './support/workload-fixtures';

/** ReadFileRequest { path: "/a" }. */
const READ_A = grpcFrame(Buffer.from([0x0a, 2, ...Buffer.from('/a')]));
const READ = '/tools.files.v1.Files/ReadFile';

describe('a request whose content-type is not gRPC is refused by the gateway (HTTP 415), with a decision record', () => {
  let world: GatewayWorld;
  let session: ClientHttp2Session;

  beforeAll(async () => {
    // The tool records each call it verifies: what the gateway relayed.
    world = await GatewayWorld.start({ verifyCallTokens: true });
    world.files.set('/a', Buffer.from('a'));
    session = await rawSession(world, RESEARCH_BOT);
  });
  afterAll(async () => {
    session?.close();
    await world?.close();
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }, '"text/plain"'],
    ['gRPC-Web', { 'content-type': 'application/grpc-web' }, '"application/grpc-web"'],
    ['JSON', { 'content-type': 'application/json' }, '"application/json"'],
  ])('%s: 415 Unsupported Media Type, INVALID_ARGUMENT with only a decision id, and nothing relayed', async (_, headers, shown) => {
    const before = world.decisions.lines.length;
    const relayed = world.verifiedCalls.length;
    const outcome = await rawCall(session, READ, READ_A, headers);
    expect(outcome.headers[':status']).toBe(415);
    expect(outcome.status).toBe(3);
    const id = /^invalid argument \(decision (\S+)\)$/.exec(outcome.message)?.[1];
    expect([outcome.message, id]).toEqual([outcome.message, expect.any(String)]);
    const records = world.decisions.lines.slice(before);
    expect(records).toEqual([
      expect.objectContaining({
        decisionId: id,
        decision: 'deny',
        status: 3,
        caller: RESEARCH_BOT,
        action: 'tools.files.v1.Files/ReadFile',
        reason: `content-type ${shown} is not application/grpc`,
      }),
    ]);
    expect(world.verifiedCalls.length).toBe(relayed);
  });

  it('no content-type at all: refused the same way', async () => {
    const relayed = world.verifiedCalls.length;
    const recorded = world.decisions.lines.length;
    const stream = session.request({ ':method': 'POST', ':path': READ, te: 'trailers' });
    const response = await new Promise<Record<string, unknown>>((resolve, reject) => {
      stream.on('response', resolve);
      stream.on('error', reject);
      stream.end(READ_A);
    });
    stream.resume();
    expect(response[':status']).toBe(415);
    expect(response['grpc-status']).toBe('3');
    await waitUntil(() => world.decisions.lines.length > recorded);
    expect(world.decisions.lines.slice(recorded)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'content-type null is not application/grpc' })]);
    expect(world.verifiedCalls.length).toBe(relayed);
  });

  it.each(['application/grpc', 'application/grpc+proto', 'application/grpc; charset=utf-8'])('%s: relayed as before', async (contentType) => {
    const relayed = world.verifiedCalls.length;
    const outcome = await rawCall(session, READ, READ_A, { 'content-type': contentType });
    expect([outcome.headers[':status'], outcome.status]).toEqual([200, 0]);
    expect(world.verifiedCalls.length).toBe(relayed + 1);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'allow', action: 'tools.files.v1.Files/ReadFile' });
  });
});
