import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';

/**
 * The DER chain a TLS peer presented, leaf first, as Node exposes it: a linked list of
 * `issuerCertificate`s that ends at a self-signed certificate (which points at itself)
 * or at a certificate whose issuer Node could not find.
 */
export function chainFromPeerCertificate(cert: PeerCertificate | DetailedPeerCertificate): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<PeerCertificate>();
  let current: PeerCertificate | undefined = cert;
  while (current && current.raw && !seen.has(current)) {
    seen.add(current);
    chain.push(current.raw);
    current = (current as DetailedPeerCertificate).issuerCertificate;
  }
  return chain;
}

/** The chain of the peer on a connected socket; empty when the peer sent none. */
export function peerChain(socket: TLSSocket): Buffer[] {
  return chainFromPeerCertificate(socket.getPeerCertificate(true));
}
