import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { TrustDomain } from '../id/trust-domain';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
// @peculiar/x509 types WebCrypto with the DOM's global names, which a Node build does not load.
const crypto = webcrypto as unknown as NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const HOUR = 3600_000;

export interface ValidityOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** Used when notAfter is not given; default one hour, as go-spiffe's test CA. */
  ttlMs?: number;
}

/** What a leaf carries. The defaults make a conforming X.509-SVID; tests override them to make bad ones. */
export interface LeafOptions extends ValidityOptions {
  /** URI SANs; default `[id]`. */
  uris?: string[];
  dnsNames?: string[];
  /** basicConstraints cA; default false. */
  ca?: boolean;
  /** KeyUsage bits (`x509.KeyUsageFlags`); `null` leaves the extension out. Default digitalSignature. */
  keyUsage?: number | null;
  /** Extra extensions, e.g. an unknown critical one. */
  extensions?: x509.Extension[];
}

/** What a CA certificate carries. The defaults make a conforming SPIFFE signing certificate. */
export interface CaOptions extends ValidityOptions {
  /** basicConstraints cA; default true. */
  ca?: boolean;
  /** KeyUsage bits (`x509.KeyUsageFlags`); `null` leaves the extension out. Default keyCertSign | cRLSign. */
  keyUsage?: number | null;
  /** basicConstraints pathLenConstraint; default none. */
  pathLength?: number;
  /** Extra extensions, e.g. name constraints. */
  extensions?: x509.Extension[];
}

export interface IssuedX509Svid {
  id: string;
  /** Leaf first, then the intermediates up to (not including) the root. */
  certificates: Buffer[];
  /** Unencrypted PKCS#8 DER, as the Workload API sends it. */
  privateKey: Buffer;
}

/**
 * An in-memory ECDSA P-256 certificate authority for one trust domain: a root, or an
 * intermediate under another DevCa. For the dev identity provider and tests only; its
 * keys never leave memory.
 */
export class DevCa {
  private constructor(
    readonly trustDomain: TrustDomain,
    private readonly keys: CryptoKeyPair,
    /** This CA's certificate (DER). */
    readonly certificate: Buffer,
    /** This CA's certificate followed by its issuers', excluding the root. Empty for a root. */
    private readonly intermediates: Buffer[],
    /** The self-signed root at the top of this CA's chain (the trust domain's bundle). */
    readonly root: Buffer,
  ) {}

  static async create(trustDomain: TrustDomain | string, options: CaOptions = {}): Promise<DevCa> {
    const td = TrustDomain.from(trustDomain);
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: caName(td, 'root'),
        keys,
        signingAlgorithm: ALG,
        ...validity(options),
        extensions: await caExtensions(td, keys.publicKey, keys.publicKey, options),
      },
      crypto,
    );
    const der = Buffer.from(cert.rawData);
    return new DevCa(td, keys, der, [], der);
  }

  /** An intermediate CA signed by this one, in the same trust domain. */
  async createIntermediate(options: CaOptions = {}): Promise<DevCa> {
    const keys = await generateKeys();
    const der = await this.sign(
      caName(this.trustDomain, `intermediate ${this.intermediates.length + 1}`),
      keys.publicKey,
      options,
      await caExtensions(this.trustDomain, keys.publicKey, this.keys.publicKey, options),
    );
    return new DevCa(this.trustDomain, keys, der, [der, ...this.intermediates], this.root);
  }

  /** The trust domain's X.509 bundle as the Workload API sends it: concatenated DER roots. */
  bundle(): Buffer {
    return this.root;
  }

  /** Issues a leaf for `id` (which is not checked, so tests can mint invalid ones). */
  async issue(id: string, options: LeafOptions = {}): Promise<IssuedX509Svid> {
    const keys = await generateKeys();
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...(options.uris ?? [id]).map((value) => ({ type: 'url' as const, value })),
        ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey, false, crypto),
    ];
    const keyUsage = options.keyUsage === undefined ? x509.KeyUsageFlags.digitalSignature : options.keyUsage;
    if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
    extensions.push(...(options.extensions ?? []));

    const leaf = await this.sign('O=SPIFFE', keys.publicKey, options, extensions);
    const privateKey = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    return { id, certificates: [leaf, ...this.intermediates], privateKey };
  }

  /** A certificate (DER) for `publicKey`, issued by this CA. */
  private async sign(subject: string, publicKey: CryptoKey, options: ValidityOptions, extensions: x509.Extension[]): Promise<Buffer> {
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject,
        issuer: new x509.X509Certificate(this.certificate).subject,
        publicKey,
        signingKey: this.keys.privateKey,
        signingAlgorithm: ALG,
        ...validity(options),
        extensions,
      },
      crypto,
    );
    return Buffer.from(cert.rawData);
  }
}

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

function caName(td: TrustDomain, role: string): string {
  return `O=SPIFFE, OU=${td.name}, CN=toolgate dev ${role} CA ${webcrypto.randomUUID().slice(0, 8)}`;
}

function validity(options: ValidityOptions): { notBefore: Date; notAfter: Date } {
  // Backdate a little so that a peer whose clock lags by a second still accepts the cert.
  const notBefore = options.notBefore ?? new Date(Date.now() - 10_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 10_000 + (options.ttlMs ?? HOUR));
  return { notBefore, notAfter };
}

async function caExtensions(td: TrustDomain, publicKey: CryptoKey, issuerKey: CryptoKey, options: CaOptions): Promise<x509.Extension[]> {
  const keyUsage = options.keyUsage === undefined ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : options.keyUsage;
  return [
    new x509.BasicConstraintsExtension(options.ca ?? true, options.pathLength, true),
    ...(keyUsage === null ? [] : [new x509.KeyUsagesExtension(keyUsage, true)]),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: td.idString() }]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKey, false, crypto),
    ...(options.extensions ?? []),
  ];
}
