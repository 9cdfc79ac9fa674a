/*
 * The examples of docs/spiffe.md, type-checked (`npm run typecheck` covers test/) so that the
 * documentation cannot drift from the API. Not run: they need a Workload API and peers.
 * test/package/spiffe-package.test.ts compiles this file again against the built package,
 * with the imports below rewritten to `toolgate/spiffe` and `toolgate/spiffe/dev`, as a
 * user's code would see them.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import {
  authorizeAll,
  authorizeAny,
  authorizeId,
  authorizeIf,
  authorizeMemberOf,
  callerSpiffeId,
  exponentialBackoff,
  grpcChannelCredentials,
  JwtBundle,
  JwtBundleSet,
  JwtSource,
  MtlsServer,
  mtlsClientOptions,
  serveGrpcOverMtls,
  SpiffeError,
  SpiffeId,
  TrustDomain,
  validateJwtSvid,
  verifyX509Svid,
  WorkloadApiClient,
  WorkloadApiError,
  X509Bundle,
  X509BundleSet,
  X509Source,
  X509Svid,
} from '../../src/spiffe/index';
import { DevIdentityProvider } from '../../src/spiffe/dev/index';

/** The dev identity provider: real SVIDs over the real Workload API, for development and tests. */
export async function devIdentities(): Promise<void> {
  const provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
  const api = await provider.serve(['spiffe://example.org/agents/bot'], 'unix:///tmp/dev/agent.sock');
  const source = await X509Source.create({ address: api.address });
  source.close();
  await provider.close();
}

/** Identities: parse, compare, build. */
export function identities(): string[] {
  const id = SpiffeId.parse('spiffe://example.org/agents/bot');
  const td = TrustDomain.parse('example.org');
  const built = SpiffeId.fromPath(td, '/agents/bot');
  return [id.trustDomain.name, String(id.memberOf(td)), String(id.equals(built)), td.idString()];
}

/** Errors: branch on `code` (or `instanceof`), never on the message. */
export function describeError(err: unknown): string {
  if (err instanceof WorkloadApiError) return `workload API status ${err.grpcCode}`;
  if (err instanceof SpiffeError) {
    switch (err.code) {
      case 'ERR_SPIFFE_ID':
        return 'not a SPIFFE ID';
      case 'ERR_X509_SVID':
        return 'peer refused';
      default:
        return err.code;
    }
  }
  return 'unknown';
}

/** X509Source: the workload's rotating SVID and bundles. */
export async function x509Source(): Promise<void> {
  const source = await X509Source.create({ address: 'unix:///run/spire/agent.sock', timeoutMs: 5000 });
  source.on('update', () => console.log('SVID now', source.getX509Svid().toJSON())); // toJSON shows no key
  source.on('error', (err) => console.warn(err.message));
  const svid: X509Svid = source.getX509Svid();
  const bundle: X509Bundle = source.getX509BundleForTrustDomain('example.org');
  console.log(svid.id.toString(), svid.expiresAt, bundle.authorities.length);
  source.close();
}

/** Verifying an X.509-SVID chain by hand (what the TLS helpers do for you). */
export function verifyChain(peerDerChain: Buffer[], bundles: X509BundleSet): string {
  const { id, chain } = verifyX509Svid(peerDerChain, bundles);
  const { id: later } = verifyX509Svid(peerDerChain, bundles, new Date('2030-01-01'));
  return `${id} (${chain.length} certificates), ${later}`;
}

/** JwtSource: fetch a token for a peer; validate one a peer sent. */
export async function jwt(bearerToken: string): Promise<string> {
  const jwtSource = await JwtSource.create(); // $SPIFFE_ENDPOINT_SOCKET
  const token = (await jwtSource.fetchJwtSvid({ audience: 'spiffe://example.org/gateway' })).token;
  const caller = await validateJwtSvid(bearerToken, 'spiffe://example.org/gateway', jwtSource); // any JwtBundleSource
  const offline = new JwtBundleSet([JwtBundle.parse('example.org', '{"keys":[]}')]);
  await validateJwtSvid(bearerToken, 'spiffe://example.org/gateway', offline, { leewaySeconds: 30 }).catch(() => undefined);
  jwtSource.close();
  return `${token.length} ${caller.id}`;
}

/** WorkloadApiClient: one-shot fetches and watches, parsed. */
export async function workloadApiClient(): Promise<void> {
  const client = new WorkloadApiClient({ address: 'unix:///run/spire/agent.sock', backoff: exponentialBackoff({ maxMs: 5000 }) });
  const { svids, bundles } = await client.fetchX509Context();
  console.log(svids[0].id.toString(), bundles.trustDomains().map(String));
  const watch = client.watchX509Context({
    onUpdate: (context) => console.log('rotated', context.svids[0].toJSON()),
    onError: (err) => console.warn(err.message),
  });
  const svid = await client.fetchJwtSvid({ audience: ['spiffe://example.org/gateway'] });
  const validated = await client.validateJwtSvid(svid.token, 'spiffe://example.org/gateway');
  console.log(validated.id.toString());
  watch.stop();
  client.close();
}

/** mTLS: a listener, a gRPC server behind it, and clients. */
export async function mtls(source: X509Source, toolService: grpc.ServiceDefinition): Promise<void> {
  const listener = new MtlsServer(source, authorizeMemberOf('example.org'));
  listener.on('rejected', (err) => console.warn(err.message));
  const grpcServer = new grpc.Server();
  grpcServer.addService(toolService, {
    Call: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => done(null, { caller: callerSpiffeId(call).toString() }),
  });
  const stopServing = serveGrpcOverMtls(grpcServer, listener);
  await listener.listen(8443, '0.0.0.0');

  const credentials = grpcChannelCredentials(source, authorizeId('spiffe://example.org/tools/files'));
  const channel = new grpc.Client('tool.local:7001', credentials);

  const options = mtlsClientOptions(source, authorizeAny());
  const socket = tls.connect({ host: '127.0.0.1', port: 7001, ...options() });
  const session = http2.connect('https://127.0.0.1:7001', { createConnection: () => tls.connect({ host: '127.0.0.1', port: 7001, ...options() }) });

  const onlyBots = authorizeAll(
    authorizeMemberOf('example.org'),
    authorizeIf((id) => id.path.startsWith('/agents/')),
  );
  console.log(typeof onlyBots);
  socket.destroy();
  session.close();
  channel.close();
  stopServing();
  await listener.close();
}
