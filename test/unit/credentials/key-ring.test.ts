import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { KeyRing, SigningKeyFileError } from '../../../src/credentials/key-ring';
import { newSigningJwk } from '../../../src/cli/signing-key';
import { FakeClock } from '../tasks/fixtures';

async function privateJwk(kid?: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return kid === undefined ? jwk : { ...jwk, kid };
}

async function refusal(promise: Promise<unknown>): Promise<SigningKeyFileError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SigningKeyFileError);
  return err as SigningKeyFileError;
}

describe('KeyRing', () => {
  let dir: string;
  let file: string;
  const rings: KeyRing[] = [];
  const ring = async (options: Parameters<typeof KeyRing.create>[0]) => {
    const r = await KeyRing.create(options);
    rings.push(r);
    return r;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tg-keyring-'));
    file = join(dir, 'key.json');
  });
  afterEach(() => {
    for (const r of rings.splice(0)) r.close();
    rmSync(dir, { recursive: true, force: true });
    jest.useRealTimers();
  });

  it('loads a private JWK from the file, so replicas share the key and JWKS', async () => {
    writeFileSync(file, JSON.stringify(await privateJwk('k1')));
    const a = await ring({ signingKeyFile: file, rotateSeconds: 60, retainSeconds: 600 });
    const b = await ring({ signingKeyFile: file, rotateSeconds: 60, retainSeconds: 600 });
    expect(a.keys.currentKid).toBe('k1');
    expect(a.signingKeyFile).toBe(file);
    expect(a.keys.jwks()).toEqual(b.keys.jwks());
  });

  it('signs with the first key of a JWK Set and publishes the others as upcoming; takes a `toolgate signing-key` key with its thumbprint kid', async () => {
    const jwk = await newSigningJwk();
    writeFileSync(file, JSON.stringify({ keys: [jwk, await privateJwk('next')] }));
    const r = await ring({ signingKeyFile: file, rotateSeconds: 0, retainSeconds: 600 });
    expect(r.keys.currentKid).toBe(jwk.kid);
    expect(r.keys.upcomingKids).toEqual(['next']);
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual([jwk.kid, 'next']);
    expect(r.keys.signingKeyObject().kid).toBe(jwk.kid);
  });

  it('follows a Secret rotated in two steps: next key published first, then made the signing key', async () => {
    const clock = new FakeClock();
    const [k1, k2] = [await privateJwk('k1'), await privateJwk('k2')];
    writeFileSync(file, JSON.stringify({ keys: [k1] }));
    const r = await ring({ signingKeyFile: file, rotateSeconds: 0, retainSeconds: 600, clock: clock.now });
    writeFileSync(file, JSON.stringify({ keys: [k1, k2] }));
    expect(await r.reloadFile()).toBe(false);
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
    writeFileSync(file, JSON.stringify({ keys: [k2] }));
    expect(await r.reloadFile()).toBe(true);
    expect(r.keys.currentKid).toBe('k2');
    expect(r.keys.upcomingKids).toEqual([]);
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
  });

  it('reloadFile rotates to the new key only when its kid changed, keeping the old one for verification', async () => {
    const clock = new FakeClock();
    writeFileSync(file, JSON.stringify(await privateJwk('k1')));
    const r = await ring({ signingKeyFile: file, rotateSeconds: 60, retainSeconds: 600, clock: clock.now });
    expect(await r.reloadFile()).toBe(false);
    expect(r.keys.currentKid).toBe('k1');
    writeFileSync(file, JSON.stringify(await privateJwk('k2')));
    expect(await r.reloadFile()).toBe(true);
    expect(r.keys.currentKid).toBe('k2');
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    clock.advance(601);
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual(['k2']);
  });

  it('keeps its key when a reload finds a bad file', async () => {
    writeFileSync(file, JSON.stringify(await privateJwk('k1')));
    const r = await ring({ signingKeyFile: file, rotateSeconds: 60, retainSeconds: 600 });
    writeFileSync(file, '{"kty":"EC"');
    await refusal(r.reloadFile());
    expect(r.keys.currentKid).toBe('k1');
  });

  it('refuses a bad file with an error naming the file and the problem, never key material', async () => {
    const jwk = await privateJwk('k1');
    const { d, ...publicOnly } = jwk;
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /no such file/],
      [`${JSON.stringify(jwk).slice(0, -3)}`, /is not JSON/],
      ['[]', /not a JSON object/],
      ['{"keys":[]}', /"keys" must be a non-empty array/],
      [JSON.stringify({ keys: [jwk, publicOnly] }), /key 1 has no private part/],
      [JSON.stringify(publicOnly), /no private part/],
      [JSON.stringify({ ...jwk, crv: 'P-384' }), /EC P-256/],
      [JSON.stringify({ kty: 'oct', k: d }), /EC P-256/],
      [JSON.stringify({ ...jwk, d: 'AAAA' }), /cannot be imported/],
      [JSON.stringify({ ...jwk, alg: 'RS256' }), /must be for ES256/],
    ];
    for (const [content, problem] of cases) {
      if (content === undefined) rmSync(file, { force: true });
      else writeFileSync(file, content);
      const err = await refusal(KeyRing.create({ signingKeyFile: file, rotateSeconds: 60, retainSeconds: 600 }));
      expect(err.message).toContain(file);
      expect(err.message).toMatch(problem);
      expect(err.message).not.toContain(d!);
      expect(err.message).not.toContain(jwk.x!);
    }
  });

  it('generates a key without a file and rotates it on its timer, publishing each next key a period ahead', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime'] });
    const r = await ring({ rotateSeconds: 30, retainSeconds: 600 });
    const first = r.keys.currentKid;
    const [next] = r.keys.upcomingKids;
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual([first, next]);
    expect(r.signingKeyFile).toBeUndefined();
    expect(await r.reloadFile()).toBe(false);
    jest.advanceTimersByTime(30_000);
    await waitFor(() => r.keys.upcomingKids.length === 1 && r.keys.currentKid !== first);
    const second = r.keys.currentKid;
    expect(second).toBe(next);
    const [third] = r.keys.upcomingKids;
    expect(r.keys.jwks().keys.map((k) => k.kid)).toEqual([second, third, first]);
    r.close();
    jest.advanceTimersByTime(60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.keys.currentKid).toBe(second);
  });

  it('does not rotate a generated key with rotateSeconds 0, and refuses bad durations', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime'] });
    const r = await ring({ rotateSeconds: 0, retainSeconds: 600 });
    const kid = r.keys.currentKid;
    jest.advanceTimersByTime(24 * 3600_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.keys.currentKid).toBe(kid);
    expect(r.keys.upcomingKids).toEqual([]);
    await expect(KeyRing.create({ rotateSeconds: -1, retainSeconds: 600 })).rejects.toThrow(/rotateSeconds/);
    await expect(KeyRing.create({ rotateSeconds: 60, retainSeconds: Number.NaN })).rejects.toThrow(/retainSeconds/);
  });
});

/** Waits (up to 5 s of real time, whatever the fake clock says) for the async key generation the timer started. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = process.hrtime.bigint() + 5_000_000_000n;
  while (!condition() && process.hrtime.bigint() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
