import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { X509SvidError } from '../errors';
import type { SpiffeId } from '../id/spiffe-id';
import type { X509BundleSource } from '../sources';
import type { X509Bundle } from './x509-bundle';
import { certificateFacts, type CertificateFacts, KeyUsageFlags, type NameConstraintSet } from './certificate-facts';

export interface VerifiedX509Svid {
  /** The leaf's SPIFFE ID. */
  readonly id: SpiffeId;
  /** The path that was built: leaf, intermediates, then the bundle authority it ends in. */
  readonly chain: X509Certificate[];
}

// A SPIRE chain is leaf, at most a few intermediates, root; these bounds only stop a
// hostile peer from making one handshake expensive (Go stops at 100 signature checks).
const MAX_CHAIN_LENGTH = 8;
const MAX_SIGNATURE_CHECKS = 32;
// Parsing is the costly part for an unknown chain, and it happens before any signature
// check, so an unauthenticated peer must not choose how many certificates we parse.
const MAX_PEER_CERTIFICATES = 16;

const UNKNOWN_AUTHORITY = 'x509: certificate signed by unknown authority';
const CANNOT_SIGN = 'x509: invalid signature: parent certificate cannot sign this kind of certificate';
const NOT_AUTHORIZED_FOR_NAME = 'x509: a root or intermediate certificate is not authorized to sign for this name: ';

interface PathNode {
  readonly facts: CertificateFacts;
  /** The caller's object when it gave one, so the returned chain holds what came in. */
  readonly cert: X509Certificate;
}

/** A reason path validation failed, in Go's `crypto/x509` words. */
class PathError extends Error {}

/**
 * Verifies a peer's X.509-SVID chain (leaf first; the rest is an unordered pool of
 * intermediates that may hold extras) against the bundle of the leaf's own trust domain
 * only, per the spec §3.2: the SPIFFE leaf rules, then RFC 5280 path validation with
 * basic constraints, key usage, validity of every certificate (the root's too),
 * pathLenConstraint, URI/DNS name constraints and fail-closed critical extensions.
 * Synchronous, for use in every TLS handshake. Throws `X509SvidError` with go-spiffe's
 * messages.
 */
export function verifyX509Svid(chain: ReadonlyArray<Uint8Array | X509Certificate>, bundles: X509BundleSource, now: Date = new Date()): VerifiedX509Svid {
  if (chain.length === 0) throw new X509SvidError('x509svid: empty certificates chain');
  // An Invalid Date compares false both ways, which would pass every validity check.
  if (Number.isNaN(now.getTime())) throw new X509SvidError('x509svid: verification time is not a valid date');
  if (chain.length > MAX_PEER_CERTIFICATES) {
    throw new X509SvidError(`x509svid: certificate chain has ${chain.length} certificates, more than ${MAX_PEER_CERTIFICATES}`);
  }
  let nodes: PathNode[];
  try {
    nodes = chain.map(toNode);
  } catch (err) {
    throw new X509SvidError(`x509svid: unable to parse certificate: ${(err as Error).message}`, { cause: err });
  }

  const id = leafId(nodes[0].facts);
  const problem = leafProblem(id, nodes[0].facts);
  if (problem !== undefined) throw new X509SvidError(`x509svid: ${problem}`);

  let bundle: X509Bundle;
  try {
    // Only this trust domain's bundle: never a pool of every trust domain's roots.
    bundle = bundles.getX509BundleForTrustDomain(id.trustDomain);
  } catch (err) {
    throw new X509SvidError(`x509svid: could not get X509 bundle: ${(err as Error).message}`, { cause: err });
  }

  try {
    const path = new PathBuilder(nodes.slice(1), bundle.authorities.map(toNode), now).build(nodes[0]);
    return { id, chain: path.map((n) => n.cert) };
  } catch (err) {
    if (!(err instanceof PathError)) throw err;
    throw new X509SvidError(`x509svid: could not verify leaf certificate: ${err.message}`);
  }
}

/**
 * The SPIFFE ID in a leaf's single URI SAN, without verifying anything: for a peer whose
 * chain was already verified (e.g. by `verifyX509Svid` in the TLS handshake).
 */
