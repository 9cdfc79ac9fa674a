import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509SvidError } from '../errors';
import type { X509SvidSource } from '../sources';
import type { X509BundleSet } from '../x509/x509-bundle-set';
import type { X509Svid } from '../x509/x509-svid';

/** What TLS needs from a source: the current SVID and the bundles of every trust domain. */
export interface X509TlsSource extends X509SvidSource {
  getX509BundleSet(): X509BundleSet;
}

export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * TLS context material for a source's *current* SVID and bundles. A source hands out new
 * objects when it rotates, so comparing identities tells when to rebuild: a rotated SVID
 * is used by the next handshake, with no listener to wire and nothing to restart.
 * An SVID past its notAfter is never handed out (see `unexpiredSvid`).
 */
export class SecureContextCache {
  private svid: X509Svid | undefined;
  private bundles: X509BundleSet | undefined;
  private context: SecureContext | undefined;

  constructor(private readonly source: X509TlsSource) {}

  /** True when the source has rotated since the context was last built. Throws when there is no SVID, or it has expired. */
  isStale(): boolean {
    return unexpiredSvid(this.source) !== this.svid || this.source.getX509BundleSet() !== this.bundles;
  }

  /** Options for the current material, marking it as the one in use. Throws when there is no SVID, or it has expired. */
  options(): SecureContextOptions {
    this.svid = unexpiredSvid(this.source);
    this.bundles = this.source.getX509BundleSet();
    this.context = undefined;
    return contextOptions(this.svid, this.bundles);
  }

  /** A context for the current material, rebuilt only after a rotation. */
  get(): SecureContext {
    if (!this.context || this.isStale()) this.context = createSecureContext(this.options());
    return this.context;
  }
}

/**
 * The source's SVID, or `X509SvidError` once it is past its notAfter. A source keeps its last
 * SVID for as long as the Workload API sends no new one, expired or not; presenting it then
 * would be serving with an identity no peer should accept, so TLS presents none: a server
 * refuses the handshake, a client does not connect.
 */
export function unexpiredSvid(source: X509SvidSource, now = Date.now()): X509Svid {
  const svid = source.getX509Svid();
  if (now > svid.expiresAt.getTime()) throw new X509SvidError(`the X.509-SVID expired at ${svid.expiresAt.toISOString()}`);
  return svid;
}

/**
 * `ca` holds the roots of every trust domain so that OpenSSL can complete a handshake;
 * the SPIFFE check (`verifyPeer`) then re-verifies against the peer's own trust domain.
 *
 * TLS 1.2 renegotiation is refused by OpenSSL itself (a `no_renegotiation` alert), in either
 * direction. Node's TLS server otherwise lets a client renegotiate 3 times per 10 minutes, and
 * HTTP/2 forbids it (RFC 9113 §9.2.1): a peer verified at the handshake could present another
 * certificate mid-connection, or make the server pay for handshakes at will. Node's http2 also
 * cuts a session whose socket starts renegotiating, but only once the socket is an HTTP/2
 * session's; this holds for every connection, from its first byte. Here, not in the listener's
 * options: a rotation replaces the server's context with these options alone.
 */
function contextOptions(svid: X509Svid, bundles: X509BundleSet): SecureContextOptions {
  return {
    cert: svid.certChainPem(),
    key: svid.privateKeyPem(),
    ca: bundles.bundles().map((b) => b.authoritiesPem()),
    minVersion: MIN_TLS_VERSION,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}
