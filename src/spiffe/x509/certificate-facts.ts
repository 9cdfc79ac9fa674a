import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Certificate, GeneralSubtrees, Name, NameConstraints } from '@peculiar/asn1-x509';
import { DerError, X509SvidError } from '../errors';
import { SpiffeId } from '../id/spiffe-id';
import { asn1 } from './asn1';
import { readDerElement } from './der';

/**
 * KeyUsage bits, as @peculiar/asn1-x509's `KeyUsageFlags` numbers them (a test checks they
 * agree); kept here so that this module can be imported without loading the parser.
 */
export const KeyUsageFlags = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;
export type KeyUsageFlag = (typeof KeyUsageFlags)[keyof typeof KeyUsageFlags];

/** Extension OIDs (RFC 5280 §4.2.1), equal to @peculiar/asn1-x509's `id_ce_*` (a test checks). */
export const EXTENSION_OIDS = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
} as const;

/** URI and DNS subtrees of a nameConstraints extension (the only name forms we enforce). */
export interface NameConstraintSet {
  readonly permittedUris: readonly string[];
  readonly excludedUris: readonly string[];
  readonly permittedDns: readonly string[];
  readonly excludedDns: readonly string[];
}

// Critical extensions whose meaning we enforce, or (certificatePolicies, extKeyUsage) whose
// content cannot change the outcome: without policyConstraints, RFC 5280 policy processing
// never fails, and SPIFFE verification accepts any EKU, as go-spiffe does.
// nameConstraints is handled only when every subtree is a URI or DNS name (see below).
const HANDLED_CRITICAL = new Set<string>(Object.values(EXTENSION_OIDS));

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';

/**
 * What path validation needs to know about one certificate, read once with an ASN.1
 * parser (Node's `X509Certificate.ca` and `.keyUsage` cannot be trusted for this, see the
 * spec §3.6) and cached by DER, since an agent presents the same chain on every handshake.
 * Signature checks are memoized per issuer too: they depend on nothing but the two DERs.
 */
export class CertificateFacts {
  private key: KeyObject | undefined;
  private id: SpiffeId | undefined;
  private readonly signatures = new WeakMap<CertificateFacts, boolean>();

  constructor(
    /** Node's view of the same DER: signatures, PEM, fingerprints. */
    readonly certificate: X509Certificate,
    /** basicConstraints cA (false when the extension is absent). */
    readonly isCa: boolean,
    /** basicConstraints pathLenConstraint, when present. */
    readonly pathLen: number | undefined,
    readonly hasKeyUsage: boolean,
    /** KeyUsage bits as `KeyUsageFlags`; 0 when the extension is absent. */
    readonly keyUsage: number,
    /** URI SANs in certificate order. */
    readonly uris: readonly string[],
    readonly dnsNames: readonly string[],
    /** OIDs of critical extensions this module does not process. */
    readonly unhandledCriticalExtensions: readonly string[],
    /** `'unsupported'` when a subtree uses a name form, minimum or maximum we do not enforce. */
    readonly nameConstraints: NameConstraintSet | 'unsupported' | undefined,
    /** Validity window, in epoch milliseconds. */
    readonly notBefore: number,
    readonly notAfter: number,
    /** Exact DER of the subject and issuer names (latin1), compared byte-wise as Go does. */
    readonly subjectName: string,
    readonly issuerName: string,
    /** CN, else O, else `serial:<n>`: how Go names a certificate in errors. */
    readonly displayName: string,
  ) {}

  hasKeyUsageBit(flag: KeyUsageFlag): boolean {
    return (this.keyUsage & flag) !== 0;
  }

  /**
   * The SPIFFE ID in the single URI SAN (go-spiffe `x509svid.IDFromCert`). Throws
   * `X509SvidError` with go-spiffe's bare reason; callers prefix their own context.
   */
  spiffeId(): SpiffeId {
    if (this.id === undefined) {
      if (this.uris.length === 0) throw new X509SvidError('certificate contains no URI SAN');
      if (this.uris.length > 1) throw new X509SvidError('certificate contains more than one URI SAN');
      try {
        this.id = SpiffeId.parse(this.uris[0]);
      } catch (err) {
        throw new X509SvidError((err as Error).message, { cause: err });
      }
    }
    return this.id;
  }

