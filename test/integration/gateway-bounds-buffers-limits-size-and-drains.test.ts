import * as grpc from '@grpc/grpc-js';
import { EchoClient, raw, startEchoWorld, type EchoObservations } from './support/echo-service';
import { type GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { sleep } from './support/workload-fixtures';

describe('flow control, message size limit, and drain on shutdown', () => {
  let world: GatewayWorld;
  let echo: grpc.Client;
  let seen: EchoObservations;

  beforeAll(async () => {
    ({ world, echo, seen } = await startEchoWorld('limits:\n  maxMessageBytes: 65536\n'));
  });
  afterAll(() => world.close());

  it('never buffers without bound for a caller that stops reading', async () => {
    const call = echo.makeServerStreamRequest('/test.v1.Echo/Flood', raw, raw, Buffer.alloc(0));
    let received = 0;
    call.on('data', (m: Buffer) => {
      received += m.length;
      if (received >= 1024 * 1024) call.pause(); // read 1 MiB, then stop reading
    });
    call.on('error', () => {});
    await sleep(1500);
    // The upstream is held back by HTTP/2 flow control through the gateway: what it could
    // write is the little the caller read plus a few windows of buffering, not 64 MiB.
    expect(received).toBeGreaterThanOrEqual(1024 * 1024);
    expect(seen.floodWritten).toBeLessThan(received + 12 * 1024 * 1024);
    const rss = process.memoryUsage().rss;
    await sleep(500);
    expect(seen.floodWritten).toBeLessThan(received + 12 * 1024 * 1024); // and it stays held
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * 1024 * 1024);
    call.cancel();
  });

  it('refuses a request message over limits.maxMessageBytes with RESOURCE_EXHAUSTED; the upstream never sees it', async () => {
    const before = seen.received.length;
    const call = echo.makeBidiStreamRequest('/test.v1.Echo/Stream', raw, raw);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', () => {});
    call.on('error', () => {});
    call.write(Buffer.alloc(1000, 7));
    call.write(Buffer.alloc(70_000, 7));
    const s = await status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The caller reads the status and a decision id; the reason is in that decision's log line.
    const id = /^resource exhausted \(decision (\S+)\)$/.exec(s.details)?.[1];
    expect(world.decisions.lines.filter((l) => id !== undefined && l.decisionId === id)).toContainEqual(
      expect.objectContaining({ decision: 'deny', reason: 'message of 70000 bytes exceeds the limit of 65536' }),
    );
    expect(seen.received.slice(before).map((m) => m.length)).toEqual([1000]);
  });

  it('drains on shutdown: an in-flight call completes, new connections are refused', async () => {
    const inFlight = new Promise<Buffer>((resolve, reject) =>
      echo.makeUnaryRequest('/test.v1.Echo/Delay', raw, raw, Buffer.from('finish me'), (e, r) => (e ? reject(e) : resolve(r!))),
    );
    while (seen.delayed === 0) await sleep(10); // the call has reached the upstream
    // A grace far beyond the test timeout: close must finish when the calls do, not at the
    // deadline (a stream left half-open would hold it there).
    const closing = world.gateway.close(120_000);
    await expect(inFlight).resolves.toEqual(Buffer.from('finish me'));
    await closing;
    const late = world.client(EchoClient, await world.spiffe.workload(RESEARCH_BOT));
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      late.makeUnaryRequest('/test.v1.Echo/Unary', raw, raw, Buffer.from('x'), { deadline: Date.now() + 1000 }, (e) => resolve(e!)),
    );
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
  });
});
