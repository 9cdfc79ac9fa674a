import { randomFillSync, sign } from 'node:crypto';
import { SIGNING_ALGORITHM, type SigningKeys } from '../tasks/signing-keys';

/** The JWS `typ` of a call token (RFC 8725 §3.11: explicit typing, so no other JWT passes for one). */
export const CALL_TOKEN_TYPE = 'toolgate-call+jwt';
/** The longest a call token lives, and its default lifetime. */
export const CALL_TOKEN_MAX_TTL_SECONDS = 60;

/** What the gateway says about one relayed call, for the upstream. */
export interface CallTokenClaims {
  /** `iss`, and `act.sub`: the gateway's SPIFFE ID. */
  readonly issuer: string;
  /** `sub`: the caller's SPIFFE ID. */
  readonly subject: string;
  /** `aud`: the upstream's SPIFFE ID. */
  readonly audience: string;
  /** `scope`: the action id `pkg.Service/Method`. */
  readonly scope: string;
  /** `task_id`: the task the call runs under. */
  readonly taskId?: string;
  /** Caps `exp`: the token never outlives the task. */
  readonly taskExpiresAt?: Date;
  /** `agent`: the agent name the caller's SPIFFE ID maps to. */
  readonly agent?: string;
  /** `obo`: the user the agent acts on behalf of. */
  readonly onBehalfOf?: { readonly issuer: string; readonly subject: string };
  /** Lifetime; default and cap `CALL_TOKEN_MAX_TTL_SECONDS`. */
  readonly ttlSeconds?: number;
}

/** The payload of a call token, as the upstream reads it. */
export interface CallTokenPayload {
  iss: string;
  sub: string;
  aud: string;
  act: { sub: string };
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  task_id?: string;
  agent?: string;
  obo?: { iss: string; sub: string };
}

/**
 * Mints the compact ES256 JWT that goes to the upstream with a relayed call, as
 * `authorization: Bearer <token>`. Synchronous (the relay's hot path): node:crypto signs
 * with the ring's current key as a cached KeyObject; the encoded header is cached per kid.
 *
 * `exp` = min(now + ttl, task end), floored to whole seconds so it never passes the task's
 * end; ttl defaults to and is capped at 60 s (a ttl <= 0 or NaN throws RangeError). A task that already ended yields `exp <= iat`:
 * the caller should not relay then. The token is a bearer secret: never log it.
 */
export function mintCallToken(keys: SigningKeys, claims: CallTokenClaims, now: number = keys.clock()): string {
  return mintedCallToken(keys, claims, now).token;
}

/** A minted call token with what a cache of them needs to know: the `kid` that signed it and its `exp` (seconds). */
export interface MintedCallToken {
  readonly token: string;
  readonly kid: string;
  readonly exp: number;
}

/** `mintCallToken`, returning the signing `kid` and `exp` beside the token. */
export function mintedCallToken(keys: SigningKeys, claims: CallTokenClaims, now: number = keys.clock()): MintedCallToken {
  const { kid, key } = keys.signingKeyObject();
  const header = encodedHeader(kid);
  const iat = Math.floor(now / 1000);
  const ttl = claims.ttlSeconds === undefined ? CALL_TOKEN_MAX_TTL_SECONDS : Math.min(claims.ttlSeconds, CALL_TOKEN_MAX_TTL_SECONDS);
  if (!(ttl > 0)) throw new RangeError(`call token ttlSeconds must be > 0, not ${claims.ttlSeconds}`);
  let exp = Math.floor((now + ttl * 1000) / 1000);
  if (claims.taskExpiresAt !== undefined) exp = Math.min(exp, Math.floor(claims.taskExpiresAt.getTime() / 1000));
  const payload: CallTokenPayload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.audience,
    act: { sub: claims.issuer },
    scope: claims.scope,
    jti: nextJti(),
    iat,
    exp,
  };
  if (claims.taskId !== undefined) payload.task_id = claims.taskId;
  if (claims.agent !== undefined) payload.agent = claims.agent;
  if (claims.onBehalfOf !== undefined) payload.obo = { iss: claims.onBehalfOf.issuer, sub: claims.onBehalfOf.subject };
  const signingInput = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return { token: `${signingInput}.${signature.toString('base64url')}`, kid, exp };
}

let cachedHeader: { kid: string; encoded: string } | undefined;

/** The base64url JWS header for `kid`; kids change only on rotation, so one entry suffices. */
function encodedHeader(kid: string): string {
  if (cachedHeader?.kid !== kid) {
    const json = JSON.stringify({ alg: SIGNING_ALGORITHM, typ: CALL_TOKEN_TYPE, kid });
    cachedHeader = { kid, encoded: Buffer.from(json).toString('base64url') };
  }
  return cachedHeader.encoded;
}

const JTI_BYTES = 16;
const JTI_POOL = Buffer.alloc(JTI_BYTES * 1024);
let jtiOffset = JTI_POOL.length;

/** 128 random bits, base64url; from a pool refilled by the CSPRNG 1024 ids at a time. */
function nextJti(): string {
  if (jtiOffset >= JTI_POOL.length) {
    randomFillSync(JTI_POOL);
    jtiOffset = 0;
  }
  const jti = JTI_POOL.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
}
