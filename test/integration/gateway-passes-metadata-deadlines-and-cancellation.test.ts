import { decodeJwt } from 'jose';
import * as grpc from '@grpc/grpc-js';
import { raw, startEchoWorld, type EchoObservations } from './support/echo-service';
import { type GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { sleep } from './support/workload-fixtures';

describe('the gateway passes metadata, trailers, status, deadlines and cancellation through', () => {
  let world: GatewayWorld;
  let echo: grpc.Client;
  let seen: EchoObservations;

  beforeAll(async () => {
    ({ world, echo, seen } = await startEchoWorld());
  });
  afterAll(() => world.close());

  function unary(path: string, body: string, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}) {
    return new Promise<{ err: grpc.ServiceError | null; reply?: Buffer; header?: grpc.Metadata; status: grpc.StatusObject }>((resolve) => {
      let header: grpc.Metadata | undefined;
      let result: { err: grpc.ServiceError | null; reply?: Buffer } | undefined;
      const call = echo.makeUnaryRequest(path, raw, raw, Buffer.from(body), metadata, options, (err, reply) => (result = { err, reply }));
      call.on('metadata', (m) => (header = m));
      call.on('status', (status) => setImmediate(() => resolve({ ...result!, header, status })));
    });
  }

  it('relays request metadata, response metadata, trailers and the upstream status unchanged', async () => {
    const md = new grpc.Metadata();
    md.set('x-request-tag', 'abc');
    md.set('x-bin-bin', Buffer.from([1, 2, 3]));
    const ok = await unary('/test.v1.Echo/Unary', 'ping', md);
    expect(ok.err).toBeNull();
    expect(ok.reply?.toString()).toBe('ping');
    expect(ok.header?.get('x-echo-header')).toEqual(['from-upstream']);
    expect(ok.status.metadata.get('x-echo-trailer')).toEqual(['done']);
    const upstreamSaw = seen.metadata.at(-1)!;
    expect(upstreamSaw.get('x-request-tag')).toEqual(['abc']);
    expect(upstreamSaw.get('x-bin-bin')).toEqual([Buffer.from([1, 2, 3])]);

    const failed = await unary('/test.v1.Echo/Unary', 'fail');
    expect(failed.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(failed.err?.details).toBe('upstream says no');
    expect(failed.status.metadata.get('x-echo-trailer')).toEqual(['done']);
  });

  it('ignores identity headers a caller tries to set, and sets its own', async () => {
    const md = new grpc.Metadata();
    md.set('x-toolgate-caller', 'spiffe://example.org/agents/admin');
    md.set('x-toolgate-agent', 'admin');
    md.set('authorization', 'Bearer stolen');
    await unary('/test.v1.Echo/Unary', 'who', md);
    const upstreamSaw = seen.metadata.at(-1)!;
    expect(upstreamSaw.get('x-toolgate-caller')).toEqual([RESEARCH_BOT]);
    expect(upstreamSaw.get('x-toolgate-agent')).toEqual(['research-bot']);
    // The caller's bearer token never reaches the tool: the gateway's own per-call JWT does.
    const authorization = upstreamSaw.get('authorization');
    expect(authorization).toHaveLength(1);
    expect(authorization[0]).not.toContain('stolen');
    expect(decodeJwt(String(authorization[0]).replace(/^Bearer /, ''))).toMatchObject({ sub: RESEARCH_BOT, scope: 'test.v1.Echo/Unary' });
    expect(upstreamSaw.get('x-toolgate-decision-id')).toHaveLength(1);
  });

  it('propagates the deadline: the upstream sees it and the caller gets DEADLINE_EXCEEDED', async () => {
    const before = seen.deadlines.length;
    const deadline = Date.now() + 300;
    const { err } = await unary('/test.v1.Echo/Hang', 'x', new grpc.Metadata(), { deadline });
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const upstreamDeadline = seen.deadlines[before];
    expect(Math.abs(Number(upstreamDeadline) - deadline)).toBeLessThan(250);
  });

  it('cancels the upstream call when the caller cancels', async () => {
    const before = seen.cancelled;
    const call = echo.makeUnaryRequest('/test.v1.Echo/Hang', raw, raw, Buffer.from('x'), () => {});
    await sleep(150);
    call.cancel();
    for (let i = 0; i < 50 && seen.cancelled === before; i++) await sleep(20);
    expect(seen.cancelled).toBe(before + 1);
  });
});
