import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { X509SvidError } from '../errors';
import type { SpiffeId } from '../id/spiffe-id';
import { certificateFacts, type CertificateFacts, KeyUsageFlags } from './certificate-facts';
import { splitDer } from './der';

// Key types go-spiffe's keyMatches accepts; anything else it reports as unsupported.
const SUPPORTED_KEY_TYPES = new Set(['rsa', 'ec', 'ed25519']);

/**
 * An X.509-SVID: the workload's own certificate chain (leaf first) and private key, as
 * the Workload API delivers it. The key never appears in `toJSON`, `util.inspect` or an
 * error message; it leaves only through `privateKey` and `privateKeyPem()`.
 */
export class X509Svid {
  #chainPem: string | undefined;
  #keyPem: string | undefined;

  private constructor(
    readonly id: SpiffeId,
    readonly certificates: readonly X509Certificate[],
    readonly privateKey: KeyObject,
    /** Operator label from the Workload API (`internal`, `external`...); `''` when unset. */
    readonly hint: string,
    private readonly leafNotAfter: number,
  ) {}

  /**
   * Parses concatenated DER certificates (leaf first) and an unencrypted PKCS#8 DER key,
   * applying go-spiffe's `x509svid.ParseRaw` checks with its error texts.
   */
  static parseRaw(certsDer: Uint8Array, keyDer: Uint8Array, hint = ''): X509Svid {
    let facts: CertificateFacts[];
    try {
      facts = splitDer(certsDer).map((der) => certificateFacts(der));
    } catch (err) {
      throw new X509SvidError(`x509svid: cannot parse DER encoded certificate: ${(err as Error).message}`, { cause: err });
    }

    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: Buffer.from(keyDer.buffer, keyDer.byteOffset, keyDer.byteLength), format: 'der', type: 'pkcs8' });
    } catch (err) {
      // Node's message names only the failure, never key bytes.
      throw new X509SvidError(`x509svid: cannot parse DER encoded private key: ${(err as Error).message}`, { cause: err });
    }

    const id = validateCertificates(facts);
    const leaf = facts[0].certificate;
    const keyType = privateKey.asymmetricKeyType ?? 'unknown';
    if (!SUPPORTED_KEY_TYPES.has(keyType)) {
      throw new X509SvidError(`x509svid: private key validation failed: unsupported private key type ${keyType}`);
    }
    if (!leaf.checkPrivateKey(privateKey)) {
      throw new X509SvidError('x509svid: private key validation failed: leaf certificate does not match private key');
    }
    return new X509Svid(id, Object.freeze(facts.map((f) => f.certificate)), privateKey, hint, facts[0].notAfter);
  }

  /** The leaf's notAfter. */
  get expiresAt(): Date {
    return new Date(this.leafNotAfter);
  }

  /** The chain as concatenated PEM, for Node TLS's `cert` option; computed once. */
  certChainPem(): string {
    this.#chainPem ??= this.certificates.map((c) => c.toString()).join('');
    return this.#chainPem;
  }

  /** The key as PKCS#8 PEM, for Node TLS's `key` option; computed once. */
  privateKeyPem(): string {
    this.#keyPem ??= this.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    return this.#keyPem;
  }

  /** What a log may show: never the key. */
  toJSON(): { id: string; hint: string; expiresAt: string; serialNumber: string; chainLength: number } {
    return {
      id: this.id.toString(),
      hint: this.hint,
      expiresAt: this.expiresAt.toISOString(),
      serialNumber: this.certificates[0].serialNumber,
      chainLength: this.certificates.length,
    };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return `X509Svid ${inspect(this.toJSON(), options)}`;
  }
}

/** go-spiffe `validateCertificates`; returns the leaf's SPIFFE ID. */
function validateCertificates(facts: CertificateFacts[]): SpiffeId {
  const fail = (reason: string): never => {
    throw new X509SvidError(`x509svid: certificate validation failed: ${reason}`);
  };
  if (facts.length === 0) fail('no certificates found');

  const [leaf, ...signers] = facts;
  let id: SpiffeId;
  try {
    id = leaf.spiffeId();
  } catch (err) {
    return fail(`cannot get leaf certificate SPIFFE ID: ${(err as Error).message}`);
  }
  if (!id.isWorkload) fail('leaf certificate SPIFFE ID must have a non-root path');
  if (leaf.isCa) fail('leaf certificate must not have CA flag set to true');
  if (!leaf.hasKeyUsageBit(KeyUsageFlags.digitalSignature)) fail("leaf certificate must have 'digitalSignature' set as key usage");
  if (leaf.hasKeyUsageBit(KeyUsageFlags.keyCertSign)) fail("leaf certificate must not have 'keyCertSign' set as key usage");
  if (leaf.hasKeyUsageBit(KeyUsageFlags.cRLSign)) fail("leaf certificate must not have 'cRLSign' set as key usage");

  for (const signer of signers) {
    if (!signer.isCa) fail('signing certificate must have CA flag set to true');
    if (!signer.hasKeyUsageBit(KeyUsageFlags.keyCertSign)) fail("signing certificate must have 'keyCertSign' set as key usage");
  }
  return id;
}
