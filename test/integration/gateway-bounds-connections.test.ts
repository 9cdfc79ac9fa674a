import { connect, type ClientHttp2Session } from 'node:http2';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import { CI_BUILDER, GATEWAY_ID, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { sleep, waitUntil } from './support/workload-fixtures';

/**
 * What one caller and the whole gateway may hold: connections per listener, connections per
 * caller SPIFFE ID, and idle connections closed (each idle mTLS connection holds ~74 KiB).
 */
describe('connection limits', () => {
  let world: GatewayWorld;
  const open: ClientHttp2Session[] = [];

  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'limits:\n  maxConnections: 3\n  perCaller:\n    maxConnections: 2\n' });
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await world.close();
  });

  async function session(id: string): Promise<ClientHttp2Session> {
    const source = await world.spiffe.workload(id);
    const s = connect(`https://${world.target}`, mtlsClientOptions(source, authorizeId(GATEWAY_ID))());
    s.on('error', () => {});
    open.push(s);
    return s;
  }

  it("closes a caller's connection beyond limits.perCaller.maxConnections; other callers connect; a closed one frees its slot", async () => {
    const [a, b] = [await session(RESEARCH_BOT), await session(RESEARCH_BOT)];
    expect(await healthCheck(a)).toBe('0');
    expect(await healthCheck(b)).toBe('0');
    const third = await session(RESEARCH_BOT);
    expect(await healthCheck(third)).toBe('closed');
    expect(await world.metric('toolgate_connections_over_limit_total', { listener: 'mtls', limit: 'caller' })).toBe(1);
    const other = await session(CI_BUILDER);
    expect(await healthCheck(other)).toBe('0');
    expect(await world.metric('toolgate_open_connections', { listener: 'mtls' })).toBe(3);

    a.close();
    for (let i = 0; i < 100 && (await world.metric('toolgate_open_connections', { listener: 'mtls' })) !== 2; i++) await sleep(50);
    expect(await world.metric('toolgate_open_connections', { listener: 'mtls' })).toBe(2);
    expect(await healthCheck(await session(RESEARCH_BOT))).toBe('0');
  });

  it('closes connections beyond limits.maxConnections before their handshake, whoever they are from', async () => {
    // Three are open (two research-bot, one CI builder): the listener is full.
    const refused = await session(CI_BUILDER);
    expect(await healthCheck(refused)).toBe('closed');
    expect(await world.metric('toolgate_connections_over_limit_total', { listener: 'mtls', limit: 'listener' })).toBeGreaterThanOrEqual(1);
    expect(world.operations.lines.some((l) => l.msg === 'connection refused' && String(l.reason).includes('connection limit of 3'))).toBe(true);
  });
});

describe('a crowd of new connections', () => {
  it('makes a crowd wait for limits.handshakesPerSecond, then serves every connection of it and reports none left waiting', async () => {
    // 20 a second, one per turn: 12 connections at once take about half a second to be let in.
    const world = await GatewayWorld.start({ extraConfig: 'limits:\n  handshakesPerTurn: 1\n  handshakesPerSecond: 20\n' });
    const sessions: ClientHttp2Session[] = [];
    try {
      const options = mtlsClientOptions(await world.spiffe.workload(RESEARCH_BOT), authorizeId(GATEWAY_ID));
      for (let i = 0; i < 12; i++) {
        const s = connect(`https://${world.target}`, options());
        s.on('error', () => {});
        sessions.push(s);
      }
      const served = Promise.all(sessions.map(healthCheck));
      // Seen while they wait: more than one at a time held back by the rate.
      let mostWaiting = 0;
      for (let i = 0; i < 100 && mostWaiting <= 1; i++) {
        mostWaiting = Math.max(mostWaiting, await world.metric('toolgate_tls_handshakes_waiting', { listener: 'mtls' }));
        await sleep(10);
      }
      expect(mostWaiting).toBeGreaterThan(1);
      expect(await served).toEqual(sessions.map(() => '0'));
      expect(await world.metric('toolgate_tls_handshakes_waiting', { listener: 'mtls' })).toBe(0);
    } finally {
      for (const s of sessions) s.destroy();
      await world.close();
    }
  });
});

describe('idle connections', () => {
  it('sends GOAWAY to a connection with no open call after limits.connectionIdleSeconds, and leaves one with an open call alone', async () => {
    const world = await GatewayWorld.start({ extraConfig: 'limits:\n  connectionIdleSeconds: 1\n' });
    const sessions: ClientHttp2Session[] = [];
    try {
      const source = await world.spiffe.workload(RESEARCH_BOT);
      const options = mtlsClientOptions(source, authorizeId(GATEWAY_ID));
      const idle = connect(`https://${world.target}`, options());
      const busy = connect(`https://${world.target}`, options());
      sessions.push(idle, busy);
      for (const s of sessions) s.on('error', () => {});
      expect(await healthCheck(idle)).toBe('0');
      // A bidi call that stays open and quiet (its own idle timeout is 300 s).
      const held = busy.request({ ':method': 'POST', ':path': '/tools.files.v1.Files/Sync', 'content-type': 'application/grpc', te: 'trailers' });
      held.on('error', () => {});
      let goaway = false;
      idle.on('goaway', () => (goaway = true));
      let busyGoaway = false;
      busy.on('goaway', () => (busyGoaway = true));
      await waitUntil(() => goaway, 10_000);
      expect(busyGoaway).toBe(false);
      expect(busy.closed).toBe(false);
      held.close();
    } finally {
      for (const s of sessions) s.destroy();
      await world.close();
    }
  });
});

/** A gRPC health check on the session: its grpc-status, or 'closed' when the connection was refused. */
function healthCheck(session: ClientHttp2Session): Promise<string> {
  return new Promise((resolve) => {
    let status: string | undefined;
    let stream;
    try {
      stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    } catch {
      return resolve('closed');
    }
    stream.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    stream.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    stream.on('error', () => {});
    stream.on('data', () => {});
    stream.on('close', () => resolve(status ?? 'closed'));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
