import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, FlattenedSign, GeneralSign, SignJWT, type JWTPayload } from 'jose';
import { BundleError, JwtSvidError } from '../../../../src/spiffe/errors';
import { JwtBundle } from '../../../../src/spiffe/jwt/jwt-bundle';
import { JwtBundleSet } from '../../../../src/spiffe/jwt/jwt-bundle-set';
import { validateJwtSvid } from '../../../../src/spiffe/jwt/validate-jwt-svid';
import { rejection } from '../thrown';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const outsider = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const NOW = new Date('2030-01-01T00:00:00Z');
const now = NOW.getTime() / 1000;
const ID = 'spiffe://example.org/agents/bot';
const AUD = 'spiffe://example.org/gateway';
const at = { now: NOW };

const jwk = (key: KeyObject, extra: Record<string, unknown> = {}) => ({ ...key.export({ format: 'jwk' }), ...extra });
const bundleOf = (td: string, ...keys: unknown[]) => JwtBundle.parse(td, JSON.stringify({ keys }));
/** example.org in the Workload API form: no `use`. */
const bundles = new JwtBundleSet([
  bundleOf('example.org', jwk(rsa.publicKey, { kid: 'rsa' }), jwk(p256.publicKey, { kid: 'p256' }), jwk(p384.publicKey, { kid: 'p384' }), jwk(p521.publicKey, { kid: 'p521' })),
]);

