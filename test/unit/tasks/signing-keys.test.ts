import { inspect } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { SigningKeys } from '../../../src/tasks/signing-keys';
import { FakeClock, taskRejection } from './fixtures';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

async function privateJwk(kid?: string) {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return kid === undefined ? jwk : { ...jwk, kid };
}

describe('SigningKeys', () => {
  it('publishes a JWKS with public members only', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now);
    await keys.rotate();
    const { keys: published } = keys.jwks();
    expect(published).toHaveLength(2);
    expect(published[0]!.kid).toBe(keys.currentKid);
    for (const jwk of published) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
  });

  it('drops a rotated-out key once it is retained no longer', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now, { retainSeconds: 60 });
    const first = keys.currentKid;
    const second = await keys.rotate();
    expect(second).not.toBe(first);
    clock.advance(60);
    expect(keys.verificationKey(first)).toBeDefined();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second, first]);
    clock.advance(1);
    expect(keys.verificationKey(first)).toBeUndefined();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second]);
    expect(keys.verificationKey(undefined)).toBeUndefined();
  });

  it('loads a private JWK, keeping its kid or using its thumbprint, and shares the public key', async () => {
    const jwk = await privateJwk('shared-1');
    const a = await SigningKeys.fromJwk(jwk, Date.now);
    const b = await SigningKeys.fromJwk(jwk, Date.now);
    expect(a.currentKid).toBe('shared-1');
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.jwks().keys[0]).not.toHaveProperty('d');

    const { kid: _kid, ...bare } = jwk;
    const c = await SigningKeys.fromJwk(bare, Date.now);
    expect(c.currentKid).toMatch(/^[\w-]{43}$/);
  });

  it('rotates to a given private JWK (a rotated secret)', async () => {
    const clock = new FakeClock();
    const keys = await SigningKeys.fromJwk(await privateJwk('k1'), clock.now);
    expect(await keys.rotate(await privateJwk('k2'))).toBe('k2');
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
  });

  it('refuses a key that is not an EC P-256 private JWK with ERR_TASK_KEY', async () => {
    const jwk = await privateJwk();
    const { d: _d, ...publicOnly } = jwk;
    await taskRejection('ERR_TASK_KEY', SigningKeys.fromJwk(publicOnly, Date.now));
    await taskRejection('ERR_TASK_KEY', SigningKeys.fromJwk({ ...jwk, crv: 'P-384' }, Date.now));
    await taskRejection('ERR_TASK_KEY', SigningKeys.fromJwk({ kty: 'oct', k: 'c2VjcmV0' }, Date.now));
    await taskRejection('ERR_TASK_KEY', SigningKeys.fromJwk({ ...jwk, d: 'AAAA' }, Date.now));
  });

  it('never shows private key material in JSON or inspect', async () => {
    const jwk = await privateJwk('k1');
    const keys = await SigningKeys.fromJwk(jwk, Date.now);
    await keys.rotate();
    const shown = [JSON.stringify(keys), inspect(keys, { depth: 10, showHidden: true }), String(keys)];
    for (const text of shown) {
      expect(text).not.toContain(jwk.d!);
      for (const member of PRIVATE_MEMBERS) expect(text).not.toContain(`"${member}"`);
    }
    expect(JSON.parse(JSON.stringify(keys))).toEqual({ currentKid: keys.currentKid, previousKids: ['k1'] });
  });
});
