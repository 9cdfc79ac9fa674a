import { get } from 'node:http';
import { connect } from 'node:net';
import { EchoClient, ECHO_POLICY, echoImplementation, echoService, raw, type EchoObservations } from './support/echo-service';
import { unclaimedPort } from '../support/unclaimed-port';
import { GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { sleep, waitUntil } from './support/workload-fixtures';

/** GET /readyz: its status and body, or undefined while nothing listens on `port`. */
function readyz(port: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
  });
}

/** Whether a TCP connection to `port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('/readyz says ready only while every listener accepts connections', () => {
  const seen: EchoObservations = { metadata: [], deadlines: [], cancelled: 0, received: [], floodWritten: 0, delayed: 0 };

  async function startWorld(ports: { listen: number; admin: number; tokens: number }): Promise<GatewayWorld> {
    return GatewayWorld.start({
      policies: { ...POLICIES, 'echo.cedar': ECHO_POLICY },
      upstreamServices: [[echoService, echoImplementation(seen), 'test.v1.Echo']],
      ports,
      extraConfig: `workloadTokens:\n  listen: 127.0.0.1:${ports.tokens}\n`,
    });
  }

  it('is not ready until the gRPC and token listeners accept connections, on every start', async () => {
    for (let start = 0; start < 5; start++) {
      const [listen, admin, tokens] = [await unclaimedPort(), await unclaimedPort(), await unclaimedPort()];
      let failed = false;
      // From the moment the gateway starts: poll /readyz, and at its first 200 connect to both listeners.
      const atFirstReady = (async () => {
        while (!failed) {
          const ready = await readyz(admin);
          if (ready?.status === 200) {
            const [grpcPort, tokenPort] = await Promise.all([accepts(listen), accepts(tokens)]);
            return { start, grpcPort, tokenPort };
          }
          if (ready === undefined) await sleep(1); // the admin port is not open yet
        }
        return undefined;
      })();
      let world: GatewayWorld | undefined;
      try {
        world = await startWorld({ listen, admin, tokens });
        expect(await atFirstReady).toEqual({ start, grpcPort: true, tokenPort: true });
      } finally {
        failed = true;
        await world?.close();
      }
    }
  });

  it('is not ready from the moment a drain begins, while calls in flight finish', async () => {
    const [listen, admin, tokens] = [await unclaimedPort(), await unclaimedPort(), await unclaimedPort()];
    const world = await startWorld({ listen, admin, tokens });
    const echo = world.client(EchoClient, await world.spiffe.workload(RESEARCH_BOT));
    const before = seen.metadata.length;
    const hanging = echo.makeUnaryRequest('/test.v1.Echo/Hang', raw, raw, Buffer.from('x'), () => {});
    try {
      await waitUntil(() => seen.metadata.length > before, 5000); // the call is in flight upstream
      expect(await readyz(admin)).toEqual({ status: 200, body: 'ready\n' });
      const closing = world.gateway.close(120_000); // waits for the hanging call
      expect(await readyz(admin)).toEqual({ status: 503, body: 'not ready: shutting down\n' });
      hanging.cancel();
      await closing;
    } finally {
      hanging.cancel();
      await world.close();
    }
  });
});
