import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/**
 * A real OIDC issuer for tests: an ES256 key whose public JWKS is served over http on
 * 127.0.0.1 and written to a file in a temp dir. Signs tokens with any claims.
 */
export class OidcFixture {
  /** JWKS requests the server has answered. */
  jwksRequests = 0;

  private constructor(
    readonly issuer: string,
    private readonly privateKey: CryptoKey,
    readonly kid: string,
    private readonly server: Server,
    private readonly dir: string,
    readonly jwksFile: string,
  ) {}

  static async create(issuer: string): Promise<OidcFixture> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = 'key-1';
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
    const dir = mkdtempSync(join(tmpdir(), 'tg-oidc-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, jwks);
    let fixture: OidcFixture | undefined;
    const server = createServer((_req, res) => {
      if (fixture) fixture.jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fixture = new OidcFixture(issuer, privateKey, kid, server, dir, jwksFile);
    return fixture;
  }

  get jwksUri(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }

  /** A token of this issuer: `iss`, `sub`, `aud`, `iat` and `exp` (10 min) unless overridden; `undefined` drops a claim. */
  sign(claims: Record<string, unknown>, options: { key?: CryptoKey; nowMs?: number } = {}): Promise<string> {
    const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
    const payload: JWTPayload = { iss: this.issuer, iat: now, exp: now + 600, ...claims };
    for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' }).sign(options.key ?? this.privateKey);
  }

  /** The same claims signed with a shared secret (HS256). */
  signHs256(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, iat: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: 'HS256', kid: this.kid })
      .sign(new TextEncoder().encode('a shared secret of at least 32 bytes!!'));
  }

  /** An unsecured JWT (`alg: none`, empty signature). */
  unsigned(claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const part = (v: object) => base64url.encode(JSON.stringify(v));
    return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: this.issuer, iat: now, exp: now + 600, ...claims })}.`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh ES256 private key, to sign with a key the issuer never published. */
export async function strangerKey(): Promise<CryptoKey> {
  return (await generateKeyPair('ES256')).privateKey;
}

/** A token with one signature character changed. */
export function tamper(token: string): string {
  const [h, p, s] = token.split('.');
  const i = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