export function spiffeIdOfLeaf(leaf: Uint8Array | X509Certificate): SpiffeId {
  let facts: CertificateFacts;
  try {
    facts = certificateFacts(leaf);
  } catch (err) {
    throw new X509SvidError(`x509svid: unable to parse certificate: ${(err as Error).message}`, { cause: err });
  }
  return leafId(facts);
}

/**
 * go-spiffe's Verify checks cA, keyCertSign and cRLSign (with these texts); the non-root
 * path and digitalSignature rules come from its ParseRaw and the X509-SVID spec.
 */
function leafProblem(id: SpiffeId, leaf: CertificateFacts): string | undefined {
  if (!id.isWorkload) return 'leaf certificate SPIFFE ID must have a non-root path';
  if (leaf.isCa) return 'leaf certificate with CA flag set to true';
  if (leaf.hasKeyUsageBit(KeyUsageFlags.keyCertSign)) return 'leaf certificate with KeyCertSign key usage';
  if (leaf.hasKeyUsageBit(KeyUsageFlags.cRLSign)) return 'leaf certificate with KeyCrlSign key usage';
  if (!leaf.hasKeyUsageBit(KeyUsageFlags.digitalSignature)) return "leaf certificate must have 'digitalSignature' set as key usage";
  return undefined;
}

function leafId(leaf: CertificateFacts): SpiffeId {
  try {
    return leaf.spiffeId();
  } catch (err) {
    throw new X509SvidError(`x509svid: could not get leaf SPIFFE ID: ${(err as Error).message}`, { cause: err });
  }
}

function toNode(cert: Uint8Array | X509Certificate): PathNode {
  const facts = certificateFacts(cert);
  return { facts, cert: cert instanceof X509Certificate ? cert : facts.certificate };
}

/** Depth-first search from the leaf to any authority of the bundle, as Go's `buildChains`. */
class PathBuilder {
  private signatureChecks = 0;
  /** The first candidate rejection, reported as Go does when no path is found. */
  private hint: { reason: string; candidate: CertificateFacts } | undefined;

  constructor(
    private readonly intermediates: readonly PathNode[],
    private readonly roots: readonly PathNode[],
    private readonly now: Date,
  ) {}

  build(leaf: PathNode): PathNode[] {
    const reason = checkCertificate(leaf.facts, this.now);
    if (reason !== undefined) throw new PathError(reason);
    const path = this.extend([leaf]);
    if (path !== undefined) return path;
    const hint = this.hint;
    throw new PathError(
      hint === undefined
        ? UNKNOWN_AUTHORITY
        : `${UNKNOWN_AUTHORITY} (possibly because of ${JSON.stringify(hint.reason)} while trying to verify candidate authority certificate ${JSON.stringify(hint.candidate.displayName)})`,
    );
  }

