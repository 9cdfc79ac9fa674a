import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { WorkloadTokenError, type WorkloadTokenErrorCode } from './workload-token-error';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { InvalidValueError } from '../errors/invalid-value-error';

/** One OIDC issuer whose tokens are accepted: `iss`, expected `aud`, and exactly one JWKS. */
export interface OidcIssuerConfig {
  issuer: string;
  audience: string;
  /** An https URL; plain http only on 127.0.0.1, [::1] or localhost. */
  jwksUri?: string;
  /** A JWKS JSON file, read once at construction. */
  jwksFile?: string;
}

export interface OidcIssuerOptions {
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Timeout of a JWKS fetch (jwksUri); default 5 s. */
  jwksTimeoutMs?: number;
}

export interface VerifiedOidcToken {
  issuer: string;
  subject: string;
  expiresAt: Date;
}

/** Asymmetric algorithms only: a shared-secret (HS*) or unsigned (`none`) token is refused. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const CLOCK_TOLERANCE_SECONDS = 60;

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Verifies the tokens of one OIDC issuer with jose: signature by a key of the issuer's JWKS
 * (asymmetric algorithms only), exact `iss`, `aud` containing the configured audience, and
 * `exp` and `sub` present, with 60 s of clock tolerance. Throws `WorkloadTokenError`.
 * Shared by OIDC workload tokens and on-behalf-of user tokens.
 */
export class OidcIssuer {
  readonly issuer: string;
  readonly audience: string;
  private readonly keys: JWTVerifyGetKey;
  private readonly clock: () => number;

  constructor(config: OidcIssuerConfig, options: OidcIssuerOptions = {}) {
    if (!config.issuer) throw new InvalidValueError('OIDC issuer: issuer must not be empty');
    if (!config.audience) throw new InvalidValueError(`OIDC issuer ${config.issuer}: audience must not be empty`);
    if ((config.jwksUri === undefined) === (config.jwksFile === undefined)) {
      throw new InvalidValueError(`OIDC issuer ${config.issuer}: set exactly one of jwksUri and jwksFile`);
    }
    this.issuer = config.issuer;
    this.audience = config.audience;
    this.clock = options.clock ?? Date.now;
    this.keys =
      config.jwksUri !== undefined
        ? createRemoteJWKSet(jwksUrl(config.issuer, config.jwksUri), { timeoutDuration: options.jwksTimeoutMs ?? 5000 })
        : createLocalJWKSet(readJwksFile(config.issuer, config.jwksFile!));
  }

  /** The verified token's issuer, subject and expiry; throws `WorkloadTokenError`. */
  async verify(token: string): Promise<VerifiedOidcToken> {
    // Checked before any key is looked up: a foreign token never triggers a JWKS fetch.
    if (peekClaims(token).iss !== this.issuer) throw new WorkloadTokenError('ERR_TOKEN_ISSUER', `token not issued by ${this.issuer}`);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: [...OIDC_ALGORITHMS],
        requiredClaims: ['iss', 'aud', 'exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock()),
      }));
    } catch (err) {
      throw refusal(this.issuer, err);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new WorkloadTokenError('ERR_TOKEN_SUBJECT', `token of ${this.issuer} has no subject`);
    }
    return { issuer: this.issuer, subject: payload.sub, expiresAt: new Date(payload.exp! * 1000) };
  }
}

/**
 * The `iss` and `sub` of a token, read *without* verifying it: only to pick what verifies
 * it. Throws `WorkloadTokenError` (ERR_TOKEN_INVALID) for something that is not a JWT.
 */
export function peekClaims(token: string): { iss: string | undefined; sub: string | undefined } {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new WorkloadTokenError('ERR_TOKEN_INVALID', 'not a JWT');
  }
  return { iss: typeof claims.iss === 'string' ? claims.iss : undefined, sub: typeof claims.sub === 'string' ? claims.sub : undefined };
}

/** jose's stable codes to ours. jose's messages are fixed texts; its errors' `payload` (the claims) is not kept. */
function refusal(issuer: string, err: unknown): WorkloadTokenError {
  const e = err as { code?: unknown; claim?: unknown; message?: unknown; name?: unknown };
  let code: WorkloadTokenErrorCode = 'ERR_TOKEN_INVALID';
  let reason = 'verification failed';
  if (typeof e.code === 'string' && e.code.startsWith('ERR_J')) {
    reason = String(e.message);
    if (e.code === 'ERR_JWT_EXPIRED') code = 'ERR_TOKEN_EXPIRED';
    else if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') code = CLAIM_CODES[String(e.claim)] ?? 'ERR_TOKEN_INVALID';
    // ERR_JOSE_GENERIC: the JWKS response was not 200 OK, or not JSON
    else if (e.code === 'ERR_JWKS_TIMEOUT' || e.code === 'ERR_JWKS_INVALID' || e.code === 'ERR_JOSE_GENERIC') code = 'ERR_TOKEN_KEYS_UNAVAILABLE';
  } else if (e.name === 'TypeError' || e.name === 'AbortError') {
    // fetch failures (connection refused, DNS, TLS) while getting the JWKS; by name, as
    // fetch's errors may come from another realm
    code = 'ERR_TOKEN_KEYS_UNAVAILABLE';
    reason = 'the JWKS could not be fetched';
  }
  return new WorkloadTokenError(code, `token of ${issuer} refused: ${reason}`);
}

const CLAIM_CODES: Record<string, WorkloadTokenErrorCode> = { aud: 'ERR_TOKEN_AUDIENCE', iss: 'ERR_TOKEN_ISSUER', sub: 'ERR_TOKEN_SUBJECT' };

/**
 * A JWKS URL keys may be fetched from: https, or plain http only on a loopback host (keys
 * fetched over plain http could be swapped by anyone on the path). Throws otherwise.
 */
export function parseJwksUri(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidValueError('not a URL');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return url;
  throw new InvalidValueError('must be https (http only on 127.0.0.1, [::1] or localhost)');
}

function jwksUrl(issuer: string, value: string): URL {
  try {
    return parseJwksUri(value);
  } catch (err) {
    throw new InvalidValueError(`OIDC issuer ${issuer}: jwksUri ${errorMessage(err)}`, { cause: err });
  }
}

function readJwksFile(issuer: string, path: string): JSONWebKeySet {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // JSON.parse quotes the text it failed on: keep key material out of the message (and so no cause).
    const reason = errorCode(err) ?? 'not valid JSON';
    throw new InvalidValueError(`OIDC issuer ${issuer}: cannot read JWKS file ${path}: ${reason}`);
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new InvalidValueError(`OIDC issuer ${issuer}: JWKS file ${path} has no "keys" list`);
  }
  return jwks as JSONWebKeySet;
}
