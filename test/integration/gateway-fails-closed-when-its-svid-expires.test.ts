import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import * as tls from 'node:tls';
import { FilesClient } from '../../src/examples/files-proto';
import { UpstreamChannel } from '../../src/relay/upstream-channel';
import type { IssuedX509Svid } from '../../src/spiffe/dev/ca';
import { SpiffeId } from '../../src/spiffe/id/spiffe-id';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { X509Bundle } from '../../src/spiffe/x509/x509-bundle';
import { X509BundleSet } from '../../src/spiffe/x509/x509-bundle-set';
import { X509Svid } from '../../src/spiffe/x509/x509-svid';
import type { X509Source } from '../../src/spiffe/workload/x509-source';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { FILES_ID, GATEWAY_ID, GatewayWorld, POLICIES, RESEARCH_BOT, unaryCall } from './support/gateway-world';
import { call, statusOf } from './support/task-calls';
import { nextEvent, rawSvid, sleep, waitUntil } from './support/workload-fixtures';

/** How long the gateway's short-lived SVID lives: time enough to set up and call before it expires. */
const TTL_MS = 6000;

const TOKEN_POLICIES = {
  ...POLICIES,
  'tokens.cedar': `
@id("bearer-workloads-read")
permit (principal is Workload, action == Action::"tools.files.v1.Files/ReadFile", resource)
when { context.peer.authn == "oidc" };
`,
};

/** The outcome of a TLS handshake from scratch, and the notAfter of the certificate the server presented if it completed. */
interface Handshake {
  completed: boolean;
  presentedNotAfter?: Date;
  error?: string;
}

/** A raw TLS handshake that accepts any server certificate, so that one that completes shows what the server presented. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ completed: true, presentedNotAfter: new Date(cert.valid_to) });
    });
    socket.once('error', (err) => resolve({ completed: false, error: err.message }));
    socket.once('close', () => resolve({ completed: false, error: 'closed' }));
  });
}

/** What the Workload API sends for one gateway SVID. */
function svidResponse(world: GatewayWorld, svid: IssuedX509Svid) {
  const provider = world.spiffe.provider;
  return { svids: [rawSvid(svid, provider.x509Bundle())], federated_bundles: { 'spiffe://partner.test': provider.x509Bundle('partner.test') } };
}

