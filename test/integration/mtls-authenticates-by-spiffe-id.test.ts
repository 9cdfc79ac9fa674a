import * as grpc from '@grpc/grpc-js';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { IssuedX509Svid } from '../../src/spiffe/dev/ca';
import {
  authorizeAny,
  authorizeId,
  authorizeMemberOf,
  callerSpiffeId,
  grpcChannelCredentials,
  MtlsServer,
  serveGrpcOverMtls,
  type Authorizer,
  type VerifiedPeer,
} from '../../src/spiffe/index';
import type { X509Source } from '../../src/spiffe/workload/x509-source';
import { SpiffeWorld } from './support/spiffe-world';
import { nextEvent } from './support/workload-fixtures';

const TOOL = 'spiffe://example.org/tools/files';
const AGENT = 'spiffe://example.org/agents/research-bot';
const OTHER_AGENT = 'spiffe://example.org/agents/other';
const PARTNER_AGENT = 'spiffe://partner.test/agents/helper';

const passthrough = (b: Buffer) => b;
const whoAmIService: grpc.ServiceDefinition = {
  whoAmI: {
    path: '/test.WhoAmI/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
};
const WhoAmIClient = grpc.makeGenericClientConstructor(whoAmIService, 'WhoAmI');

describe('mTLS authenticates peers by SPIFFE ID', () => {
  let world: SpiffeWorld;
  let tool: X509Source;
  let listener: MtlsServer;
  let server: grpc.Server;
  let port: number;
  let handled: string[];
  let rejected: Error[];
  const clients: grpc.Client[] = [];

  async function startTool(authorize: Authorizer): Promise<void> {
    tool = await world.workload(TOOL);
    handled = [];
    rejected = [];
    server = new grpc.Server();
    server.addService(whoAmIService, {
      whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        const caller = callerSpiffeId(call).toString();
        handled.push(caller);
        done(null, Buffer.from(caller));
      },
    });
    listener = new MtlsServer(tool, authorize);
    listener.on('rejected', (err) => rejected.push(err));
    serveGrpcOverMtls(server, listener);
    port = (await listener.listen()).port;
  }

  function callAs(source: X509Source, expectServer: Authorizer): Promise<string> {
    const client = new WhoAmIClient(`127.0.0.1:${port}`, grpcChannelCredentials(source, expectServer));
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest('/test.WhoAmI/WhoAmI', passthrough, passthrough, Buffer.alloc(0), { deadline: Date.now() + 3000 }, (err, reply) =>
        err ? reject(err) : resolve(reply!.toString()),
      );
    });
  }

  /** A raw TLS client presenting `svid`, trusting example.org's roots; resolves when the server admits or refuses it. */
  async function presentRaw(svid: IssuedX509Svid | undefined): Promise<'admitted' | 'refused'> {
    const admitted = nextEvent(listener, 'connection').then(() => 'admitted' as const);
    const refused = nextEvent(listener, 'rejected').then(() => 'refused' as const);
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: new X509Certificate(world.provider.x509Bundle('example.org')).toString(),
      cert: svid ? svid.certificates.map((der) => new X509Certificate(der).toString()).join('') : undefined,
      key: svid ? createPrivateKey({ key: svid.privateKey, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) : undefined,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['h2'],
    });
    socket.on('error', () => undefined);
    try {
      return await Promise.race([admitted, refused]);
    } finally {
      socket.destroy();
    }
  }

  beforeEach(async () => {
    world = await SpiffeWorld.create({ federatedTrustDomains: ['partner.test'] });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    server?.forceShutdown();
    await listener?.close();
    await world.close();
  });

  it('relays an authorized caller, whose handler sees its verified SPIFFE ID', async () => {
    await startTool(authorizeId(AGENT));
    const agent = await world.workload(AGENT);
    await expect(callAs(agent, authorizeId(TOOL))).resolves.toBe(AGENT);
    expect(handled).toEqual([AGENT]);
  });

  it('refuses a verified caller that the server authorizer does not allow, before any handler runs', async () => {
    await startTool(authorizeId(AGENT));
    const other = await world.workload(OTHER_AGENT);
    await expect(callAs(other, authorizeId(TOOL))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(handled).toEqual([]);
    expect(rejected.map((e) => e.message)).toContain(`unexpected ID "${OTHER_AGENT}"`);
  });

  it('refuses a server that presents a SPIFFE ID other than the expected one', async () => {
    await startTool(authorizeAny());
    const agent = await world.workload(AGENT);
    const err = await callAs(agent, authorizeId('spiffe://example.org/tools/payments')).catch((e) => e);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(handled).toEqual([]);
  });

  it('refuses a caller with no certificate at the TLS handshake', async () => {
    await startTool(authorizeAny());
    await expect(presentRaw(undefined)).resolves.toBe('refused');
    expect(handled).toEqual([]);
  });

  it('accepts a federated trust domain, then refuses it once the bundle is withdrawn', async () => {
    await startTool(authorizeMemberOf('example.org', 'partner.test'));
    const partnerSvid = await world.provider.issueX509(PARTNER_AGENT);
    await expect(presentRaw(partnerSvid)).resolves.toBe('admitted');

    const updated = nextEvent(tool, 'update');
    await world.provider.federate('partner.test', false);
    await updated;
    expect(() => tool.getX509BundleForTrustDomain('partner.test')).toThrow();
    // partner.test's roots have left the server's TLS context: refused at the handshake.
    await expect(presentRaw(partnerSvid)).resolves.toBe('refused');
  });

  it("refuses one trust domain's CA vouching for another's ID, though OpenSSL accepts the chain", async () => {
    await startTool(authorizeMemberOf('example.org', 'partner.test'));
    // example.org's CA signs an ID in partner.test. Both roots are in the server's `ca`,
    // so the TLS handshake completes; only the per-trust-domain check can refuse it.
    const forged = await world.provider.ca('example.org').issue(PARTNER_AGENT);
    await expect(presentRaw(forged)).resolves.toBe('refused');
    expect(rejected.at(-1)?.message).toContain('certificate signed by unknown authority');
  });

  it('admits a caller whose SVID chain carries an intermediate CA, verifying leaf, intermediate and root', async () => {
    await world.close();
    world = await SpiffeWorld.create({ intermediate: true });
    await startTool(authorizeId(AGENT));
    const peers: VerifiedPeer[] = [];
    listener.on('connection', (_socket, peer) => peers.push(peer));
    const svid = await world.provider.issueX509(AGENT);
    expect(svid.certificates).toHaveLength(2);
    await expect(presentRaw(svid)).resolves.toBe('admitted');
    const root = new X509Certificate(world.provider.x509Bundle('example.org'));
    expect(peers[0]!.chain.map((c) => c.fingerprint256)).toEqual([
      new X509Certificate(svid.certificates[0]!).fingerprint256,
      new X509Certificate(svid.certificates[1]!).fingerprint256,
      root.fingerprint256,
    ]);
    // Without its intermediate the leaf chains to nothing in the bundle: OpenSSL never completes
    // the handshake (the connection is dropped when the client gives up), and nothing is admitted.
    await expect(presentRaw({ ...svid, certificates: svid.certificates.slice(0, 1) })).resolves.toBe('refused');
    expect(peers).toHaveLength(1);
  });
});
