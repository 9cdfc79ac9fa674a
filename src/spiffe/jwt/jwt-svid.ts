import { inspect } from 'node:util';
import { JwtSvidError, SpiffeIdError } from '../errors';
import { SpiffeId } from '../id/spiffe-id';

/**
 * The only JWS algorithms a JWT-SVID may use (spec §4.1). `none`, HMAC and EdDSA are
 * refused: with HMAC, anyone holding a bundle's public key bytes could forge a token.
 */
export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;
export type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number];

/** go-jose's default leeway, which go-spiffe and SPIRE validate with. */
export const DEFAULT_LEEWAY_SECONDS = 60;

/** The clock of the time checks, passed in so that callers and tests control it. */
export interface JwtSvidTimeOptions {
  /** Default: the current time. */
  now?: Date;
  /** Clock skew allowed on `exp`, `nbf` and `iat`; default `DEFAULT_LEEWAY_SECONDS`. */
  leewaySeconds?: number;
}

/**
 * A JWT-SVID: a SPIFFE ID asserted by a signed JWT. The token is a bearer secret, so it is
 * held in a private field and left out of `toJSON`, `util.inspect`, spreads and `Object.keys`.
 */
export class JwtSvid {
  readonly #token: string;

  /**
   * Checks nothing. Get a JwtSvid from `validateJwtSvid` (a token from a peer) or
   * `JwtSvid.parseInsecure` (a token our own Workload API issued).
   */
  constructor(
    token: string,
    readonly id: SpiffeId,
    /** The `aud` claim, always as a list. */
    readonly audience: readonly string[],
    /** The `exp` claim. */
    readonly expiresAt: Date,
    /** Every claim of the token. */
    readonly claims: Readonly<Record<string, unknown>>,
    /** The operator's hint from the Workload API; `''` for a token received from a peer. */
    readonly hint: string = '',
  ) {
    this.#token = token;
  }

  /**
   * Reads a token that our own Workload API returned, without verifying its signature: the
   * token came over the local, authenticated Workload API channel. The header, `sub` and `exp`
   * rules still apply, and so do the time checks and, when `audience` is given, the audience
   * check (as go-spiffe's `ParseInsecure`). Never use this on a token received from a peer.
   */
  static parseInsecure(token: string, audience: string | readonly string[] = [], hint = '', options: JwtSvidTimeOptions = {}): JwtSvid {
    const { svid } = decodeJwtSvid(token, hint);
    checkJwtSvidClaims(svid, typeof audience === 'string' ? [audience] : audience, options);
    return svid;
  }

  /** The compact JWS, e.g. for an `authorization: Bearer <token>` header. */
  get token(): string {
    return this.#token;
  }

  toJSON(): { id: string; audience: readonly string[]; expiresAt: string; hint: string } {
    return { id: this.id.toString(), audience: this.audience, expiresAt: this.expiresAt.toISOString(), hint: this.hint };
  }

  [inspect.custom](_depth: number, options: object): string {
    return `JwtSvid ${inspect({ ...this.toJSON(), token: '[redacted]' }, options)}`;
  }
}

/** A token's header facts and its unverified JWT-SVID, before any signature or time check. */
export interface DecodedJwtSvid {
  readonly algorithm: JwtSvidAlgorithm;
  /** `undefined` when the header has no `kid` (an empty `kid` counts as none, as in go-jose). */
  readonly keyId: string | undefined;
  readonly svid: JwtSvid;
}

const ALGORITHMS: ReadonlySet<string> = new Set(JWT_SVID_ALGORITHMS);
/**
 * The only header parameters a JWT-SVID may carry (spec §4.1). Refusing the rest also refuses
 * `jwk`, `jku`, `x5u` and `x5c` (keys chosen by the token itself) and `crit`.
 */
const HEADER_PARAMETERS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ']);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_DATE_MS = 8.64e15;

/**
 * Steps 1–3 of spec §4.3 (go-spiffe's order and messages): the compact JWS and its header,
 * then the claims, read without verifying the signature. Throws `JwtSvidError`.
 */