const claims = (extra: JWTPayload = {}): JWTPayload => ({ sub: ID, aud: AUD, exp: now + 300, iat: now, ...extra });
const sign = (header: Record<string, unknown>, payload: JWTPayload | string, key: KeyObject | Uint8Array = p256.privateKey) =>
  new CompactSign(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(key);
const token = (extra: JWTPayload = {}, header: Record<string, unknown> = {}) => sign({ alg: 'ES256', kid: 'p256', typ: 'JWT', ...header }, claims(extra));

/** Asserts the exact message and the stable code, so that a different failure cannot pass. */
async function rejects(promise: Promise<unknown>, message: string): Promise<void> {
  expect((await rejection(JwtSvidError, 'ERR_JWT_SVID', promise)).message).toBe(message);
}
const PARSE = 'jwtsvid: unable to parse JWT token';

describe('validateJwtSvid: algorithms', () => {
  it.each([
    ['RS256', 'rsa', rsa],
    ['RS384', 'rsa', rsa],
    ['RS512', 'rsa', rsa],
    ['PS256', 'rsa', rsa],
    ['PS384', 'rsa', rsa],
    ['PS512', 'rsa', rsa],
    ['ES256', 'p256', p256],
    ['ES384', 'p384', p384],
    ['ES512', 'p521', p521],
  ] as const)('accepts %s', async (alg, kid, pair) => {
    const jwt = await new SignJWT(claims({ custom: 1 })).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(pair.privateKey);
    const svid = await validateJwtSvid(jwt, AUD, bundles, at);
    expect(svid.id.toString()).toBe(ID);
    expect(svid.audience).toEqual([AUD]);
    expect(svid.expiresAt).toEqual(new Date((now + 300) * 1000));
    expect(svid.claims).toEqual(claims({ custom: 1 }));
    expect(svid.hint).toBe('');
    expect(svid.token).toBe(jwt);
  });

  it('rejects alg none', async () => {
    const unsigned = `${Buffer.from('{"alg":"none","kid":"p256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    await rejects(validateJwtSvid(unsigned, AUD, bundles, at), PARSE);
    const withSig = `${unsigned}c2ln`;
    await rejects(validateJwtSvid(withSig, AUD, bundles, at), PARSE);
  });

  it('rejects HS256, even keyed with the bytes of a trusted public key', async () => {
    const secret = Buffer.from(rsa.publicKey.export({ format: 'pem', type: 'spki' }));
    await rejects(validateJwtSvid(await sign({ alg: 'HS256', kid: 'rsa' }, claims(), secret), AUD, bundles, at), PARSE);
  });

  it('rejects EdDSA', async () => {
    const ed = generateKeyPairSync('ed25519');
    const withEd = new JwtBundleSet([bundleOf('example.org', jwk(ed.publicKey, { kid: 'ed' }), jwk(p256.publicKey, { kid: 'p256' }))]);
    await rejects(validateJwtSvid(await sign({ alg: 'EdDSA', kid: 'ed' }, claims(), ed.privateKey), AUD, withEd, at), PARSE);
    await rejects(validateJwtSvid(await sign({ alg: 'EdDSA' }, claims(), ed.privateKey), AUD, withEd, at), PARSE);
  });

  it('rejects an algorithm that does not suit the key named by kid', async () => {
    const prefix = 'jwtsvid: unable to get claims from token: algorithm';
    await rejects(validateJwtSvid(await token({}, { kid: 'rsa' }), AUD, bundles, at), `${prefix} ES256 does not suit the RSA key "rsa"`);
    const es384 = await sign({ alg: 'ES384', kid: 'p256' }, claims(), p384.privateKey);
    await rejects(validateJwtSvid(es384, AUD, bundles, at), `${prefix} ES384 does not suit the EC key "p256"`);
    const rs256 = await sign({ alg: 'RS256', kid: 'p256' }, claims(), rsa.privateKey);
    await rejects(validateJwtSvid(rs256, AUD, bundles, at), `${prefix} RS256 does not suit the EC key "p256"`);
  });
});

describe('validateJwtSvid: serialization and header', () => {
  it('rejects the JWS JSON serializations and tokens without exactly three base64url parts', async () => {
    const payload = Buffer.from(JSON.stringify(claims()));
    const flat = await new FlattenedSign(payload).setProtectedHeader({ alg: 'ES256', kid: 'p256' }).sign(p256.privateKey);
    const general = await new GeneralSign(payload).addSignature(p256.privateKey).setProtectedHeader({ alg: 'ES256', kid: 'p256' }).done().sign();
    const good = await token();
    const [h, p, s] = good.split('.');
    for (const bad of [JSON.stringify(flat), JSON.stringify(general), `${h}.${p}`, `${good}.${s}`, `${h}.${p}.`, `${h}.${p}=.${s}`, `${h}.${p}.${s}!`, '']) {
      await rejects(validateJwtSvid(bad, AUD, bundles, at), PARSE);
    }
  });

  it('rejects a header that is not a JSON object or has a non-string kid', async () => {
    const p = Buffer.from(JSON.stringify(claims())).toString('base64url');
    for (const header of ['not json', '["ES256"]', '{"alg":"ES256","kid":7}', '{"kid":"p256"}']) {
      await rejects(validateJwtSvid(`${Buffer.from(header).toString('base64url')}.${p}.c2ln`, AUD, bundles, at), PARSE);
    }
  });

  it('accepts typ JWT, JOSE or none', async () => {
    for (const typ of ['JWT', 'JOSE', undefined]) {
      const svid = await validateJwtSvid(await sign({ alg: 'ES256', kid: 'p256', ...(typ && { typ }) }, claims()), AUD, bundles, at);
      expect(svid.id.toString()).toBe(ID);
    }
  });

  it('rejects any other typ, including a WIT-SVID', async () => {
    for (const typ of ['wit+jwt', 'jwt', 'at+jwt', 7]) {
      await rejects(validateJwtSvid(await token({}, { typ }), AUD, bundles, at), 'jwtsvid: token header type not equal to either JWT or JOSE');
    }
  });

  it('rejects header parameters other than alg, kid and typ, such as an embedded key', async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const embedded = await sign({ alg: 'ES256', kid: 'p256', jwk: jwk(attacker.publicKey) }, claims(), attacker.privateKey);
    await rejects(validateJwtSvid(embedded, AUD, bundles, at), 'jwtsvid: token header has unexpected parameter "jwk"');
    for (const [name, value] of Object.entries({ jku: 'https://evil.test/jwks', x5u: 'https://evil.test/c', x5c: ['MIIB'], cty: 'JWT' })) {
      await rejects(validateJwtSvid(await token({}, { [name]: value }), AUD, bundles, at), `jwtsvid: token header has unexpected parameter "${name}"`);
    }
    const crit = await new CompactSign(Buffer.from(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'ES256', kid: 'p256', crit: ['exp'], exp: now } as never)
      .sign(p256.privateKey, { crit: { exp: true } });
    await rejects(validateJwtSvid(crit, AUD, bundles, at), 'jwtsvid: token header has unexpected parameter "crit"');
  });
});

describe('validateJwtSvid: claims', () => {
  it('requires sub, then exp, then a valid SPIFFE ID in sub', async () => {
    await rejects(validateJwtSvid(await token({ sub: undefined }), AUD, bundles, at), 'jwtsvid: token missing subject claim');
    await rejects(validateJwtSvid(await token({ sub: '' }), AUD, bundles, at), 'jwtsvid: token missing subject claim');
    await rejects(validateJwtSvid(await token({ sub: undefined, exp: undefined }), AUD, bundles, at), 'jwtsvid: token missing subject claim');
    await rejects(validateJwtSvid(await token({ exp: undefined }), AUD, bundles, at), 'jwtsvid: token missing exp claim');
    await rejects(
      validateJwtSvid(await token({ sub: 'spiffe://Example.org/bot' }), AUD, bundles, at),
      'jwtsvid: token has an invalid subject claim: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    );
    await rejects(validateJwtSvid(await token({ sub: 'https://example.org/bot' }), AUD, bundles, at), 'jwtsvid: token has an invalid subject claim: scheme is missing or invalid');
  });

  it('rejects claims of the wrong type and a payload that is not a JSON object', async () => {
    const prefix = 'jwtsvid: unable to get claims from token:';
    await rejects(validateJwtSvid(await token({ exp: `${now + 300}` as never }), AUD, bundles, at), `${prefix} "exp" is not a number`);
    await rejects(validateJwtSvid(await token({ nbf: true as never }), AUD, bundles, at), `${prefix} "nbf" is not a number`);
    await rejects(validateJwtSvid(await token({ sub: 42 as never }), AUD, bundles, at), `${prefix} "sub" is not a string`);
    await rejects(validateJwtSvid(await token({ aud: [AUD, 1] as never }), AUD, bundles, at), `${prefix} "aud" is not a string or a list of strings`);
    await rejects(validateJwtSvid(await sign({ alg: 'ES256', kid: 'p256' }, '[1]'), AUD, bundles, at), `${prefix} the payload is not a JSON object`);
  });

  it('accepts aud as a string or as a list that contains one of the expected audiences', async () => {
    expect((await validateJwtSvid(await token({ aud: AUD }), AUD, bundles, at)).audience).toEqual([AUD]);
    expect((await validateJwtSvid(await token({ aud: ['other', AUD] }), [AUD], bundles, at)).audience).toEqual(['other', AUD]);
    expect((await validateJwtSvid(await token({ aud: 'b' }), ['a', 'b'], bundles, at)).audience).toEqual(['b']);
  });

  it("rejects a token without one of the expected audiences, in go-spiffe's words", async () => {
    await rejects(validateJwtSvid(await token({ aud: ['x', 'y'] }), [AUD, 'z'], bundles, at), `jwtsvid: expected audience in ["${AUD}" "z"] (audience=["x" "y"])`);
    await rejects(validateJwtSvid(await token({ aud: undefined }), AUD, bundles, at), `jwtsvid: expected audience in ["${AUD}"] (audience=[])`);
  });

  it('refuses to validate without an expected audience', async () => {
    const jwt = await token();
    await rejects(validateJwtSvid(jwt, [], bundles, at), 'jwtsvid: expected audience cannot be empty');
    await rejects(validateJwtSvid(jwt, '', bundles, at), 'jwtsvid: expected audience cannot be empty');
  });

  it('allows 60 seconds of leeway on exp by default, and the leeway given', async () => {
    expect((await validateJwtSvid(await token({ exp: now - 60 }), AUD, bundles, at)).id.toString()).toBe(ID);
    await rejects(validateJwtSvid(await token({ exp: now - 61 }), AUD, bundles, at), 'jwtsvid: token has expired');
    await rejects(validateJwtSvid(await token({ exp: now - 1 }), AUD, bundles, { now: NOW, leewaySeconds: 0 }), 'jwtsvid: token has expired');
    expect((await validateJwtSvid(await token({ exp: now - 100 }), AUD, bundles, { now: NOW, leewaySeconds: 120 })).id.toString()).toBe(ID);
  });

  it('rejects a token not valid yet or issued in the future beyond the leeway', async () => {
    expect((await validateJwtSvid(await token({ nbf: now + 60, iat: now + 60 }), AUD, bundles, at)).id.toString()).toBe(ID);
    await rejects(validateJwtSvid(await token({ nbf: now + 61 }), AUD, bundles, at), 'jwtsvid: token is not valid yet');
    await rejects(validateJwtSvid(await token({ iat: now + 61 }), AUD, bundles, at), 'jwtsvid: token issued in the future');
  });

  it('uses the current time by default', async () => {
    const fresh = await token({ exp: Math.floor(Date.now() / 1000) + 300, iat: undefined });
    expect((await validateJwtSvid(fresh, AUD, bundles)).id.toString()).toBe(ID);
    await rejects(validateJwtSvid(await token(), AUD, bundles, { now: new Date('2031-01-01T00:00:00Z') }), 'jwtsvid: token has expired');
  });

  it('throws RangeError for a clock or leeway that would disable the time checks', async () => {
    const jwt = await token();
    await expect(validateJwtSvid(jwt, AUD, bundles, { now: new Date(NaN) })).rejects.toThrow(RangeError);
    await expect(validateJwtSvid(jwt, AUD, bundles, { now: NOW, leewaySeconds: NaN })).rejects.toThrow(RangeError);
    await expect(validateJwtSvid(jwt, AUD, bundles, { now: NOW, leewaySeconds: -1 })).rejects.toThrow(RangeError);
  });
});

describe('validateJwtSvid: keys and trust domains', () => {
  const A = 'spiffe://a.test/agent';
  const B = 'spiffe://b.test/agent';
  const onlyA = new JwtBundleSet([bundleOf('a.test', jwk(p256.publicKey, { kid: 'a-key' }))]);
  const aAndB = new JwtBundleSet([bundleOf('a.test', jwk(p256.publicKey, { kid: 'a-key' })), bundleOf('b.test', jwk(p384.publicKey, { kid: 'b-key' }))]);

  it("uses only the bundle of the sub's trust domain, even when another trust domain holds the key", async () => {
    expect((await validateJwtSvid(await token({ sub: A }, { kid: 'a-key' }), AUD, onlyA, at)).id.toString()).toBe(A);
    await rejects(validateJwtSvid(await token({ sub: B }, { kid: 'a-key' }), AUD, onlyA, at), 'jwtsvid: no bundle found for trust domain "b.test"');
    await rejects(validateJwtSvid(await token({ sub: B }, { kid: 'a-key' }), AUD, aAndB, at), 'jwtsvid: no JWT authority "a-key" found for trust domain "b.test"');
    await rejects(
      validateJwtSvid(await token({ sub: B }, { kid: undefined }), AUD, aAndB, at),
      'jwtsvid: unable to get claims from token: no JWT authority of trust domain "b.test" verifies the signature',
    );
  });

  it('keeps the BundleError of the source as the cause, wraps any failure of the source, and refuses a bundle of another trust domain', async () => {
    const err = await validateJwtSvid(await token({ sub: B }, { kid: 'a-key' }), AUD, onlyA, at).catch((e: unknown) => e);
    expect((err as Error).cause).toBeInstanceOf(BundleError);
    const broken = {
      getJwtBundleForTrustDomain: (): never => {
        throw new Error('source closed');
      },
    };
    await rejects(validateJwtSvid(await token(), AUD, broken, at), 'jwtsvid: no bundle found for trust domain "example.org"');
    const careless = { getJwtBundleForTrustDomain: () => onlyA.getJwtBundleForTrustDomain('a.test') };
    await rejects(validateJwtSvid(await token({ sub: B }, { kid: 'a-key' }), AUD, careless, at), 'jwtsvid: no bundle found for trust domain "b.test"');
  });

  it('rejects an unknown kid', async () => {
    await rejects(validateJwtSvid(await token({}, { kid: 'nope' }), AUD, bundles, at), 'jwtsvid: no JWT authority "nope" found for trust domain "example.org"');
  });

  it('rejects a bad signature, and a key that is not the one named by kid', async () => {
    const [h, , s] = (await token()).split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'spiffe://example.org/admin' }))).toString('base64url')}.${s}`;
    await rejects(validateJwtSvid(tampered, AUD, bundles, at), 'jwtsvid: unable to get claims from token: signature verification failed');
    const wrongKey = await sign({ alg: 'ES256', kid: 'p256' }, claims(), outsider.privateKey);
    await rejects(validateJwtSvid(wrongKey, AUD, bundles, at), 'jwtsvid: unable to get claims from token: signature verification failed');
  });

  it('validates a token without kid by trying each key of the trust domain, with or without kid', async () => {
    const mixed = new JwtBundleSet([bundleOf('example.org', jwk(rsa.publicKey, { kid: 'rsa' }), jwk(p256.publicKey), jwk(p384.publicKey, { kid: 'p384' }))]);
    for (const [alg, key] of [
      ['ES256', p256],
      ['ES384', p384],
      ['PS256', rsa],
    ] as const) {
      const svid = await validateJwtSvid(await sign({ alg, typ: 'JWT' }, claims(), key.privateKey), AUD, mixed, at);
      expect(svid.id.toString()).toBe(ID);
    }
    const emptyKid = await sign({ alg: 'ES256', kid: '' }, claims(), p256.privateKey);
    expect((await validateJwtSvid(emptyKid, AUD, mixed, at)).id.toString()).toBe(ID);
    await rejects(
      validateJwtSvid(await sign({ alg: 'ES256' }, claims(), outsider.privateKey), AUD, mixed, at),
      'jwtsvid: unable to get claims from token: no JWT authority of trust domain "example.org" verifies the signature',
    );
    await rejects(
      validateJwtSvid(await sign({ alg: 'ES512' }, claims(), p521.privateKey), AUD, mixed, at),
      'jwtsvid: unable to get claims from token: no JWT authority of trust domain "example.org" verifies the signature',
    );
  });

  it('never verifies with a key whose use is x509-svid, even when its kid matches', async () => {
    const tagged = new JwtBundleSet([bundleOf('example.org', jwk(p256.publicKey, { kid: 'p256', use: 'x509-svid' }), jwk(p384.publicKey, { kid: 'p384', use: 'jwt-svid' }))]);
    await rejects(validateJwtSvid(await token(), AUD, tagged, at), 'jwtsvid: no JWT authority "p256" found for trust domain "example.org"');
    await rejects(
      validateJwtSvid(await token({}, { kid: undefined }), AUD, tagged, at),
      'jwtsvid: unable to get claims from token: no JWT authority of trust domain "example.org" verifies the signature',
    );
    const es384 = await sign({ alg: 'ES384', kid: 'p384' }, claims(), p384.privateKey);
    expect((await validateJwtSvid(es384, AUD, tagged, at)).id.toString()).toBe(ID);
  });

  it('ignores a key of unknown kty but keeps the others', async () => {
    const odd = new JwtBundleSet([bundleOf('example.org', { kty: 'PQC', kid: 'p256', pub: 'AAAA' }, jwk(p384.publicKey, { kid: 'p384' }))]);
    await rejects(validateJwtSvid(await token(), AUD, odd, at), 'jwtsvid: no JWT authority "p256" found for trust domain "example.org"');
    const es384 = await sign({ alg: 'ES384', kid: 'p384' }, claims(), p384.privateKey);
    expect((await validateJwtSvid(es384, AUD, odd, at)).id.toString()).toBe(ID);
  });

  it('trusts nothing from a trust domain whose bundle has an empty keys array', async () => {
    const revoked = new JwtBundleSet([bundleOf('example.org')]);
    await rejects(validateJwtSvid(await token(), AUD, revoked, at), 'jwtsvid: no JWT authority "p256" found for trust domain "example.org"');
    await rejects(validateJwtSvid(await token({}, { kid: undefined }), AUD, revoked, at), 'jwtsvid: no JWT authority found for trust domain "example.org"');
  });
});
