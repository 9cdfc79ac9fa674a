import { errorCode } from '../errors/unknown-error';
import type { Caller } from './call-context';

/** Proves a caller by its bearer token; rejects (e.g. `WorkloadTokenError`) for a token that proves nothing. */
export interface BearerAuthenticator {
  authenticate(token: string): Promise<Caller>;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The token of an `authorization: Bearer <token>` header; undefined when absent, sent more than once, or not one Bearer token. */
export function bearerToken(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined; // absent, or sent more than once
  return BEARER.exec(value)?.[1];
}

/** Why a bearer caller was refused: for the log only (`reason`), with the stable code (`code`) for metrics. */
export interface BearerRefusal {
  readonly reason: string;
  readonly code: string;
  /** `missing`: no authorization header; `malformed`: not one Bearer token; `invalid`: a token that proves nothing. */
  readonly kind: 'missing' | 'malformed' | 'invalid';
}

/**
 * The caller an `authorization` header proves, for gRPC calls and MCP requests on the token
 * listener alike: the header parsed, the token checked by `authenticator` (a throw taken as a
 * rejection). Resolves `{ caller }` or `{ refused }`; never rejects.
 */
export function bearerCaller(authenticator: BearerAuthenticator, header: string | string[] | undefined): Promise<{ caller: Caller } | { refused: BearerRefusal }> {
  const token = bearerToken(header);
  if (token === undefined) {
    const missing = header === undefined;
    return Promise.resolve({
      refused: { reason: missing ? 'no authorization header' : 'authorization is not one Bearer token', code: 'ERR_TOKEN_MISSING', kind: missing ? 'missing' : 'malformed' },
    });
  }
  let authenticated: Promise<Caller>;
  try {
    authenticated = authenticator.authenticate(token);
  } catch (err) {
    authenticated = Promise.reject(err);
  }
  return authenticated.then(
    (caller) => ({ caller }),
    (err: unknown) => ({ refused: { reason: err instanceof Error ? err.message : 'token refused', code: errorCode(err) ?? 'ERR_TOKEN_INVALID', kind: 'invalid' as const } }),
  );
}
