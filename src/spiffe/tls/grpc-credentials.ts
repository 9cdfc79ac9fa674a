import { ServerCredentials, experimental, type ChannelCredentials, type Server, type ServerUnaryCall } from '@grpc/grpc-js';
import type { SpiffeId } from '../id/spiffe-id';
import { spiffeIdOfLeaf } from '../x509/verify';
import type { Authorizer } from './authorizer';
import { spiffeServerCheck } from './mtls-client';
import type { MtlsServer } from './mtls-server';
import { unexpiredSvid, type X509TlsSource } from './secure-context-cache';

/** A TLS source that also says when it rotates, which grpc-js's providers need. */
export interface X509WatchedSource extends X509TlsSource {
  on(event: 'update', listener: () => void): unknown;
  off(event: 'update', listener: () => void): unknown;
}

type CaListener = Parameters<experimental.CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<experimental.CertificateProvider['addIdentityCertificateListener']>[0];

/** Feeds grpc-js the source's current SVID and roots, and every rotation after. */
class SourceCertificateProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly onUpdate = () => this.publish();

  constructor(private readonly source: X509WatchedSource) {}

  addCaCertificateListener(listener: CaListener): void {
    this.watch(() => this.caListeners.add(listener));
    listener(this.caUpdate());
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unwatchIfIdle();
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.watch(() => this.identityListeners.add(listener));
    listener(this.identityUpdate());
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unwatchIfIdle();
  }

  private watch(add: () => void): void {
    if (this.caListeners.size + this.identityListeners.size === 0) this.source.on('update', this.onUpdate);
    add();
  }
  private unwatchIfIdle(): void {
    if (this.caListeners.size + this.identityListeners.size === 0) this.source.off('update', this.onUpdate);
  }

  private publish(): void {
    const ca = this.caUpdate();
    const identity = this.identityUpdate();
    for (const listener of this.caListeners) listener(ca);
    for (const listener of this.identityListeners) listener(identity);
  }

  private caUpdate() {
    const pem = this.source
      .getX509BundleSet()
      .bundles()
      .map((b) => b.authoritiesPem())
      .join('');
    return { caCertificate: Buffer.from(pem) };
  }

  /**
   * `null` while the source has no SVID (withdrawn), or has only an expired one when asked (a
   * new channel, an update): grpc-js then makes no new connections.
   */
  private identityUpdate() {
    try {
      const svid = unexpiredSvid(this.source);
      return { certificate: Buffer.from(svid.certChainPem()), privateKey: Buffer.from(svid.privateKeyPem()) };
    } catch {
      return null;
    }
  }
}

/**
 * grpc-js channel credentials that present the source's current SVID (rotating without a
 * new channel) and accept only a server that passes SPIFFE verification and `authorize`.
 */
export function grpcChannelCredentials(source: X509WatchedSource, authorize: Authorizer): ChannelCredentials {
  const provider = new SourceCertificateProvider(source);
  return experimental.createCertificateProviderChannelCredentials(provider, provider, {
    rejectUnauthorized: true,
    checkServerIdentity: spiffeServerCheck(source, authorize),
  });
}

/**
 * Serves a grpc-js server over an `MtlsServer`: the listener does TLS and SPIFFE
 * verification per connection, and only verified connections reach grpc-js. Returns a
 * function that stops the injection.
 */
export function serveGrpcOverMtls(server: Server, listener: MtlsServer): () => void {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const inject = (socket: Parameters<typeof injector.injectConnection>[0]) => injector.injectConnection(socket);
  listener.on('connection', inject);
  return () => {
    listener.off('connection', inject);
    injector.destroy();
  };
}

/**
 * The SPIFFE ID of the caller of a server call that arrived through `serveGrpcOverMtls`
 * (its connection was verified when it was accepted). Throws when the call did not come
 * over mTLS, so a handler never mistakes an unauthenticated call for an authenticated one.
 */
export function callerSpiffeId(call: Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>): SpiffeId {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert?.raw) throw new Error('call has no verified peer certificate');
  return spiffeIdOfLeaf(cert.raw);
}
