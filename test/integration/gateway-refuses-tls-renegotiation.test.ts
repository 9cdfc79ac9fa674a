import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { nextEvent } from './support/workload-fixtures';

/**
 * What became of a TLS 1.2 client's `renegotiate()` on a live HTTP/2 connection to a gateway
 * listener: whether the renegotiation completed, how the client heard otherwise, and whether
 * the gateway closed the connection.
 */
interface Outcome {
  renegotiated: boolean;
  clientError: string | undefined;
  closed: boolean;
}

/** Connects over TLS 1.2 with ALPN h2, waits for the gateway's HTTP/2 SETTINGS, then asks to renegotiate. */
async function renegotiateOn(port: number, options: ConnectionOptions): Promise<Outcome> {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'], checkServerIdentity: () => undefined, ...options });
  const outcome: Outcome = { renegotiated: false, clientError: undefined, closed: false };
  socket.on('error', (err: NodeJS.ErrnoException) => (outcome.clientError ??= err.code ?? err.message));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await nextEvent(socket, 'secureConnect');
    expect([socket.getProtocol(), socket.alpnProtocol]).toEqual(['TLSv1.2', 'h2']);
    // The gateway's HTTP/2 session is up: its first frame (SETTINGS) has arrived.
    await nextEvent(socket, 'data');
    const settled = new Promise<void>((resolve) => {
      const started = socket.renegotiate({ rejectUnauthorized: false }, (err) => {
        if (err === null) outcome.renegotiated = true;
        else outcome.clientError ??= (err as NodeJS.ErrnoException).code ?? err.message;
        resolve();
      });
      if (!started) resolve();
      void closed.then(resolve);
    });
    await settled;
    if (outcome.renegotiated) return outcome;
    // Refused: the gateway must not keep the connection either (generous bound, no timing claim).
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    outcome.closed = socket.destroyed || socket.readyState === 'closed';
    return outcome;
  } finally {
    socket.destroy();
  }
}

/** HTTP/2 forbids renegotiation (RFC 9113 §9.2.1); Node's TLS server allows 3 client-initiated ones per 10 minutes. */
describe('the gateway refuses TLS 1.2 renegotiation on its listeners', () => {
  let world: GatewayWorld;
  let agent: ConnectionOptions;
  let bearer: ConnectionOptions;
  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'workloadTokens:\n  listen: 127.0.0.1:0\n' });
    const source = await world.spiffe.workload(RESEARCH_BOT);
    const ca = source
      .getX509BundleSet()
      .bundles()
      .map((b) => b.authoritiesPem());
    // An agent with its SVID for the mTLS listener; a caller with none for the token listener.
    agent = { ca, cert: source.getX509Svid().certChainPem(), key: source.getX509Svid().privateKeyPem() };
    bearer = { ca };
  });
  afterAll(() => world?.close());

  // The client hears OpenSSL's no_renegotiation alert (SSL_OP_NO_RENEGOTIATION); without it,
  // Node's http2 would still cut the connection, but silently and only once HTTP/2 holds it.
  const refused = { renegotiated: false, clientError: 'ERR_SSL_NO_RENEGOTIATION', closed: true };

  it('on the mTLS listener: the renegotiation fails and the connection is closed', async () => {
    expect(await renegotiateOn(world.gateway.address.port, agent)).toEqual(refused);
  });

  it('on the token listener: the renegotiation fails and the connection is closed', async () => {
    expect(await renegotiateOn(world.gateway.tokenAddress!.port, bearer)).toEqual(refused);
  });

  it('still after the gateway rotated its SVID (a new secure context)', async () => {
    const updated = nextEvent(world.gateway.source, 'update');
    await world.spiffe.provider.rotate();
    await updated;
    const source = await world.spiffe.workload(RESEARCH_BOT);
    const rotated = { ...agent, cert: source.getX509Svid().certChainPem(), key: source.getX509Svid().privateKeyPem() };
    expect(await renegotiateOn(world.gateway.address.port, rotated)).toEqual(refused);
    expect(await renegotiateOn(world.gateway.tokenAddress!.port, bearer)).toEqual(refused);
  });
});
