import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { BundleError, SpiffeIdError } from '../../../../src/spiffe/errors';
import { TrustDomain } from '../../../../src/spiffe/id/trust-domain';
import { JwtBundle } from '../../../../src/spiffe/jwt/jwt-bundle';
import { thrown } from '../thrown';

const td = TrustDomain.parse('example.org');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });

const jwk = (key: KeyObject, extra: Record<string, unknown> = {}) => ({ ...key.export({ format: 'jwk' }), ...extra });
const jwks = (...keys: unknown[]) => JSON.stringify({ keys });
const sameKey = (a: KeyObject | undefined, b: KeyObject) => a !== undefined && a.equals(b);

describe('JwtBundle.parse', () => {
  it('imports RSA and EC P-256/P-384/P-521 keys, found by kid', () => {
    const bundle = JwtBundle.parse(
      td,
      jwks(jwk(rsa.publicKey, { kid: 'r' }), jwk(p256.publicKey, { kid: 'e1' }), jwk(p384.publicKey, { kid: 'e2' }), jwk(p521.publicKey, { kid: 'e3' })),
    );
    expect(bundle.trustDomain.name).toBe('example.org');
    expect(bundle.size).toBe(4);
    expect(sameKey(bundle.findKey('r'), rsa.publicKey)).toBe(true);
    expect(sameKey(bundle.findKey('e1'), p256.publicKey)).toBe(true);
    expect(sameKey(bundle.findKey('e2'), p384.publicKey)).toBe(true);
    expect(sameKey(bundle.findKey('e3'), p521.publicKey)).toBe(true);
    expect(bundle.findKey('nope')).toBeUndefined();
    expect(bundle.keys().map((k) => k.kid)).toEqual(['r', 'e1', 'e2', 'e3']);
  });

  it('accepts UTF-8 bytes (a Uint8Array view into a larger buffer) and a trust domain name', () => {
    const text = jwks(jwk(p256.publicKey, { kid: 'k' }));
    const padded = Buffer.concat([Buffer.from('xx'), Buffer.from(text), Buffer.from('yy')]);
    const view = new Uint8Array(padded.buffer, padded.byteOffset + 2, text.length);
    const bundle = JwtBundle.parse('example.org', view);
    expect(bundle.trustDomain.equals(td)).toBe(true);
    expect(sameKey(bundle.findKey('k'), p256.publicKey)).toBe(true);
  });

  it('rejects a JWKS without a keys member, as go-spiffe does', () => {
    expect(() => JwtBundle.parse(td, '{}')).toThrow(new BundleError('jwtbundle: no authorities found'));
    expect(() => JwtBundle.parse(td, '{"keys":null,"spiffe_sequence":1}')).toThrow('jwtbundle: no authorities found');
  });

  it('accepts an empty keys array, which trusts nothing', () => {
    const bundle = JwtBundle.parse(td, '{"keys":[],"spiffe_refresh_hint":300}');
    expect(bundle.size).toBe(0);
    expect(bundle.keys()).toEqual([]);
  });

  it('rejects input that is not a JSON object with a keys array', () => {
    expect(() => JwtBundle.parse(td, 'not json')).toThrow(/^jwtbundle: unable to parse JWKS: /);
    expect(() => JwtBundle.parse(td, '[]')).toThrow('jwtbundle: unable to parse JWKS: not a JSON object');
    expect(() => JwtBundle.parse(td, '{"keys":{}}')).toThrow('jwtbundle: unable to parse JWKS: "keys" is not an array');
    expect(thrown(BundleError, 'ERR_BUNDLE', () => JwtBundle.parse(td, 'null')).message).toBe('jwtbundle: unable to parse JWKS: not a JSON object');
  });

  it('rejects an invalid trust domain', () => {
    expect(() => JwtBundle.parse('Example.org', '{"keys":[]}')).toThrow(SpiffeIdError);
  });

  it('keeps keys without use (the Workload API form) and with use jwt-svid, and ignores every other use', () => {
    const bundle = JwtBundle.parse(
      td,
      jwks(
        jwk(p256.publicKey, { kid: 'plain' }),
        jwk(p384.publicKey, { kid: 'jwt', use: 'jwt-svid' }),
        jwk(rsa.publicKey, { kid: 'x509', use: 'x509-svid' }),
        jwk(p521.publicKey, { kid: 'wit', use: 'wit-svid' }),
        jwk(p256.publicKey, { kid: 'sig', use: 'sig' }),
        jwk(p256.publicKey, { kid: 'upper', use: 'JWT-SVID' }),
      ),
    );
    expect(bundle.keys().map((k) => k.kid)).toEqual(['plain', 'jwt']);
    expect(bundle.findKey('x509')).toBeUndefined();
  });

  it('ignores unknown, symmetric and EdDSA key types but keeps the rest', () => {
    const ed = generateKeyPairSync('ed25519');
    const bundle = JwtBundle.parse(
      td,
      jwks(
        { kty: 'FOO', kid: 'foo' },
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        jwk(ed.publicKey, { kid: 'ed' }),
        { kid: 'no-kty', n: 'x', e: 'AQAB' },
        'not an object',
        null,
        jwk(p256.publicKey, { kid: 'good' }),
      ),
    );
    expect(bundle.keys().map((k) => k.kid)).toEqual(['good']);
  });

  it('ignores malformed or unusable keys of a known type but keeps the rest', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p = jwk(p256.publicKey) as { x: string; y: string };
    const bundle = JwtBundle.parse(
      td,
      jwks(
        jwk(k1.publicKey, { kid: 'k1' }),
        jwk(weak.publicKey, { kid: 'rsa1024' }),
        { ...p, kid: 'off-curve', y: p.x },
        { ...jwk(p256.publicKey), kid: 'wrong-crv', crv: 'P-384' },
        { kty: 'RSA', kid: 'no-n', e: 'AQAB' },
        { ...jwk(rsa.publicKey), kid: 'n-number', n: 42 },
        jwk(p256.publicKey, { kid: 7 }),
        jwk(rsa.publicKey, { kid: 'good' }),
      ),
    );
    expect(bundle.keys().map((k) => k.kid)).toEqual(['good']);
  });

  it('reads only the public members of a JWK that carries private material', () => {
    const bundle = JwtBundle.parse(td, jwks(jwk(p256.privateKey, { kid: 'k' })));
    const key = bundle.findKey('k');
    expect(key?.type).toBe('public');
    expect(sameKey(key, p256.publicKey)).toBe(true);
  });

  it('keeps keys without kid (or with an empty kid) for kid-less tokens, not findable by kid', () => {
    const bundle = JwtBundle.parse(td, jwks(jwk(p256.publicKey), jwk(p384.publicKey, { kid: '' }), jwk(rsa.publicKey, { kid: 'r' })));
    expect(bundle.size).toBe(3);
    expect(bundle.keys().map((k) => k.kid)).toEqual([undefined, undefined, 'r']);
    expect(bundle.findKey('')).toBeUndefined();
  });

  it('rejects two usable keys with the same kid, but not a clash with an ignored key', () => {
    expect(() => JwtBundle.parse(td, jwks(jwk(p256.publicKey, { kid: 'k' }), jwk(p384.publicKey, { kid: 'k' })))).toThrow(new BundleError('jwtbundle: duplicate key ID "k"'));
    const bundle = JwtBundle.parse(td, jwks(jwk(rsa.publicKey, { kid: 'k', use: 'x509-svid' }), jwk(p256.publicKey, { kid: 'k' })));
    expect(sameKey(bundle.findKey('k'), p256.publicKey)).toBe(true);
  });

  it('returns a frozen key list', () => {
    const bundle = JwtBundle.parse(td, jwks(jwk(p256.publicKey, { kid: 'k' })));
    expect(Object.isFrozen(bundle.keys())).toBe(true);
  });
});

