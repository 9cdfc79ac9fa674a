import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { SpiffeId } from '../id/spiffe-id';

/** The algorithms the JWT-SVID spec allows; everything else (none, HS*, EdDSA) is refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];
/** go-jose's default leeway, which go-spiffe and SPIRE use. */
const LEEWAY_S = 60;

export interface ValidatedJwtSvid {
  spiffeId: string;
  /** Every claim of the token, with `aud` always a list (as SPIRE returns it). */
  claims: Record<string, unknown>;
}

/**
 * Validates a JWT-SVID the way SPIRE's ValidateJWTSVID does, in go-spiffe's order, against
 * JWT bundles in Workload API form (`{ 'spiffe://td' | 'td': JWKS JSON bytes }`). Unlike
 * SPIRE it accepts a token without `kid` when a key of the subject's trust domain verifies
 * it (toolgate's rule, spec §4.1). Throws an Error whose message is the reason.
 */
export async function validateJwtSvid(
  token: string,
  audience: string,
  jwtBundles: Record<string, Uint8Array | undefined>,
  nowMs: number,
): Promise<ValidatedJwtSvid> {
  let header: ProtectedHeaderParameters;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    throw new Error('unable to parse JWT token');
  }
  if (token.split('.').length !== 3 || !ALGORITHMS.includes(header.alg ?? '')) {
    throw new Error('unable to parse JWT token');
  }
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    throw new Error('token header type not equal to either JWT or JOSE');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('token missing subject claim');
  if (payload.exp === undefined) throw new Error('token missing exp claim');
  let subject: SpiffeId;
  try {
    subject = SpiffeId.parse(payload.sub);
  } catch (err) {
    throw new Error(`token has an invalid subject claim: ${(err as Error).message}`);
  }

  const td = subject.trustDomain.name;
  const jwks = jwtBundles[`spiffe://${td}`] ?? jwtBundles[td];
  if (jwks === undefined) throw new Error(`no bundle found for trust domain "${td}"`);
  const keys = parseKeys(jwks, td).filter((k) => header.kid === undefined || k.kid === header.kid);
  if (keys.length === 0) {
    throw new Error(header.kid === undefined ? `no JWT authorities found for trust domain "${td}"` : `no JWT authority "${header.kid}" found for trust domain "${td}"`);
  }
  if (!(await verifiesWithAny(token, keys))) throw new Error('unable to verify token signature');

  checkTimes(payload, nowMs / 1000);
  const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  if (!aud.includes(audience)) {
    throw new Error(`expected audience in ${JSON.stringify([audience])} (audience=${JSON.stringify(aud)})`);
  }
  return { spiffeId: subject.toString(), claims: { ...payload, aud } };
}

function parseKeys(jwks: Uint8Array, td: string): (JsonWebKey & { kid?: string })[] {
  try {
    const parsed = JSON.parse(Buffer.from(jwks).toString('utf8')) as { keys?: unknown };
    if (!Array.isArray(parsed.keys)) throw new Error('no keys');
    // A key tagged for X.509-SVIDs must never verify a JWT; an untagged one may (SPIRE sends no `use`).
    return (parsed.keys as (JsonWebKey & { kid?: string; use?: string })[]).filter((k) => k.use === undefined || k.use === 'jwt-svid');
  } catch {
    throw new Error(`invalid JWT bundle for trust domain "${td}"`);
  }
}

async function verifiesWithAny(token: string, keys: JsonWebKey[]): Promise<boolean> {
  for (const jwk of keys) {
    try {
      await compactVerify(token, createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ALGORITHMS });
      return true;
    } catch {
      // Wrong key, unusable key or bad signature: try the next key of this trust domain.
    }
  }
  return false;
}

function checkTimes(payload: JWTPayload, nowS: number): void {
  if (typeof payload.exp !== 'number' || payload.exp + LEEWAY_S < nowS) throw new Error('token has expired');
  if (typeof payload.nbf === 'number' && payload.nbf - LEEWAY_S > nowS) throw new Error('token not valid yet');
  if (typeof payload.iat === 'number' && payload.iat - LEEWAY_S > nowS) throw new Error('token issued in the future');
}
