import { ToolgateError } from '../errors/toolgate-error';

/** Stable codes of a refused bearer token, like jose's `err.code`. */
export type WorkloadTokenErrorCode =
  /** No token, or not `Bearer <token>`. */
  | 'ERR_TOKEN_MISSING'
  /** Malformed, badly signed, a refused algorithm, no matching key, or a missing claim. */
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_AUDIENCE'
  /** No configured issuer has this `iss` (or the token is not a JWT-SVID where only those are accepted). */
  | 'ERR_TOKEN_ISSUER'
  /** A `sub` that cannot become a SPIFFE ID (or is missing). */
  | 'ERR_TOKEN_SUBJECT'
  /** The caller's trust domain is not accepted. */
  | 'ERR_TOKEN_TRUST_DOMAIN'
  /** The issuer's JWKS could not be fetched: the gateway's problem, not necessarily the caller's. */
  | 'ERR_TOKEN_KEYS_UNAVAILABLE';

/**
 * A workload or on-behalf-of token refused. The message is for the log: it names the reason,
 * the issuer or trust domain, never the token or key material. Callers see a generic status.
 */
export class WorkloadTokenError extends ToolgateError<WorkloadTokenErrorCode> {}
