import * as grpc from '@grpc/grpc-js';
import { constants } from 'node:http2';
import { raw, startEchoWorld, type EchoObservations } from './support/echo-service';
import { GATEWAY_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { grpcFrame, handMadeRequest, rawCall, rawSession } from './support/raw-h2';

/** Every value a caller sets carries this, so that none of them may reach the tool under any name. */
const FORGED = 'forged-by-caller';

/** Headers a tool (or a proxy or framework in front of it) could take for facts about the caller. */
const IDENTITY_HEADERS: Record<string, string> = {
  'x-spiffe-id': `spiffe://example.org/${FORGED}`,
  'x-forwarded-client-cert': `By=spiffe://example.org/toolgate;URI=spiffe://example.org/${FORGED}`,
  forwarded: `for=${FORGED};proto=https`,
  'x-remote-user': FORGED,
  'x-forwarded-for': `10.0.0.1, ${FORGED}`,
  'x-forwarded-host': `${FORGED}.example`,
  'x-forwarded-proto': FORGED,
  'x-forwarded-user': FORGED,
  'x-real-ip': FORGED,
  // Credentials for the gateway or a proxy, never for the tool.
  'proxy-authorization': `Basic ${FORGED}`,
  cookie: `session=${FORGED}`,
  // The gateway's own.
  'x-toolgate-caller': `spiffe://example.org/${FORGED}`,
  'x-toolgate-agent': FORGED,
  authorization: `Bearer ${FORGED}`,
};

/** The caller's values anywhere in what the upstream saw, by header. */
function forgedIn(metadata: grpc.Metadata): string[] {
  return Object.entries(metadata.getMap())
    .filter(([, value]) => String(value).includes(FORGED))
    .map(([name]) => name);
}

describe("the upstream sees only the gateway's word for who called", () => {
  let world: GatewayWorld;
  let echo: grpc.Client;
  let seen: EchoObservations;

  beforeAll(async () => {
    ({ world, echo, seen } = await startEchoWorld('workloadTokens:\n  listen: 127.0.0.1:0\n'));
  });
  afterAll(() => world.close());

  function unary(client: grpc.Client, metadata: grpc.Metadata): Promise<void> {
    return new Promise((resolve, reject) => client.makeUnaryRequest('/test.v1.Echo/Unary', raw, raw, Buffer.from('who'), metadata, (err) => (err ? reject(err) : resolve())));
  }

  function expectGatewayHeaders(upstreamSaw: grpc.Metadata): void {
    expect(upstreamSaw.get('x-toolgate-caller')).toEqual([RESEARCH_BOT]);
    expect(upstreamSaw.get('x-toolgate-agent')).toEqual(['research-bot']);
    expect(upstreamSaw.get('x-toolgate-decision-id')).toEqual([expect.stringMatching(/^[0-9a-f]+-[0-9a-z]+$/)]);
    expect(upstreamSaw.get('authorization')).toEqual([expect.stringMatching(/^Bearer ey/)]);
  }

  it("drops identity, forwarding and credential headers from an mTLS caller, and sets Envoy's XFCC itself", async () => {
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(IDENTITY_HEADERS)) metadata.set(name, value);
    metadata.set('x-request-tag', 'kept'); // an ordinary header still passes
    await unary(echo, metadata);

    const upstreamSaw = seen.metadata.at(-1)!;
    expect(forgedIn(upstreamSaw)).toEqual([]);
    for (const name of [
      'x-spiffe-id',
      'forwarded',
      'x-remote-user',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-forwarded-user',
      'x-real-ip',
      'proxy-authorization',
      'cookie',
    ]) {
      expect([name, upstreamSaw.get(name)]).toEqual([name, []]);
    }
    expect(upstreamSaw.get('x-forwarded-client-cert')).toEqual([`By=${GATEWAY_ID};URI=${RESEARCH_BOT}`]);
    expectGatewayHeaders(upstreamSaw);
    expect(upstreamSaw.get('x-request-tag')).toEqual(['kept']);
  });

  it("drops a caller's host header (sent over raw HTTP/2, as grpc-js would not)", async () => {
    const session = await rawSession(world, RESEARCH_BOT);
    try {
      const outcome = await rawCall(session, '/test.v1.Echo/Unary', grpcFrame(Buffer.from('who')), { host: `${FORGED}.example`, ...IDENTITY_HEADERS });
      expect(outcome.status).toBe(grpc.status.OK);
    } finally {
      session.close();
    }
    const upstreamSaw = seen.metadata.at(-1)!;
    expect(forgedIn(upstreamSaw)).toEqual([]);
    expect(upstreamSaw.get('host')).toEqual([]);
    expect(upstreamSaw.get('x-forwarded-client-cert')).toEqual([`By=${GATEWAY_ID};URI=${RESEARCH_BOT}`]);
    expectGatewayHeaders(upstreamSaw);
  });

  it("never relays connection-specific headers: the request is reset before it reaches the gateway's pipeline", async () => {
    const request = (extra: Array<[string, string]>) =>
      handMadeRequest(
        world,
        RESEARCH_BOT,
        [
          [':method', 'POST'],
          [':scheme', 'https'],
          [':path', '/test.v1.Echo/Unary'],
          [':authority', 'toolgate'],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ...extra,
        ],
        grpcFrame(Buffer.from('who')),
      );
    // The hand-made request itself is sound: without a connection header it is served.
    const before = seen.metadata.length;
    expect(await request([])).toEqual({ frame: 'headers' });
    expect(seen.metadata.length).toBe(before + 1);
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']) {
      expect([name, await request([[name, FORGED]])]).toEqual([name, { frame: 'rst', code: constants.NGHTTP2_PROTOCOL_ERROR }]);
    }
    expect(seen.metadata.length).toBe(before + 1);
  });

  it("sets no XFCC for a bearer caller on the token listener (it presented no certificate), and drops the caller's", async () => {
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const bearer = new grpc.Client(
      `127.0.0.1:${world.gateway.tokenAddress!.port}`,
      grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }),
    );
    try {
      const metadata = new grpc.Metadata();
      for (const [name, value] of Object.entries(IDENTITY_HEADERS)) if (name !== 'authorization') metadata.set(name, value);
      metadata.set('authorization', `Bearer ${await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID])}`);
      await unary(bearer, metadata);
    } finally {
      bearer.close();
    }
    const upstreamSaw = seen.metadata.at(-1)!;
    expect(forgedIn(upstreamSaw)).toEqual([]);
    expect(upstreamSaw.get('x-forwarded-client-cert')).toEqual([]);
    expectGatewayHeaders(upstreamSaw);
  });
});