  /** True when `issuer`'s public key verifies this certificate's signature. */
  isSignedBy(issuer: CertificateFacts): boolean {
    let ok = this.signatures.get(issuer);
    if (ok === undefined) {
      issuer.key ??= issuer.certificate.publicKey;
      ok = this.certificate.verify(issuer.key);
      this.signatures.set(issuer, ok);
    }
    return ok;
  }
}

const cache = new LRUCache<string, CertificateFacts>({ max: 2048 });
// Long-lived certificate objects (bundle authorities, our own SVID) skip even the hashing.
const byObject = new WeakMap<X509Certificate, CertificateFacts>();

/**
 * The facts of one DER certificate (or of a Node `X509Certificate`), from a bounded LRU
 * keyed by the DER's SHA-256. Throws `DerError` when the certificate cannot be parsed.
 */
export function certificateFacts(cert: Uint8Array | X509Certificate): CertificateFacts {
  const object = cert instanceof X509Certificate ? cert : undefined;
  if (object !== undefined) {
    const known = byObject.get(object);
    if (known !== undefined) return known;
  }
  const der = object?.raw ?? (cert as Uint8Array);
  const key = createHash('sha256').update(der).digest('base64');
  let facts = cache.get(key);
  if (facts === undefined) {
    facts = parseFacts(der, object);
    cache.set(key, facts);
  }
  if (object !== undefined) byObject.set(object, facts);
  return facts;
}

function parseFacts(der: Uint8Array, given: X509Certificate | undefined): CertificateFacts {
  // Node and the ASN.1 parser both ignore bytes after the certificate; we do not.
  if (der.length === 0 || readDerElement(der, 0).end !== der.length) {
    throw new DerError('certificate has trailing data or is empty');
  }
  const { AsnConvert } = asn1().schema;
  const { BasicConstraints, Certificate, KeyUsage, NameConstraints, SubjectAlternativeName } = asn1().x509;
  let certificate: X509Certificate;
  let parsed: Certificate;
  try {
    certificate = given ?? new X509Certificate(der);
    parsed = AsnConvert.parse(der, Certificate);
  } catch (err) {
    throw new DerError(`malformed certificate: ${(err as Error).message}`, { cause: err });
  }
  const tbs = parsed.tbsCertificate;

  let isCa = false;
  let pathLen: number | undefined;
  let hasKeyUsage = false;
  let keyUsage = 0;
  let uris: string[] = [];
  let dnsNames: string[] = [];
  let nameConstraints: NameConstraintSet | 'unsupported' | undefined;
  const unhandled: string[] = [];
  const seen = new Set<string>();

  for (const ext of tbs.extensions ?? []) {
    if (seen.has(ext.extnID)) throw new DerError(`duplicate extension ${ext.extnID}`);
    seen.add(ext.extnID);
    if (ext.critical && !HANDLED_CRITICAL.has(ext.extnID)) unhandled.push(ext.extnID);
    const value = ext.extnValue.buffer;
    try {
      switch (ext.extnID) {
        case EXTENSION_OIDS.basicConstraints: {
          const bc = AsnConvert.parse(value, BasicConstraints);
          isCa = bc.cA;
          pathLen = bc.pathLenConstraint;
          break;
        }
        case EXTENSION_OIDS.keyUsage:
          hasKeyUsage = true;
          keyUsage = keyUsageBits(new Uint8Array(AsnConvert.parse(value, KeyUsage).value));
          break;
        case EXTENSION_OIDS.subjectAltName: {
          const names = AsnConvert.parse(value, SubjectAlternativeName);
          uris = names.flatMap((n) => (n.uniformResourceIdentifier === undefined ? [] : [n.uniformResourceIdentifier]));
          dnsNames = names.flatMap((n) => (n.dNSName === undefined ? [] : [n.dNSName]));
          break;
        }
        case EXTENSION_OIDS.nameConstraints:
          nameConstraints = nameConstraintSet(AsnConvert.parse(value, NameConstraints));
          break;
      }
    } catch (err) {
      throw new DerError(`malformed extension ${ext.extnID}: ${(err as Error).message}`, { cause: err });
    }
  }

  const names = rawNames(der);
  return new CertificateFacts(
    certificate,
    isCa,
    pathLen,
    hasKeyUsage,
    keyUsage,
    uris,
    dnsNames,
    unhandled,
    nameConstraints,
    tbs.validity.notBefore.getTime().getTime(),
    tbs.validity.notAfter.getTime().getTime(),
    names.subject,
    names.issuer,
    displayName(tbs.subject, tbs.serialNumber),
  );
}

