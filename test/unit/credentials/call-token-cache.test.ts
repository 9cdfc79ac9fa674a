import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { CALL_TOKEN_TYPE, type CallTokenClaims } from '../../../src/credentials/call-token';
import { CallTokenCache } from '../../../src/credentials/call-token-cache';
import { SigningKeys } from '../../../src/tasks/signing-keys';
import { FakeClock, T0 } from '../tasks/fixtures';

const GATEWAY = 'spiffe://example.org/toolgate';
const FILES = 'spiffe://example.org/tools/files';
const CLAIMS: CallTokenClaims = {
  issuer: GATEWAY,
  subject: 'spiffe://example.org/agents/research-bot',
  audience: FILES,
  scope: 'tools.files.v1.Files/ReadFile',
  taskId: 'task-1',
  taskExpiresAt: new Date(T0 + 600_000),
  agent: 'research-bot',
  onBehalfOf: { issuer: 'https://idp.example.org', subject: 'user-42' },
  ttlSeconds: 60,
};

async function setup(reuseSeconds: number, maxEntries?: number): Promise<{ clock: FakeClock; keys: SigningKeys; cache: CallTokenCache }> {
  const clock = new FakeClock();
  const keys = await SigningKeys.generate(clock.now);
  return { clock, keys, cache: new CallTokenCache(keys, reuseSeconds, maxEntries) };
}

const jti = (token: string) => decodeJwt(token).jti;

