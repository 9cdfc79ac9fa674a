import type { KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';
import { JwtSvidError } from '../errors';
import type { TrustDomain } from '../id/trust-domain';
import type { JwtBundleSource } from '../sources';
import type { JwtBundle } from './jwt-bundle';
import { checkJwtSvidClaims, claimsError, decodeJwtSvid, JWT_SVID_ALGORITHMS, type JwtSvid, type JwtSvidAlgorithm, type JwtSvidTimeOptions } from './jwt-svid';

const VERIFY_OPTIONS = { algorithms: [...JWT_SVID_ALGORITHMS] };
/** Node's names for the curve each ES algorithm needs; RS and PS need an RSA key. */
const CURVE_OF: Partial<Record<JwtSvidAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Validates a JWT-SVID received from a peer (spec §4.3, go-spiffe's `ParseAndValidate` order
 * and messages) and returns it. The key comes only from the bundle of the `sub`'s own trust
 * domain. Unlike go-spiffe, a token without `kid` is accepted when one key of that trust
 * domain verifies it (spec §4.1). `exp`, `nbf` and `iat` allow `leewaySeconds` (default 60,
 * go-jose's default) of clock skew.
 *
 * Throws `JwtSvidError` (code `ERR_JWT_SVID`) for every invalid token, including an empty
 * `audience`: a caller without an audience must deny, never skip the check.
 */
export async function validateJwtSvid(token: string, audience: string | readonly string[], bundles: JwtBundleSource, options: JwtSvidTimeOptions = {}): Promise<JwtSvid> {
  const expected = typeof audience === 'string' ? [audience] : audience;
  if (expected.length === 0 || expected.includes('')) throw new JwtSvidError('jwtsvid: expected audience cannot be empty');

  const { algorithm, keyId, svid } = decodeJwtSvid(token);
  const td = svid.id.trustDomain;
  const bundle = bundleOf(bundles, td);
  if (keyId !== undefined) {
    await verifyWithKey(token, algorithm, keyId, bundle);
  } else {
    await verifyWithAnyKey(token, algorithm, bundle);
  }
  checkJwtSvidClaims(svid, expected, options);
  return svid;
}

/** The bundle of exactly `td`: one a custom source returns for another trust domain counts as none. */
function bundleOf(bundles: JwtBundleSource, td: TrustDomain): JwtBundle {
  let bundle: JwtBundle | undefined;
  let cause: unknown;
  try {
    bundle = bundles.getJwtBundleForTrustDomain(td);
  } catch (err) {
    cause = err;
  }
  if (bundle?.trustDomain.equals(td)) return bundle;
  throw new JwtSvidError(`jwtsvid: no bundle found for trust domain ${JSON.stringify(td.name)}`, { cause });
}

async function verifyWithKey(token: string, algorithm: JwtSvidAlgorithm, keyId: string, bundle: JwtBundle): Promise<void> {
  const key = bundle.findKey(keyId);
  if (key === undefined) {
    throw new JwtSvidError(`jwtsvid: no JWT authority ${JSON.stringify(keyId)} found for trust domain ${JSON.stringify(bundle.trustDomain.name)}`);
  }
  if (!suits(algorithm, key)) {
    throw claimsError(`algorithm ${algorithm} does not suit the ${key.asymmetricKeyType?.toUpperCase()} key ${JSON.stringify(keyId)}`);
  }
  if (!(await verifies(token, key))) throw claimsError('signature verification failed');
}

/** Tries the keys of this one trust domain that suit the algorithm, with or without `kid`. */
async function verifyWithAnyKey(token: string, algorithm: JwtSvidAlgorithm, bundle: JwtBundle): Promise<void> {
  const td = JSON.stringify(bundle.trustDomain.name);
  if (bundle.size === 0) throw new JwtSvidError(`jwtsvid: no JWT authority found for trust domain ${td}`);
  for (const { key } of bundle.keys()) {
    if (suits(algorithm, key) && (await verifies(token, key))) return;
  }
  throw claimsError(`no JWT authority of trust domain ${td} verifies the signature`);
}

function suits(algorithm: JwtSvidAlgorithm, key: KeyObject): boolean {
  const curve = CURVE_OF[algorithm];
  if (curve === undefined) return key.asymmetricKeyType === 'rsa';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve;
}

/** False for a signature that does not verify; any other failure is an invalid token. */
async function verifies(token: string, key: KeyObject): Promise<boolean> {
  try {
    // jose caches the WebCrypto form of each KeyObject, so this imports nothing per call.
    await compactVerify(token, key, VERIFY_OPTIONS);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return false;
    throw claimsError((err as Error).message);
  }
}