describe('JwtBundle.toJwks', () => {
  it('exports a public JWKS in the Workload API form that parses back to the same keys', () => {
    const bundle = JwtBundle.parse(td, jwks(jwk(rsa.privateKey, { kid: 'r', use: 'jwt-svid' }), jwk(p256.publicKey)));
    const out = bundle.toJwks();
    expect(out.keys).toHaveLength(2);
    expect(out.keys[0]).toEqual({ kid: 'r', ...jwk(rsa.publicKey) });
    expect(out.keys[1]).toEqual(jwk(p256.publicKey));
    for (const key of out.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key).not.toHaveProperty('use');
    }
    const again = JwtBundle.parse(td, JSON.stringify(out));
    expect(sameKey(again.findKey('r'), rsa.publicKey)).toBe(true);
    expect(sameKey(again.keys()[1].key, p256.publicKey)).toBe(true);
  });
});

describe('JwtBundle.fromKeys', () => {
  it('accepts public KeyObjects, private KeyObjects (keeping the public half) and JWKs', () => {
    const bundle = JwtBundle.fromKeys(
      td,
      new Map<string, KeyObject | Record<string, unknown>>([
        ['pub', p256.publicKey],
        ['priv', rsa.privateKey],
        ['jwk', jwk(p384.publicKey)],
      ]),
    );
    expect(bundle.size).toBe(3);
    expect(bundle.findKey('priv')?.type).toBe('public');
    expect(sameKey(bundle.findKey('priv'), rsa.publicKey)).toBe(true);
    expect(sameKey(bundle.findKey('jwk'), p384.publicKey)).toBe(true);
  });

  it('rejects an empty kid and keys that cannot verify a JWT-SVID', () => {
    expect(() => JwtBundle.fromKeys(td, new Map([['', p256.publicKey]]))).toThrow(new BundleError('jwtbundle: keyID cannot be empty'));
    const unusable = 'is not an RSA (>= 2048 bits) or EC P-256/P-384/P-521 key';
    expect(() => JwtBundle.fromKeys(td, new Map([['h', createSecretKey(Buffer.alloc(32))]]))).toThrow(`jwtbundle: key "h" ${unusable}`);
    expect(() => JwtBundle.fromKeys(td, new Map([['ed', generateKeyPairSync('ed25519').publicKey]]))).toThrow(`jwtbundle: key "ed" ${unusable}`);
    expect(() => JwtBundle.fromKeys(td, new Map([['o', { kty: 'oct', k: 'c2VjcmV0' }]]))).toThrow(`jwtbundle: key "o" ${unusable}`);
  });
});
