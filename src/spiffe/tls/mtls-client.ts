import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { Authorizer } from './authorizer';
import { chainFromPeerCertificate } from './peer-chain';
import { SecureContextCache, type X509TlsSource } from './secure-context-cache';
import { verifyPeer } from './verify-peer';

/**
 * The SPIFFE server check, in the shape Node's TLS client calls after every handshake.
 * It replaces hostname verification: SVIDs carry a SPIFFE ID, not DNS names.
 */
export function spiffeServerCheck(source: X509TlsSource, authorize: Authorizer) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    try {
      verifyPeer(chainFromPeerCertificate(cert), source.getX509BundleSet(), authorize);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };
}

/**
 * Options for `tls.connect` / `http2.connect` that present the source's current SVID and
 * accept only a server that passes SPIFFE verification and the authorizer. Call the
 * returned function per connection: it picks up a rotated SVID without any restart.
 */
export function mtlsClientOptions(source: X509TlsSource, authorize: Authorizer, alpnProtocols: string[] = ['h2']): () => ConnectionOptions {
  const contexts = new SecureContextCache(source);
  const checkServerIdentity = spiffeServerCheck(source, authorize);
  return () => ({
    secureContext: contexts.get(),
    rejectUnauthorized: true,
    checkServerIdentity,
    ALPNProtocols: alpnProtocols,
  });
}