  private extend(path: PathNode[]): PathNode[] | undefined {
    const child = path[path.length - 1].facts;
    // Roots first: a peer that also sends its root (or a cross-signed copy) still ends at the anchor.
    for (const [pool, isRoot] of [
      [this.roots, true],
      [this.intermediates, false],
    ] as const) {
      for (const candidate of pool) {
        const parent = candidate.facts;
        if (parent.subjectName !== child.issuerName || path.some((n) => n.facts === parent)) continue;
        const reason = this.rejectIssuer(child, parent, path, isRoot);
        if (reason !== undefined) {
          this.hint ??= { reason, candidate: parent };
          continue;
        }
        if (isRoot) return [...path, candidate];
        if (path.length + 1 >= MAX_CHAIN_LENGTH) {
          this.hint ??= { reason: 'x509: certificate chain is too long', candidate: parent };
          continue;
        }
        const found = this.extend([...path, candidate]);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /** Why `parent` cannot issue `child` at this point of the path, or undefined. */
  private rejectIssuer(child: CertificateFacts, parent: CertificateFacts, path: readonly PathNode[], isRoot: boolean): string | undefined {
    // An intermediate must assert keyCertSign (X509-SVID §4.3); for a trust anchor, RFC
    // 5280 only forbids a keyUsage that leaves keyCertSign out.
    const mayIssue = isRoot ? !parent.hasKeyUsage || parent.hasKeyUsageBit(KeyUsageFlags.keyCertSign) : parent.hasKeyUsageBit(KeyUsageFlags.keyCertSign);
    if (!parent.isCa || !mayIssue) return CANNOT_SIGN;
    if (++this.signatureChecks > MAX_SIGNATURE_CHECKS) {
      throw new PathError('x509: signature check attempts limit reached while verifying certificate chain');
    }
    if (!child.isSignedBy(parent)) return 'x509: signature verification failure';
    const reason = checkCertificate(parent, this.now);
    if (reason !== undefined) return reason;
    if (parent.nameConstraints !== undefined && parent.nameConstraints !== 'unsupported') {
      for (const below of path) {
        const violation = nameConstraintViolation(parent.nameConstraints, below.facts);
        if (violation !== undefined) return NOT_AUTHORIZED_FOR_NAME + violation;
      }
    }
    // Go counts every intermediate below, self-issued or not (RFC 5280 would skip those).
    if (parent.pathLen !== undefined && path.length - 1 > parent.pathLen) {
      return 'x509: too many intermediates for path length constraint';
    }
    return undefined;
  }
}

/** The checks every certificate in a path gets, leaf and anchor included. */
function checkCertificate(facts: CertificateFacts, now: Date): string | undefined {
  if (facts.unhandledCriticalExtensions.length > 0) return 'x509: unhandled critical extension';
  // Fail closed: a constraint we cannot evaluate must not be ignored.
  if (facts.nameConstraints === 'unsupported') return 'x509: unsupported name constraint';
  const t = now.getTime();
  if (t < facts.notBefore) return `x509: certificate has expired or is not yet valid: current time ${rfc3339(t)} is before ${rfc3339(facts.notBefore)}`;
  if (t > facts.notAfter) return `x509: certificate has expired or is not yet valid: current time ${rfc3339(t)} is after ${rfc3339(facts.notAfter)}`;
  return undefined;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 5280 §4.2.1.10 for the URI and DNS SANs of `cert`; a description of the first violation. */
function nameConstraintViolation(nc: NameConstraintSet, cert: CertificateFacts): string | undefined {
  if (nc.permittedUris.length > 0 || nc.excludedUris.length > 0) {
    for (const uri of cert.uris) {
      const host = uriDomainHost(uri);
      if (host === undefined) return `URI ${JSON.stringify(uri)} has no domain name host to match against constraints`;
      const violation = checkName('URI', uri, host, nc.permittedUris, nc.excludedUris, matchUriHost);
      if (violation !== undefined) return violation;
    }
  }
  if (nc.permittedDns.length > 0 || nc.excludedDns.length > 0) {
    for (const name of cert.dnsNames) {
      const violation = checkName('DNS name', name, name, nc.permittedDns, nc.excludedDns, matchDnsName);
      if (violation !== undefined) return violation;
    }
  }
  return undefined;
}

function checkName(
  kind: string,
  name: string,
  host: string,
  permitted: readonly string[],
  excluded: readonly string[],
  match: (host: string, constraint: string) => boolean,
): string | undefined {
  const hit = excluded.find((c) => match(host, c));
  if (hit !== undefined) return `${kind} ${JSON.stringify(name)} is excluded by constraint ${JSON.stringify(hit)}`;
  if (permitted.length > 0 && !permitted.some((c) => match(host, c))) return `${kind} ${JSON.stringify(name)} is not permitted by any constraint`;
  return undefined;
}

/**
 * The domain-name host of `scheme://[userinfo@]host[:port]/...`; undefined when there is
 * none or it is an IP address, which RFC 5280 says cannot satisfy a URI constraint.
 */
function uriDomainHost(uri: string): string | undefined {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri)?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[')) return undefined; // an IPv6 literal
  const colon = hostPort.indexOf(':');
  const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
  return host === '' || isIP(host) !== 0 ? undefined : host;
}

/** URI constraints name a host; a leading `.` means any proper subdomain of it (RFC 5280). */
function matchUriHost(host: string, constraint: string): boolean {
  if (constraint === '') return true;
  const h = host.toLowerCase();
  const c = constraint.toLowerCase();
  return c.startsWith('.') ? h.length > c.length && h.endsWith(c) : h === c;
}

/** DNS constraints match the name and any name with labels added on the left (RFC 5280). */
function matchDnsName(name: string, constraint: string): boolean {
  if (constraint === '') return true;
  const n = name.toLowerCase();
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return n.length > c.length && n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}