export function decodeJwtSvid(token: string, hint = ''): DecodedJwtSvid {
  // Only the compact serialization: a JWS JSON serialization has no three dot-separated parts.
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || !parts.every(isBase64Url)) throw parseError('not a compact JWS');
  const header = decodeSegment(parts[0]);
  if (header === undefined) throw parseError('the header is not a JSON object');
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !ALGORITHMS.has(alg)) throw parseError(`algorithm ${JSON.stringify(alg)} is not allowed`);
  if (kid !== undefined && typeof kid !== 'string') throw parseError('"kid" is not a string');
  if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') throw new JwtSvidError('jwtsvid: token header type not equal to either JWT or JOSE');
  for (const name of Object.keys(header)) {
    if (!HEADER_PARAMETERS.has(name)) throw new JwtSvidError(`jwtsvid: token header has unexpected parameter ${JSON.stringify(name)}`);
  }

  const claims = decodeSegment(parts[1]);
  if (claims === undefined) throw claimsError('the payload is not a JSON object');
  const { sub, exp } = claims;
  if (sub != null && typeof sub !== 'string') throw claimsError('"sub" is not a string');
  for (const name of ['exp', 'nbf', 'iat']) {
    if (claims[name] != null && !isNumericDate(claims[name])) throw claimsError(`${JSON.stringify(name)} is not a number`);
  }
  const audience = audienceOf(claims.aud);
  if (!sub) throw new JwtSvidError('jwtsvid: token missing subject claim');
  if (exp == null) throw new JwtSvidError('jwtsvid: token missing exp claim');
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(sub);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw new JwtSvidError(`jwtsvid: token has an invalid subject claim: ${err.message}`, { cause: err });
  }

  const svid = new JwtSvid(token, id, audience, new Date((exp as number) * 1000), Object.freeze(claims), hint);
  return { algorithm: alg as JwtSvidAlgorithm, keyId: kid || undefined, svid };
}

/**
 * Step 8 of spec §4.3, in go-jose's order: audience (skipped when `expected` is empty), then
 * `nbf`, `exp` and `iat`, each with the leeway. Throws `JwtSvidError`, or `RangeError` for a
 * bad clock or leeway (which would otherwise turn every time check into a pass).
 */
export function checkJwtSvidClaims(svid: JwtSvid, expected: readonly string[], options: JwtSvidTimeOptions): void {
  const nowMs = (options.now ?? new Date()).getTime();
  const leewayMs = (options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS) * 1000;
  if (Number.isNaN(nowMs)) throw new RangeError('now is an invalid Date');
  if (!(leewayMs >= 0 && leewayMs < Infinity)) throw new RangeError('leewaySeconds must be a finite number >= 0');

  if (expected.length > 0 && !svid.audience.some((a) => expected.includes(a))) {
    throw new JwtSvidError(`jwtsvid: expected audience in ${goQuote(expected)} (audience=${goQuote(svid.audience)})`);
  }
  const { nbf, iat } = svid.claims;
  if (typeof nbf === 'number' && nowMs + leewayMs < nbf * 1000) throw new JwtSvidError('jwtsvid: token is not valid yet');
  if (nowMs - leewayMs > svid.expiresAt.getTime()) throw new JwtSvidError('jwtsvid: token has expired');
  if (typeof iat === 'number' && nowMs + leewayMs < iat * 1000) throw new JwtSvidError('jwtsvid: token issued in the future');
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    // The JSON error text would quote part of the token, which must not reach a log.
    return undefined;
  }
}

/** RFC 7519 allows a single string or an array of strings. */
function audienceOf(aud: unknown): readonly string[] {
  if (aud == null) return Object.freeze([]);
  if (typeof aud === 'string') return Object.freeze([aud]);
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return Object.freeze([...aud]);
  throw claimsError('"aud" is not a string or a list of strings');
}

/** Strict base64url without padding; a length of 4n+1 cannot encode whole bytes. */
function isBase64Url(segment: string): boolean {
  return BASE64URL.test(segment) && segment.length % 4 !== 1;
}

function isNumericDate(value: unknown): boolean {
  return typeof value === 'number' && Math.abs(value * 1000) <= MAX_DATE_MS;
}

/** Go's `%q` of a `[]string`, as in go-spiffe's audience error: `["a" "b"]`. */
function goQuote(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

function parseError(reason: string): JwtSvidError {
  return new JwtSvidError('jwtsvid: unable to parse JWT token', { cause: new Error(reason) });
}

export function claimsError(reason: string): JwtSvidError {
  return new JwtSvidError(`jwtsvid: unable to get claims from token: ${reason}`);
}
