import { inspect } from 'node:util';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { CALL_TOKEN_TYPE, mintCallToken, type CallTokenClaims } from '../../../src/credentials/call-token';
import { SigningKeys } from '../../../src/tasks/signing-keys';
import { FakeClock, T0 } from '../tasks/fixtures';

const GATEWAY = 'spiffe://example.org/toolgate';
const AGENT = 'spiffe://example.org/agents/research-bot';
const FILES = 'spiffe://example.org/tools/files';
const SCOPE = 'tools.files.v1.Files/ReadFile';
const BASE: CallTokenClaims = { issuer: GATEWAY, subject: AGENT, audience: FILES, scope: SCOPE };

async function verify(keys: SigningKeys, token: string, at: number): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
    algorithms: ['ES256'],
    typ: CALL_TOKEN_TYPE,
    issuer: GATEWAY,
    audience: FILES,
    requiredClaims: ['jti', 'exp', 'iat', 'sub', 'scope'],
    currentDate: new Date(at),
  });
  return payload;
}

describe('mintCallToken', () => {
  it('mints a compact ES256 JWT that jose verifies against the JWKS, with every claim', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now);
    const taskExpiresAt = new Date(T0 + 600_000);
    const token = mintCallToken(
      keys,
      { ...BASE, taskId: 'task-1', taskExpiresAt, agent: 'research-bot', onBehalfOf: { issuer: 'https://idp.example.org', subject: 'user-42' } },
      T0,
    );
    expect(typeof token).toBe('string');
    expect(token.split('.')).toHaveLength(3);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: CALL_TOKEN_TYPE, kid: keys.currentKid });
    const payload = await verify(keys, token, T0);
    expect(payload).toEqual({
      iss: GATEWAY,
      sub: AGENT,
      aud: FILES,
      act: { sub: GATEWAY },
      scope: SCOPE,
      jti: expect.stringMatching(/^[\w-]{22}$/),
      iat: T0 / 1000,
      exp: T0 / 1000 + 60,
      task_id: 'task-1',
      agent: 'research-bot',
      obo: { iss: 'https://idp.example.org', sub: 'user-42' },
    });
  });

  it('leaves the optional claims out when not given, and uses the ring clock by default', async () => {
    const clock = new FakeClock(T0 + 1234);
    const keys = await SigningKeys.generate(clock.now);
    const payload = await verify(keys, mintCallToken(keys, BASE), clock.ms);
    expect(Object.keys(payload).sort()).toEqual(['act', 'aud', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
    expect(payload.iat).toBe(Math.floor((T0 + 1234) / 1000));
  });

  it('caps exp at the task end (floored) and at 60 s', async () => {
    const keys = await SigningKeys.generate(Date.now);
    const now = T0 + 500;
    const exp = (claims: Partial<CallTokenClaims>) => JSON.parse(Buffer.from(mintCallToken(keys, { ...BASE, ...claims }, now).split('.')[1]!, 'base64url').toString()).exp;
    expect(exp({})).toBe(T0 / 1000 + 60);
    expect(exp({ ttlSeconds: 3600 })).toBe(T0 / 1000 + 60);
    expect(exp({ ttlSeconds: 10 })).toBe(T0 / 1000 + 10);
    expect(exp({ taskExpiresAt: new Date(T0 + 20_900) })).toBe(T0 / 1000 + 20);
    expect(exp({ taskExpiresAt: new Date(T0 + 600_000) })).toBe(T0 / 1000 + 60);
    expect(() => mintCallToken(keys, { ...BASE, ttlSeconds: 0 }, now)).toThrow(RangeError);
    expect(() => mintCallToken(keys, { ...BASE, ttlSeconds: Number.NaN }, now)).toThrow(RangeError);
  });

  it('is refused once expired', async () => {
    const keys = await SigningKeys.generate(Date.now);
    const token = mintCallToken(keys, { ...BASE, taskExpiresAt: new Date(T0 + 5000) }, T0);
    await expect(verify(keys, token, T0 + 4000)).resolves.toBeDefined();
    await expect(verify(keys, token, T0 + 6000)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('gives every token its own jti', async () => {
    const keys = await SigningKeys.generate(Date.now);
    const jtis = new Set<string>();
    // More than the jti pool holds, to cross a refill.
    for (let i = 0; i < 3000; i++) jtis.add(JSON.parse(Buffer.from(mintCallToken(keys, BASE, T0).split('.')[1]!, 'base64url').toString()).jti);
    expect(jtis.size).toBe(3000);
  });

  it('keeps a token signed before a rotation verifiable until its key leaves the ring', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now, { retainSeconds: 120 });
    const oldKid = keys.currentKid;
    const before = mintCallToken(keys, BASE, clock.ms);
    await keys.rotate();
    const after = mintCallToken(keys, BASE, clock.ms);
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    expect(decodeProtectedHeader(after).kid).toBe(keys.currentKid);
    expect(keys.currentKid).not.toBe(oldKid);
    await expect(verify(keys, before, clock.ms)).resolves.toBeDefined();
    await expect(verify(keys, after, clock.ms)).resolves.toBeDefined();
    clock.advance(121);
    // The old key is gone from the JWKS: even an unexpired token it signed no longer verifies.
    await expect(verify(keys, before, T0)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.currentKid]);
  });

  it('signs with a key that verifies only against its own ring', async () => {
    const keys = await SigningKeys.generate(Date.now);
    const other = await SigningKeys.generate(Date.now);
    await expect(verify(other, mintCallToken(keys, BASE, T0), T0)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('publishes no private member in the JWKS and no key object in JSON or inspect', async () => {
    const keys = await SigningKeys.generate(Date.now);
    mintCallToken(keys, BASE, T0);
    for (const jwk of keys.jwks().keys) expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(JSON.stringify(keys)).not.toMatch(/KeyObject|"d"/);
    expect(inspect(keys, { showHidden: true, depth: 10 })).not.toMatch(/KeyObject|CryptoKey/);
  });
});

describe('SigningKeys upcoming keys', () => {
  it('publishes a prepared key before it signs, then signs with it on the next rotation', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now);
    const first = keys.currentKid;
    const next = await keys.prepare();
    expect(await keys.prepare(undefined)).not.toBe(next);
    const cachedJwks = keys.jwks();
    expect(cachedJwks.keys.map((k) => k.kid)).toEqual([first, next, keys.upcomingKids[1]]);
    expect(keys.verificationKey(next)).toBeUndefined();
    expect(await keys.rotate()).toBe(next);
    const token = mintCallToken(keys, BASE, clock.ms);
    // A verifier holding the JWKS fetched before the rotation already knows the new key.
    await expect(jwtVerify(token, createLocalJWKSet(cachedJwks), { audience: FILES, currentDate: new Date(clock.ms) })).resolves.toBeDefined();
    expect(JSON.parse(JSON.stringify(keys))).toEqual({ currentKid: next, previousKids: [first], upcomingKids: [keys.upcomingKids[0]] });
  });
});
