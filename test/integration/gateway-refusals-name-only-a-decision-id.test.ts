import * as grpc from '@grpc/grpc-js';
import type { ClientHttp2Session } from 'node:http2';
import { raw, startEchoWorld, type EchoObservations } from './support/echo-service';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { grpcFrame, rawCall, rawSession } from './support/raw-h2';

/** What a caller may read when the gateway ends a call itself: the status in words and a decision id, nothing else. */
const GENERIC = /^[a-z ]+ \(decision (\S+)\)$/;

const LIMIT = 'limits:\n  maxMessageBytes: 65536\n';

describe('a call the gateway ends itself tells the caller a status and a decision id; the reason is in the decision log', () => {
  // The echo service has no protos: one decision per call, on its headers.
  let world: GatewayWorld;
  let echo: grpc.Client;
  let seen: EchoObservations;
  let session: ClientHttp2Session;
  // Files with its protos: each request message is decided on its own.
  let filesWorld: GatewayWorld;
  let files: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let filesSession: ClientHttp2Session;

  beforeAll(async () => {
    ({ world, echo, seen } = await startEchoWorld(`${LIMIT}workloadTokens:\n  listen: 127.0.0.1:0\n`));
    session = await rawSession(world, RESEARCH_BOT);
    filesWorld = await GatewayWorld.start({ protos: true, extraConfig: LIMIT });
    files = await filesWorld.agent(RESEARCH_BOT);
    filesSession = await rawSession(filesWorld, RESEARCH_BOT);
  });
  afterAll(async () => {
    session?.close();
    filesSession?.close();
    await world?.close();
    await filesWorld?.close();
  });

  /** The decision id in a caller's message, checked to be all the message says besides the status; and its log lines. */
  function decisionOf(message: string, inWorld = world): Array<Record<string, unknown>> {
    const id = GENERIC.exec(message)?.[1];
    expect([message, id]).toEqual([message, expect.any(String)]);
    return inWorld.decisions.lines.filter((line) => line.decisionId === id);
  }

  it('a request message over limits.maxMessageBytes, on a call decided on its headers', async () => {
    const call = echo.makeBidiStreamRequest('/test.v1.Echo/Stream', raw, raw);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', () => {});
    call.on('error', () => {});
    call.write(Buffer.alloc(70_012, 7));
    const s = await status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details).not.toMatch(/bytes|limit/);
    expect(decisionOf(s.details)).toContainEqual(
      expect.objectContaining({ decision: 'deny', action: 'test.v1.Echo/Stream', reason: 'message of 70012 bytes exceeds the limit of 65536' }),
    );
  });

  it('a request message over limits.maxMessageBytes, on a method whose messages are decided one by one', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => files.readFile({ path: 'x'.repeat(70_000) }, (e: grpc.ServiceError) => resolve(e)));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(decisionOf(err.details, filesWorld)).toContainEqual(
      expect.objectContaining({ decision: 'deny', action: 'tools.files.v1.Files/ReadFile', reason: expect.stringMatching(/exceeds the limit of 65536$/) }),
    );
  });

  it('a request stream that ends inside a message, on a call decided on its headers', async () => {
    const before = seen.metadata.length;
    const outcome = await rawCall(session, '/test.v1.Echo/Unary', cutShort());
    expect(outcome.status).toBe(grpc.status.INTERNAL);
    expect(outcome.message).not.toMatch(/truncated|inside/);
    expect(decisionOf(outcome.message)).toContainEqual(
      expect.objectContaining({ decision: 'deny', action: 'test.v1.Echo/Unary', reason: 'request stream ended inside a message' }),
    );
    expect(seen.metadata.length).toBe(before); // the upstream never got a call
  });

  it('a request stream that ends inside a message, on a method whose messages are decided one by one', async () => {
    const outcome = await rawCall(filesSession, '/tools.files.v1.Files/ReadFile', cutShort());
    expect(outcome.status).toBe(grpc.status.INTERNAL);
    expect(outcome.message).not.toMatch(/truncated|inside/);
    expect(decisionOf(outcome.message, filesWorld)).toEqual([
      expect.objectContaining({ decision: 'deny', action: 'tools.files.v1.Files/ReadFile', reason: 'request stream ended inside a message' }),
    ]);
  });

  it("a request the gateway's own Tasks service cannot read", async () => {
    const outcome = await rawCall(session, '/toolgate.v1.Tasks/BeginTask', cutShort());
    expect(outcome.status).toBe(grpc.status.INTERNAL);
    expect(decisionOf(outcome.message)).toEqual([
      expect.objectContaining({ decision: 'deny', action: 'toolgate.v1.Tasks/BeginTask', reason: 'request stream ended inside a message' }),
    ]);
  });

  /** A frame that announces 10 bytes, of which 3 are sent before END_STREAM. */
  function cutShort(): Buffer {
    return grpcFrame(Buffer.alloc(10, 1)).subarray(0, 8);
  }

  it("a call to a service no upstream serves, and a method of the gateway's own services it does not have", async () => {
    const unknown = await rawCall(session, '/tools.mail.v1.Mail/Send', grpcFrame(Buffer.alloc(0)));
    expect(unknown.status).toBe(grpc.status.UNIMPLEMENTED);
    expect(decisionOf(unknown.message)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'no upstream serves tools.mail.v1.Mail' })]);
    const watch = await rawCall(session, '/grpc.health.v1.Health/Watch', grpcFrame(Buffer.alloc(0)));
    expect(watch.status).toBe(grpc.status.UNIMPLEMENTED);
    expect(decisionOf(watch.message)).toEqual([expect.objectContaining({ decision: 'deny', action: 'grpc.health.v1.Health/Watch' })]);
    const notGrpc = await rawCall(session, '/not-grpc', grpcFrame(Buffer.alloc(0)));
    expect(notGrpc.status).toBe(grpc.status.UNIMPLEMENTED);
    expect(decisionOf(notGrpc.message)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'not a gRPC method' })]);
  });

  it('a bearer caller on the token listener whose token proves nothing', async () => {
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const bearer = new grpc.Client(
      `127.0.0.1:${world.gateway.tokenAddress!.port}`,
      grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }),
    );
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', 'Bearer nonsense');
      const err = await new Promise<grpc.ServiceError>((resolve) => bearer.makeUnaryRequest('/test.v1.Echo/Unary', raw, raw, Buffer.from('x'), metadata, (e) => resolve(e!)));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(decisionOf(err.details)).toEqual([expect.objectContaining({ decision: 'deny', listener: 'token', reason: expect.stringContaining('not a JWT') })]);
    } finally {
      bearer.close();
    }
  });
});