describe('the gateway fails closed when its own X.509-SVID expires with the Workload API down', () => {
  let world: GatewayWorld;
  let oidc: OidcFixture;
  let token: string;
  let bot: grpc.Client;
  let botSource: X509Source;
  let bearer: grpc.Client;
  let sync: grpc.ClientDuplexStream<object, { status: string }>;
  let syncEnded: Promise<grpc.StatusObject>;
  let expiresAt: number;
  const bearerMetadata = () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };

  beforeAll(async () => {
    oidc = await OidcFixture.create('https://oidc.k8s.example');
    world = await GatewayWorld.start({
      policies: TOKEN_POLICIES,
      extraConfig: `
workloadTokens:
  listen: 127.0.0.1:0
  jwtSvid: false
  oidc:
    - { issuer: ${oidc.issuer}, audience: toolgate, jwksFile: ${oidc.jwksFile}, trustDomain: k8s.example }
`,
    });
    world.files.set('/f', Buffer.from('data'));
    token = await oidc.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });

    // The gateway gets a short-lived SVID, then loses its Workload API.
    const short = await world.spiffe.provider.issueX509(GATEWAY_ID, { notAfter: new Date(Date.now() + TTL_MS) });
    const updated = nextEvent(world.gateway.source, 'update');
    world.gatewayApi.setX509SvidResponse(svidResponse(world, short));
    await updated;
    expiresAt = world.gateway.source.getX509Svid().expiresAt.getTime();
    expect(expiresAt - Date.now()).toBeLessThan(TTL_MS + 1);

    // Connections opened while it is valid, each proven by a call: an mTLS agent, a bearer caller, an open stream.
    botSource = await world.spiffe.workload(RESEARCH_BOT);
    bot = world.client(FilesClient, botSource);
    await call(bot, 'readFile', { path: '/f' });
    const ca = `-----BEGIN CERTIFICATE-----\n${world.spiffe.provider.x509Bundle().toString('base64')}\n-----END CERTIFICATE-----\n`;
    bearer = new FilesClient(`127.0.0.1:${world.gateway.tokenAddress!.port}`, grpc.credentials.createSsl(Buffer.from(ca), null, null, { checkServerIdentity: () => undefined }));
    await call(bearer, 'readFile', { path: '/f' }, bearerMetadata());
    sync = (bot as unknown as { sync: () => grpc.ClientDuplexStream<object, { status: string }> }).sync();
    syncEnded = new Promise((resolve) => sync.on('status', resolve));
    sync.on('error', () => {});
    const answered = once(sync, 'data');
    sync.write({ path: '/f', op: 'OP_STAT' });
    await answered;

    await world.gatewayApi.stop();
  });

  afterAll(async () => {
    sync?.cancel();
    bearer?.close();
    await world?.close();
    await oidc?.close();
  });

  /** Resolves just past the SVID's notAfter. */
  const pastExpiry = async () => {
    const wait = expiresAt - Date.now() + 50;
    if (wait > 0) await sleep(wait);
  };

  const readyz = async () => {
    const { address, port } = world.gateway.adminAddress!;
    const res = await fetch(`http://${address}:${port}/readyz`);
    return { status: res.status, body: await res.text() };
  };

  it('while the SVID is still valid, serves as usual with the Workload API down, and warns once with the time left', async () => {
    expect(await statusOf(call(bot, 'readFile', { path: '/f' }))).toBe(grpc.status.OK);
    expect(await statusOf(call(bearer, 'readFile', { path: '/f' }, bearerMetadata()))).toBe(grpc.status.OK);
    expect((await readyz()).status).toBe(200);
    await waitUntil(() => world.operations.lines.some((l) => l.msg === 'Workload API unreachable'), 3000);
    const warning = world.operations.lines.find((l) => l.msg === 'Workload API unreachable')!;
    expect(warning).toMatchObject({ level: 40, svidExpiresAt: new Date(expiresAt).toISOString() });
    expect(warning.svidSecondsLeft).toBeGreaterThan(0);
    expect(warning.svidSecondsLeft).toBeLessThanOrEqual(TTL_MS / 1000);
    // All of this ran before the SVID expired (on a machine too loaded for that, raise TTL_MS).
    expect(Date.now()).toBeLessThan(expiresAt);
  });

  it('past notAfter, /readyz answers 503 and says why', async () => {
    await pastExpiry();
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/X\.509-SVID expired at /);
  });

  it('past notAfter, a new handshake on either listener fails, and no expired certificate is presented', async () => {
    await pastExpiry();
    const svid = botSource.getX509Svid();
    const mtls = await handshake(world.gateway.address.port, { cert: svid.certChainPem(), key: svid.privateKeyPem() });
    const token = await handshake(world.gateway.tokenAddress!.port);
    for (const result of [mtls, token]) {
      expect(result.presentedNotAfter).toBeUndefined();
      expect(result.completed).toBe(false);
    }
  });

  it('past notAfter, calls on connections it already holds end UNAVAILABLE with a decision id, logged as "gateway SVID expired"', async () => {
    await pastExpiry();
    const err = (await call(bot, 'readFile', { path: '/f' }).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    const decisionId = /\(decision (\S+)\)$/.exec(err.details)?.[1];
    expect(decisionId).toBeDefined();
    expect(world.decisions.byDecisionId(decisionId!)).toMatchObject({ decision: 'deny', reason: 'gateway SVID expired', caller: RESEARCH_BOT });

    const viaToken = (await call(bearer, 'readFile', { path: '/f' }, bearerMetadata()).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(viaToken.code).toBe(grpc.status.UNAVAILABLE);
    expect(world.decisions.byDecisionId(/\(decision (\S+)\)$/.exec(viaToken.details)?.[1] ?? '')).toMatchObject({ reason: 'gateway SVID expired' });
  });

  it('past notAfter, a stream opened before it is cut UNAVAILABLE (its upstream connection used the expired SVID)', async () => {
    await pastExpiry();
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([syncEnded, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 3000)))]);
    clearTimeout(timer);
    expect(status?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('past notAfter, the metrics say expired, and the expiry is logged as an error', async () => {
    await pastExpiry();
    expect(await world.metric('toolgate_svid_valid')).toBe(0);
    expect(await world.metric('toolgate_svid_expiry_seconds')).toBe(0);
    expect(world.operations.lines.find((l) => /^X\.509-SVID expired/.test(String(l.msg)))).toMatchObject({ level: 50, expiresAt: new Date(expiresAt).toISOString() });
    // One warning for the whole outage so far, not one per reconnect attempt.
    expect(world.operations.lines.filter((l) => l.level === 40 && /workload api/i.test(String(l.msg)))).toHaveLength(1);
  });

  it('serves again soon after the Workload API returns with a fresh SVID', async () => {
    await pastExpiry();
    world.gatewayApi.setX509SvidResponse(svidResponse(world, await world.spiffe.provider.issueX509(GATEWAY_ID)));
    await world.gatewayApi.restart();
    const back = Date.now();
    let recoveredAfterMs: number | undefined;
    while (recoveredAfterMs === undefined && Date.now() - back < 10_000) {
      // A new channel each time, so that each attempt is a new connection with a new handshake.
      const fresh = new FilesClient(world.target, grpcChannelCredentials(botSource, authorizeId(GATEWAY_ID)), { 'grpc.use_local_subchannel_pool': 1 });
      const status = await statusOf(unaryCall(fresh, 'readFile', { path: '/f' }, { deadline: Date.now() + 1000 }));
      fresh.close();
      if (status === grpc.status.OK) recoveredAfterMs = Date.now() - back;
      else await sleep(20);
    }
    // The target is 2 s; the bound leaves room for a loaded machine.
    console.log(`first successful new call ${recoveredAfterMs} ms after the Workload API was back`);
    expect(recoveredAfterMs).toBeDefined();
    expect(recoveredAfterMs!).toBeLessThanOrEqual(5000);
    expect((await readyz()).status).toBe(200);
    expect(await world.metric('toolgate_svid_valid')).toBe(1);
    expect(await statusOf(call(bot, 'readFile', { path: '/f' }))).toBe(grpc.status.OK);
    expect(world.operations.lines.find((l) => l.msg === 'Workload API reachable again')).toMatchObject({ level: 30 });
  });
});

