import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
// jose is an ES module; the attribute lets CommonJS users' tsc resolve this type-only import.
import type { JWK } from 'jose' with { 'resolution-mode': 'import' };
import { BundleError } from '../errors';
import { TrustDomain } from '../id/trust-domain';

/** One public key that may sign JWT-SVIDs of a trust domain. */
export interface JwtAuthority {
  /** The JWK `kid`; `undefined` for a key without one, used only for tokens without `kid`. */
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

/** The curves of ES256, ES384 and ES512: the only EC keys a JWT-SVID can be verified with. */
const CURVES: ReadonlyMap<string, string> = new Map([
  ['P-256', 'prime256v1'],
  ['P-384', 'secp384r1'],
  ['P-521', 'secp521r1'],
]);
const NODE_CURVES = new Set(CURVES.values());
/** jose refuses RSA signatures with a shorter modulus, so such a key could never verify a token. */
const MIN_RSA_BITS = 2048;

/**
 * The JWT authorities (public keys) of one trust domain. Immutable. Keys are imported once,
 * here, so that validating a token does no key parsing.
 *
 * Parsing follows the SPIFFE bundle format (spec §4.4) as the Workload API sends it (§4.5):
 * - `keys` must be present; an empty array is valid and trusts nothing.
 * - A key whose `use` is absent or `jwt-svid` is usable. SPIRE sends no `use` over the
 *   Workload API; any other `use` (`x509-svid`, `wit-svid`, even `sig`) marks a key that
 *   must never verify a JWT-SVID, so it is ignored.
 * - Only RSA (≥ 2048 bits) and EC P-256/P-384/P-521 keys can verify one of the nine JWT-SVID
 *   algorithms. Any other `kty` (OKP, oct, unknown) or a malformed key is ignored, and the
 *   rest of the bundle kept: ignoring a key only ever narrows trust, whereas rejecting the
 *   whole bundle would keep a caller on an older one, possibly with revoked keys.
 * - A key without `kid` is kept for tokens without `kid` (spec §4.1). Two usable keys with
 *   the same `kid` make the bundle ambiguous and it is rejected (go-spiffe keeps the last).
 * - Only the public members of a JWK are read: private material is never imported.
 */
export class JwtBundle {
  readonly #byKid: ReadonlyMap<string, KeyObject>;
  readonly #authorities: readonly JwtAuthority[];

  private constructor(
    readonly trustDomain: TrustDomain,
    authorities: JwtAuthority[],
  ) {
    const byKid = new Map<string, KeyObject>();
    for (const { kid, key } of authorities) {
      if (kid === undefined) continue;
      if (byKid.has(kid)) throw new BundleError(`jwtbundle: duplicate key ID ${JSON.stringify(kid)}`);
      byKid.set(kid, key);
    }
    this.#byKid = byKid;
    this.#authorities = Object.freeze(authorities);
  }

  /** Parses a JWK Set (JSON text or UTF-8 bytes), as received from the Workload API or a bundle endpoint. */
  static parse(trustDomain: TrustDomain | string, jwks: Uint8Array | string): JwtBundle {
    const td = TrustDomain.from(trustDomain);
    let doc: unknown;
    try {
      doc = JSON.parse(typeof jwks === 'string' ? jwks : Buffer.from(jwks.buffer, jwks.byteOffset, jwks.byteLength).toString('utf8'));
    } catch (err) {
      throw new BundleError(`jwtbundle: unable to parse JWKS: ${(err as Error).message}`, { cause: err });
    }
    if (!isObject(doc)) throw new BundleError('jwtbundle: unable to parse JWKS: not a JSON object');
    if (doc.keys === undefined || doc.keys === null) throw new BundleError('jwtbundle: no authorities found');
    if (!Array.isArray(doc.keys)) throw new BundleError('jwtbundle: unable to parse JWKS: "keys" is not an array');

    const authorities: JwtAuthority[] = [];
    for (const entry of doc.keys as unknown[]) {
      const authority = importAuthority(entry);
      if (authority !== undefined) authorities.push(authority);
    }
    return new JwtBundle(td, authorities);
  }