describe('CallTokenCache: a signed call token reused for a few seconds by calls with the same claims', () => {
  it('hands the same token to calls within the window, and a fresh one (new jti, iat) from its end on', async () => {
    const { clock, keys, cache } = await setup(5);
    const first = cache.token(CLAIMS);
    clock.ms = T0 + 4999;
    expect(cache.token(CLAIMS)).toBe(first);
    clock.ms = T0 + 5000;
    const second = cache.token(CLAIMS);
    expect(second).not.toBe(first);
    expect(jti(second)).not.toBe(jti(first));
    expect(decodeJwt(second).iat).toBe(T0 / 1000 + 5);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 2 });
    // Either is a valid call token, as minted.
    const { payload } = await jwtVerify(second, createLocalJWKSet(keys.jwks()), { typ: CALL_TOKEN_TYPE, issuer: GATEWAY, audience: FILES, currentDate: clock.date() });
    expect(payload).toMatchObject({ sub: CLAIMS.subject, scope: CLAIMS.scope, task_id: 'task-1', agent: 'research-bot', obo: { iss: 'https://idp.example.org', sub: 'user-42' } });
  });

  it('keeps every token it hands out within ttl of the call, and the token it reuses at least ttl - reuse from its end', async () => {
    const { clock, cache } = await setup(5);
    for (let ms = 0; ms <= 20_000; ms += 250) {
      clock.ms = T0 + 777 + ms;
      const { exp } = decodeJwt(cache.token(CLAIMS));
      const left = exp! * 1000 - clock.ms;
      expect(left).toBeLessThanOrEqual(60_000);
      expect(left).toBeGreaterThan(54_000); // 60 - 5, less the second iat/exp are floored to
    }
    expect(cache.stats.misses).toBe(5);
  });

  it('gives each distinct set of claims its own token: every claim is part of the key', async () => {
    const { cache } = await setup(5);
    const variants: CallTokenClaims[] = [
      CLAIMS,
      { ...CLAIMS, issuer: 'spiffe://example.org/toolgate-2' },
      { ...CLAIMS, subject: 'spiffe://example.org/agents/other' },
      { ...CLAIMS, audience: 'spiffe://example.org/tools/other' },
      { ...CLAIMS, scope: 'tools.files.v1.Files/WriteFile' },
      { ...CLAIMS, taskId: 'task-2' },
      { ...CLAIMS, taskExpiresAt: new Date(T0 + 300_000) },
      { ...CLAIMS, agent: 'other-bot' },
      { ...CLAIMS, onBehalfOf: { issuer: 'https://idp.example.org', subject: 'user-43' } },
      { ...CLAIMS, onBehalfOf: { issuer: 'https://other-idp.example.org', subject: 'user-42' } },
      { ...CLAIMS, ttlSeconds: 30 },
      { issuer: GATEWAY, subject: CLAIMS.subject, audience: FILES, scope: CLAIMS.scope },
      // A separator inside a claim does not alias another claim set.
      { ...CLAIMS, subject: `${CLAIMS.subject}","${FILES}`, audience: '' },
    ];
    const tokens = variants.map((claims) => cache.token(claims));
    expect(new Set(tokens).size).toBe(variants.length);
    expect(new Set(tokens.map(jti)).size).toBe(variants.length);
    // And each is found again under its own claims.
    expect(variants.map((claims) => cache.token({ ...claims }))).toEqual(tokens);
    const payloads = tokens.map((t) => decodeJwt(t));
    expect(payloads[4]!.scope).toBe('tools.files.v1.Files/WriteFile');
    expect(payloads[11]!.task_id).toBeUndefined();
  });

  it('never hands out a token signed with a key the ring rotated out, even within the window', async () => {
    const { clock, keys, cache } = await setup(5);
    const before = cache.token(CLAIMS);
    const oldKid = keys.currentKid;
    await keys.rotate();
    clock.ms = T0 + 1000;
    const after = cache.token(CLAIMS);
    expect(after).not.toBe(before);
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    expect(decodeProtectedHeader(after).kid).toBe(keys.currentKid);
    expect(keys.currentKid).not.toBe(oldKid);
    expect(cache.token(CLAIMS)).toBe(after);
  });

  it("caps exp at the task's end, and stops reusing a token once it expired", async () => {
    const { clock, cache } = await setup(5);
    const claims = { ...CLAIMS, taskExpiresAt: new Date(T0 + 3000) };
    const first = cache.token(claims);
    expect(decodeJwt(first).exp).toBe(T0 / 1000 + 3);
    clock.ms = T0 + 2999;
    expect(cache.token(claims)).toBe(first);
    // Past the task's end (a call the guard would refuse first): not the expired token.
    clock.ms = T0 + 3000;
    const late = cache.token(claims);
    expect(late).not.toBe(first);
    expect(decodeJwt(late).exp).toBe(T0 / 1000 + 3);
    // An already expired token is not kept.
    expect(cache.token(claims)).not.toBe(late);
    const size = cache.stats.size;
    cache.token({ ...claims, taskId: 'task-ended', taskExpiresAt: new Date(T0) });
    expect(cache.stats.size).toBe(size);
  });

  it('with reuseSeconds 0 mints a fresh token with its own jti for every call, and keeps nothing', async () => {
    const { cache } = await setup(0);
    const tokens = [cache.token(CLAIMS), cache.token(CLAIMS), cache.token(CLAIMS)];
    expect(new Set(tokens.map(jti)).size).toBe(3);
    expect(cache.stats).toEqual({ size: 0, hits: 0, misses: 0 });
  });

  it('holds at most maxEntries claim sets, the least recently used dropped first', async () => {
    const { cache } = await setup(5, 3);
    const claims = ['a', 'b', 'c', 'd'].map((agent) => ({ ...CLAIMS, agent }));
    const tokens = claims.map((c) => cache.token(c));
    expect(cache.stats.size).toBe(3);
    expect(cache.token(claims[3]!)).toBe(tokens[3]);
    expect(cache.token(claims[1]!)).toBe(tokens[1]);
    // 'a' was evicted: signed anew.
    expect(cache.token(claims[0]!)).not.toBe(tokens[0]);
    expect(cache.stats).toEqual({ size: 3, hits: 2, misses: 5 });
  });

  it('purges lapsed entries on a miss after a window, so the calls of a while ago hold no memory', async () => {
    const { clock, cache } = await setup(5);
    for (const agent of ['a', 'b', 'c']) cache.token({ ...CLAIMS, agent });
    expect(cache.stats.size).toBe(3);
    clock.advance(6);
    cache.token({ ...CLAIMS, agent: 'd' });
    expect(cache.stats.size).toBe(1);
  });

  it('does not reuse a token when the clock went back before it was minted', async () => {
    const { clock, cache } = await setup(5);
    clock.ms = T0 + 10_000;
    const first = cache.token(CLAIMS);
    clock.ms = T0 + 9000;
    expect(cache.token(CLAIMS)).not.toBe(first);
  });

  it('refuses a reuse of 60 s or more (no token lives longer), a negative one, and a bound below 1', async () => {
    const keys = await SigningKeys.generate(Date.now);
    expect(() => new CallTokenCache(keys, 60)).toThrow(RangeError);
    expect(() => new CallTokenCache(keys, -1)).toThrow(RangeError);
    expect(() => new CallTokenCache(keys, Number.NaN)).toThrow(RangeError);
    expect(() => new CallTokenCache(keys, 5, 0)).toThrow(RangeError);
    expect(() => new CallTokenCache(keys, 59)).not.toThrow();
  });
});
