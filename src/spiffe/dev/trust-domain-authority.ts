import { SignJWT, type JWTPayload } from 'jose';
import { generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { TrustDomain } from '../id/trust-domain';
import { DevCa, type IssuedX509Svid, type LeafOptions } from './ca';

/** A JWT-SVID signing key: ES256, with a random `kid` as SPIRE gives its keys. */
interface JwtKey {
  kid: string;
  privateKey: KeyObject;
  /** Public part only, as published in the JWT bundle. */
  publicJwk: JsonWebKey & { kid: string };
}

/** One CA + JWT key pair; a trust domain has several while a rotation overlaps. */
interface Generation {
  /** Issues leaves: the root, or an intermediate under it. */
  issuer: DevCa;
  jwtKey: JwtKey;
}

export interface MintJwtOptions {
  ttlMs: number;
  nowMs: number;
  /** Added to the payload; `sub`, `aud`, `exp` and `iat` always win. */
  extraClaims?: Record<string, unknown>;
}

/**
 * The signing material of one trust domain in the dev identity provider: X.509 CAs and
 * JWT keys. The newest generation signs; older ones stay in the bundles until retired,
 * so that material they signed keeps verifying during a rotation.
 */
export class TrustDomainAuthority {
  private constructor(
    readonly trustDomain: TrustDomain,
    private readonly intermediate: boolean,
    private generations: Generation[],
  ) {}

  static async create(trustDomain: TrustDomain, options: { intermediate: boolean }): Promise<TrustDomainAuthority> {
    return new TrustDomainAuthority(trustDomain, options.intermediate, [await newGeneration(trustDomain, options.intermediate)]);
  }

  /** The CA that currently issues X.509-SVIDs. */
  get issuer(): DevCa {
    return this.active.issuer;
  }

  issueX509(id: string, options: LeafOptions): Promise<IssuedX509Svid> {
    return this.active.issuer.issue(id, options);
  }

  /** Concatenated DER roots of every generation, as the Workload API sends a bundle. */
  x509Bundle(): Buffer {
    return Buffer.concat(this.generations.map((g) => g.issuer.bundle()));
  }

  /** A plain JWK Set as SPIRE serves it over the Workload API: `kid` on every key, no `use`. */
  jwks(): { keys: (JsonWebKey & { kid: string })[] } {
    return { keys: this.generations.map((g) => g.jwtKey.publicJwk) };
  }

  /** Signs a JWT-SVID for `sub`; one audience is sent as a string, several as a list (as go-jose does). */
  mintJwt(sub: string, audience: string[], options: MintJwtOptions): Promise<string> {
    const { kid, privateKey } = this.active.jwtKey;
    const iat = Math.floor(options.nowMs / 1000);
    const payload: JWTPayload = {
      ...options.extraClaims,
      sub,
      aud: audience.length === 1 ? audience[0] : audience,
      exp: iat + Math.ceil(options.ttlMs / 1000),
      iat,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(privateKey);
  }

  /** Adds a new CA and JWT key, which sign from now on; the old ones stay trusted. */
  async rotate(): Promise<void> {
    this.generations.push(await newGeneration(this.trustDomain, this.intermediate));
  }

  /** Drops every CA and JWT key but the active one from the bundles. */
  retirePrevious(): void {
    this.generations = [this.active];
  }

  private get active(): Generation {
    return this.generations[this.generations.length - 1];
  }
}

async function newGeneration(td: TrustDomain, intermediate: boolean): Promise<Generation> {
  const root = await DevCa.create(td);
  const issuer = intermediate ? await root.createIntermediate() : root;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(16).toString('base64url');
  return { issuer, jwtKey: { kid, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid } } };
}