/** KeyUsage BIT STRING: bit i (counted from the first octet's most significant bit) is flag 1 << i. */
function keyUsageBits(octets: Uint8Array): number {
  let flags = 0;
  for (let bit = 0; bit < 9 && bit >> 3 < octets.length; bit++) {
    if ((octets[bit >> 3] >> (7 - (bit & 7))) & 1) flags |= 1 << bit;
  }
  return flags;
}

function nameConstraintSet(nc: NameConstraints): NameConstraintSet | 'unsupported' {
  const permitted = subtrees(nc.permittedSubtrees);
  const excluded = subtrees(nc.excludedSubtrees);
  if (permitted === 'unsupported' || excluded === 'unsupported') return 'unsupported';
  return { permittedUris: permitted.uris, permittedDns: permitted.dns, excludedUris: excluded.uris, excludedDns: excluded.dns };
}

function subtrees(list: GeneralSubtrees | undefined): { uris: string[]; dns: string[] } | 'unsupported' {
  const out = { uris: [] as string[], dns: [] as string[] };
  for (const subtree of list ?? []) {
    // RFC 5280 §4.2.1.10: minimum MUST be zero and maximum absent; anything else we cannot honour.
    if ((subtree.minimum ?? 0) !== 0 || subtree.maximum !== undefined) return 'unsupported';
    const base = subtree.base;
    if (base.uniformResourceIdentifier !== undefined) out.uris.push(base.uniformResourceIdentifier);
    else if (base.dNSName !== undefined) out.dns.push(base.dNSName);
    else return 'unsupported';
  }
  return out;
}

/**
 * The exact issuer and subject bytes, read from the TBSCertificate: `[0] version`
 * (optional), serialNumber, signature, issuer, validity, subject. Re-encoding the parsed
 * names could normalise them, and chains are matched on exact bytes.
 */
function rawNames(der: Uint8Array): { issuer: string; subject: string } {
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  const cert = readDerElement(bytes, 0);
  const tbs = readDerElement(bytes, cert.contentStart, cert.end);
  let field = readDerElement(bytes, tbs.contentStart, tbs.end);
  if (field.tag === 0xa0) field = readDerElement(bytes, field.end, tbs.end); // version
  const signature = readDerElement(bytes, field.end, tbs.end); // field is the serial number
  const issuer = readDerElement(bytes, signature.end, tbs.end);
  const validity = readDerElement(bytes, issuer.end, tbs.end);
  const subject = readDerElement(bytes, validity.end, tbs.end);
  return {
    issuer: bytes.toString('latin1', issuer.start, issuer.end),
    subject: bytes.toString('latin1', subject.start, subject.end),
  };
}

function displayName(subject: Name, serial: ArrayBuffer): string {
  for (const oid of [OID_COMMON_NAME, OID_ORGANIZATION]) {
    for (const rdn of subject) {
      for (const attr of rdn) if (attr.type === oid) return attr.value.toString();
    }
  }
  return `serial:${BigInt(`0x${Buffer.from(serial).toString('hex') || '0'}`)}`;
}