  /**
   * Builds a bundle from keys the caller holds (e.g. a dev signer's). Unlike `parse`, an
   * unusable key is an error here: the caller named it explicitly. A private key is accepted
   * and only its public half kept.
   */
  static fromKeys(trustDomain: TrustDomain | string, keys: ReadonlyMap<string, KeyObject | JWK>): JwtBundle {
    const td = TrustDomain.from(trustDomain);
    const authorities: JwtAuthority[] = [];
    for (const [kid, input] of keys) {
      if (kid === '') throw new BundleError('jwtbundle: keyID cannot be empty');
      const key = input instanceof KeyObject ? usableKeyObject(input) : importPublicKey(input as Record<string, unknown>);
      if (key === undefined) {
        throw new BundleError(`jwtbundle: key ${JSON.stringify(kid)} is not an RSA (>= ${MIN_RSA_BITS} bits) or EC P-256/P-384/P-521 key`);
      }
      authorities.push({ kid, key });
    }
    return new JwtBundle(td, authorities);
  }

  /** The key with this `kid`, if any. Keys without `kid` are never returned here. */
  findKey(kid: string): KeyObject | undefined {
    return this.#byKid.get(kid);
  }

  /** Every usable key, with and without `kid`, in bundle order. */
  keys(): readonly JwtAuthority[] {
    return this.#authorities;
  }

  get size(): number {
    return this.#authorities.length;
  }

  /**
   * The bundle as a standard public JWKS, in SPIRE's Workload API form: `kid` and the public
   * key members only, no `use` and no SPIFFE members.
   */
  toJwks(): { keys: JWK[] } {
    return {
      keys: this.#authorities.map(({ kid, key }) => ({ ...(kid === undefined ? {} : { kid }), ...(key.export({ format: 'jwk' }) as JWK) })),
    };
  }
}

/** A usable JWK Set entry, or `undefined` when the entry must be ignored (see `JwtBundle`). */
function importAuthority(entry: unknown): JwtAuthority | undefined {
  if (!isObject(entry)) return undefined;
  const { use, kid } = entry;
  if (use !== undefined && use !== 'jwt-svid') return undefined;
  if (kid !== undefined && typeof kid !== 'string') return undefined;
  const key = importPublicKey(entry);
  return key === undefined ? undefined : { kid: kid === '' ? undefined : kid, key };
}

/** Imports only the public members, so a JWK that wrongly carries `d` never yields private material. */
function importPublicKey(jwk: Record<string, unknown>): KeyObject | undefined {
  let members: Record<string, unknown>;
  if (jwk.kty === 'RSA') {
    members = { kty: 'RSA', n: jwk.n, e: jwk.e };
  } else if (jwk.kty === 'EC' && typeof jwk.crv === 'string' && CURVES.has(jwk.crv)) {
    members = { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  } else {
    return undefined;
  }
  if (!Object.values(members).every((v) => typeof v === 'string' && v !== '')) return undefined;
  try {
    return usableKeyObject(createPublicKey({ key: members as JsonWebKey, format: 'jwk' }));
  } catch {
    return undefined;
  }
}

/** The public key of `key` when it can verify one of the JWT-SVID algorithms. */
function usableKeyObject(key: KeyObject): KeyObject | undefined {
  if (key.type === 'secret') return undefined;
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const details = pub.asymmetricKeyDetails;
  if (pub.asymmetricKeyType === 'rsa') return (details?.modulusLength ?? 0) >= MIN_RSA_BITS ? pub : undefined;
  if (pub.asymmetricKeyType === 'ec') return NODE_CURVES.has(details?.namedCurve ?? '') ? pub : undefined;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
