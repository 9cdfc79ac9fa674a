import * as grpc from '@grpc/grpc-js';
import type { TLSSocket } from 'node:tls';
import type { MtlsServer } from '../../src/spiffe/tls/mtls-server';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { sleep } from './support/workload-fixtures';

const raw = (b: Buffer) => b;

/**
 * A tool that crashes mid-call: its connection to the gateway is gone. The calls in flight
 * must end UNAVAILABLE, which clients' retry policies retry, not CANCELLED, which they never
 * do; a tool that itself cancels a call (RST_STREAM CANCEL) is still CANCELLED.
 */
describe('an upstream lost mid-call', () => {
  let world: GatewayWorld;
  const sockets: TLSSocket[] = [];
  let reached = 0;

  beforeAll(async () => {
    const definition = {
      Hang: {
        path: '/test.v1.Crash/Hang',
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
      Stream: {
        path: '/test.v1.Crash/Stream',
        requestStream: true,
        responseStream: true,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
      Cancel: {
        path: '/test.v1.Crash/Cancel',
        requestStream: false,
        responseStream: true,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    };
    const implementation = {
      Hang: () => void reached++, // never answers
      Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        reached++;
        call.write(Buffer.from('first'));
        call.on('error', () => {});
      },
      // Answers once, then resets its own stream with CANCEL (grpc-js does on cancel()).
      Cancel: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        call.write(Buffer.from('one'));
        setTimeout(() => (call as unknown as { call: { stream: { close(code: number): void } } }).call.stream.close(8), 50);
      },
    };
    world = await GatewayWorld.start({
      policies: { 'all.cedar': 'permit (principal in AgentGroup::"researchers", action, resource == Tool::"files");' },
      upstreamServices: [[definition as unknown as grpc.ServiceDefinition, implementation as unknown as grpc.UntypedServiceImplementation, 'test.v1.Crash']],
    });
    // The tool's TLS connections, to cut them as a crash would (test-only access).
    (world.tool as unknown as { listener: MtlsServer }).listener.on('connection', (socket) => sockets.push(socket));
  });
  afterAll(() => world.close());

  it("ends every call in flight UNAVAILABLE when the tool's connection is lost", async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const unary = [1, 2, 3].map(
      () => new Promise<grpc.status>((done) => bot.makeUnaryRequest('/test.v1.Crash/Hang', raw, raw, Buffer.alloc(1), (err) => done(err?.code ?? grpc.status.OK))),
    );
    const stream = bot.makeBidiStreamRequest('/test.v1.Crash/Stream', raw, raw);
    const streamStatus = new Promise<grpc.status>((done) => stream.on('status', (s: grpc.StatusObject) => done(s.code)));
    stream.on('error', () => {});
    const first = new Promise((done) => stream.once('data', done));
    stream.write(Buffer.from('go'));
    await first;
    while (reached < 4) await sleep(10);

    for (const socket of sockets.splice(0)) socket.destroy(); // the tool is gone

    expect(await Promise.all(unary)).toEqual([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
    expect(await streamStatus).toBe(grpc.status.UNAVAILABLE);
    const failures = world.operations.lines.filter((l) => l.msg === 'upstream call failed').slice(-4);
    expect(failures.map((l) => l.reason)).toEqual(Array(4).fill(expect.stringMatching(/^upstream connection lost/)));
  });

  it('still ends a call the tool itself cancelled CANCELLED', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const call = bot.makeServerStreamRequest('/test.v1.Crash/Cancel', raw, raw, Buffer.alloc(1));
    call.on('data', () => {});
    call.on('error', () => {});
    const status = await new Promise<grpc.status>((done) => call.on('status', (s: grpc.StatusObject) => done(s.code)));
    expect(status).toBe(grpc.status.CANCELLED);
  });
});
