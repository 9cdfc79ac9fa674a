import { generateKeyPairSync } from 'node:crypto';
import { format, inspect } from 'node:util';
import { SignJWT, type JWTPayload } from 'jose';
import { JwtSvidError } from '../../../../src/spiffe/errors';
import { JwtSvid } from '../../../../src/spiffe/jwt/jwt-svid';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const NOW = new Date('2030-01-01T00:00:00Z');
const now = NOW.getTime() / 1000;
const ID = 'spiffe://example.org/agents/bot';
const AUD = 'spiffe://example.org/gateway';

const sign = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'JWT', ...header }).sign(privateKey);
const valid = (extra: JWTPayload = {}) => sign({ sub: ID, aud: AUD, exp: now + 300, iat: now, ...extra });

describe('JwtSvid.parseInsecure', () => {
  it('reads the SPIFFE ID, audience, expiry, claims and hint without verifying the signature', async () => {
    const token = await valid({ aud: [AUD, 'other'], custom: 'x' });
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.c2lnbmF0dXJl`;
    const svid = JwtSvid.parseInsecure(forged, AUD, 'internal', { now: NOW });
    expect(svid.id.toString()).toBe(ID);
    expect(svid.audience).toEqual([AUD, 'other']);
    expect(svid.expiresAt).toEqual(new Date((now + 300) * 1000));
    expect(svid.claims).toEqual({ sub: ID, aud: [AUD, 'other'], exp: now + 300, iat: now, custom: 'x' });
    expect(svid.hint).toBe('internal');
    expect(svid.token).toBe(forged);
    expect(Object.isFrozen(svid.claims)).toBe(true);
    expect(Object.isFrozen(svid.audience)).toBe(true);
  });

  it('skips the audience check when no audience is given, and the hint defaults to empty', async () => {
    const svid = JwtSvid.parseInsecure(await valid({ aud: 'someone-else' }), undefined, undefined, { now: NOW });
    expect(svid.audience).toEqual(['someone-else']);
    expect(svid.hint).toBe('');
  });

  it('checks the audience when one is given', async () => {
    const token = await valid({ aud: 'someone-else' });
    expect(() => JwtSvid.parseInsecure(token, [AUD], '', { now: NOW })).toThrow(new JwtSvidError(`jwtsvid: expected audience in ["${AUD}"] (audience=["someone-else"])`));
  });

  it('still requires exp, a SPIFFE ID subject, an allowed algorithm, and an unexpired token', async () => {
    await expect(async () => JwtSvid.parseInsecure(await sign({ sub: ID, aud: AUD }), AUD, '', { now: NOW })).rejects.toThrow('jwtsvid: token missing exp claim');
    await expect(async () => JwtSvid.parseInsecure(await valid({ sub: 'spiffe://example.org/a//b' }), AUD, '', { now: NOW })).rejects.toThrow(
      'jwtsvid: token has an invalid subject claim: path cannot contain empty segments',
    );
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await valid()).split('.')[1]}.`;
    expect(() => JwtSvid.parseInsecure(none, AUD, '', { now: NOW })).toThrow('jwtsvid: unable to parse JWT token');
    await expect(async () => JwtSvid.parseInsecure(await valid({ exp: now - 61 }), AUD, '', { now: NOW })).rejects.toThrow('jwtsvid: token has expired');
  });
});

describe('JwtSvid secrecy', () => {
  it('never prints its token through JSON, util.inspect, format, spreads or keys', async () => {
    const token = await valid();
    const svid = JwtSvid.parseInsecure(token, AUD, 'h', { now: NOW });
    const signature = token.split('.')[2];
    const printed = [
      JSON.stringify(svid),
      JSON.stringify({ nested: { svid } }),
      inspect(svid),
      inspect(svid, { showHidden: true, depth: Infinity }),
      inspect({ nested: [svid] }),
      format('%s %o %O %j', svid, svid, svid, svid),
      JSON.stringify({ ...svid }),
      Object.keys(svid).join(','),
      Object.getOwnPropertyNames(svid).join(','),
    ];
    for (const text of printed) {
      expect(text).not.toContain(signature);
      expect(text).not.toContain(token);
    }
    expect(JSON.parse(JSON.stringify(svid))).toEqual({ id: ID, audience: [AUD], expiresAt: new Date((now + 300) * 1000).toISOString(), hint: 'h' });
    expect(inspect(svid)).toContain('[redacted]');
    expect(inspect(svid)).toContain(ID);
    expect(svid.token).toBe(token);
  });
});