describe("the gateway's upstream connections never present an expired X.509-SVID", () => {
  let world: GatewayWorld;
  let server: tls.Server;
  let presented: Date[];
  beforeAll(async () => {
    world = await GatewayWorld.start();
    presented = [];
    // A TLS server that takes any client certificate and records its notAfter.
    const tool = await world.spiffe.provider.issueX509(FILES_ID);
    const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
    server = tls.createServer({
      cert: tool.certificates.map(pem).join(''),
      key: X509Svid.parseRaw(Buffer.concat(tool.certificates), tool.privateKey).privateKeyPem(),
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    server.on('secureConnection', (socket) => {
      const cert = socket.getPeerCertificate();
      if (cert.valid_to) presented.push(new Date(cert.valid_to));
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server?.close();
    await world?.close();
  });

  it('opens no connection with it: the call fails (UNAVAILABLE in the relay) and the upstream sees no certificate', async () => {
    const provider = world.spiffe.provider;
    const expired = await provider.issueX509(GATEWAY_ID, { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() - 5_000) });
    const svid = X509Svid.parseRaw(Buffer.concat(expired.certificates), expired.privateKey);
    const source = { getX509Svid: () => svid, getX509BundleSet: () => new X509BundleSet([X509Bundle.parseDer('example.org', provider.x509Bundle())]) };
    const port = (server.address() as { port: number }).port;
    const target = { name: 'files', address: `127.0.0.1:${port}`, spiffeId: SpiffeId.parse(FILES_ID), services: ['tools.files.v1.Files'] };
    const channel = new UpstreamChannel(target, undefined, source, () => {});
    let refused: Error | undefined;
    try {
      const session = channel.session();
      session.on('error', () => {});
      // A session that opens: the server records the certificate, then hangs up.
      await once(session, 'close');
    } catch (err) {
      refused = err as Error;
    }
    channel.close();
    expect(presented).toEqual([]);
    expect(refused?.message).toMatch(/expired/);
  });
});
