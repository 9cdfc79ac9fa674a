import { SignJWT, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { SIGNING_ALGORITHM, type SigningKeys } from './signing-keys';
import type { Clock, Task } from './task';
import { TaskError } from './task-errors';
import { errorCode, errorMessage } from '../errors/unknown-error';

/** The JWS `typ` of a task token (RFC 8725 §3.11: explicit typing, so no other JWT passes for one). */
export const TASK_TOKEN_TYPE = 'toolgate-task+jwt';
export const TASK_TOKEN_ISSUER = 'toolgate';
/** Clock skew allowed on `exp` and `iat`. Small: tokens are verified by the gateway replicas that minted them. */
export const TASK_TOKEN_LEEWAY_SECONDS = 5;

/** What a verified task token says. The store, not the token, says whether the task still runs. */
export interface TaskTokenClaims {
  /** `jti`. */
  readonly taskId: string;
  /** `sub`: equal to the presenting connection's SPIFFE ID, or the token was refused. */
  readonly ownerSpiffeId: string;
  readonly intent?: string;
  readonly tools: readonly string[];
  /** The task's total call budget (`calls`), when it has one. */
  readonly callBudget?: number;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/**
 * A compact ES256 JWT for `task`, signed with the ring's current key: `iss` 'toolgate',
 * `sub` the owner's SPIFFE ID, `jti` the task id, `exp` the task's expiry, `iat` the ring's
 * clock, `tools`, `intent` when not empty, and `calls` (the total call budget) when set:
 * with them a replica builds `context.task` without reading the task back from the store. The token is a bearer secret: never log it.
 */
export async function mintTaskToken(keys: SigningKeys, task: Task): Promise<string> {
  const { kid, key } = keys.signingKey();
  const claims: JWTPayload = { tools: [...task.tools] };
  if (task.intent !== '') claims.intent = task.intent;
  if (task.budget.calls !== undefined) claims.calls = task.budget.calls;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: TASK_TOKEN_TYPE, kid })
    .setIssuer(TASK_TOKEN_ISSUER)
    .setSubject(task.ownerSpiffeId)
    .setJti(task.id)
    .setIssuedAt(Math.floor(keys.clock() / 1000))
    .setExpirationTime(Math.floor(task.expiresAt.getTime() / 1000))
    .sign(key);
}

/**
 * Verifies a task token presented on a connection authenticated as `presenterSpiffeId`:
 * its signature and claims (`verifyTaskTokenClaims`), and that `sub` equals the presenter,
 * so a token replayed from another SPIFFE ID is refused.
 *
 * Throws `TaskError` `ERR_TASK_EXPIRED` for an expired token and `ERR_TASK_TOKEN` for any
 * other; messages name neither the token, its keys nor its owner.
 */
export async function verifyTaskToken(keys: SigningKeys, token: string, presenterSpiffeId: string, clock: Clock): Promise<TaskTokenClaims> {
  return checkPresenter(await verifyTaskTokenClaims(keys, token, clock), presenterSpiffeId);
}

/**
 * A task token's claims, whoever presents it: the signature (by `kid`, among the ring's
 * current and retained keys), `alg`, `typ`, `iss`, `exp` and `iat` (with
 * `TASK_TOKEN_LEEWAY_SECONDS`). The presenter must still be checked (`checkPresenter`).
 */
export async function verifyTaskTokenClaims(keys: SigningKeys, token: string, clock: Clock): Promise<TaskTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => keyFor(keys, header), {
      algorithms: [SIGNING_ALGORITHM],
      typ: TASK_TOKEN_TYPE,
      issuer: TASK_TOKEN_ISSUER,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      currentDate: new Date(clock()),
      clockTolerance: TASK_TOKEN_LEEWAY_SECONDS,
    }));
  } catch (err) {
    throw refusal(err);
  }
  return claimsOf(payload);
}

/** The claims, if they were issued to `presenterSpiffeId`; else `ERR_TASK_TOKEN`. */
export function checkPresenter(claims: TaskTokenClaims, presenterSpiffeId: string): TaskTokenClaims {
  if (presenterSpiffeId === '' || claims.ownerSpiffeId !== presenterSpiffeId) {
    throw new TaskError('ERR_TASK_TOKEN', 'task token refused: it was issued to another SPIFFE ID');
  }
  return claims;
}

function keyFor(keys: SigningKeys, header: JWTHeaderParameters) {
  const key = keys.verificationKey(header.kid);
  if (key === undefined) throw new TaskError('ERR_TASK_TOKEN', 'task token refused: its signing key is unknown or retired');
  return key;
}

function refusal(err: unknown): TaskError {
  if (err instanceof TaskError) return err;
  const code = errorCode(err);
  if (code === 'ERR_JWT_EXPIRED') return new TaskError('ERR_TASK_EXPIRED', 'task token refused: it has expired');
  // jose's messages name a claim or check, never the token or a key; its code is kept too.
  const reason = typeof code === 'string' ? `${code}: ${errorMessage(err)}` : 'malformed token';
  return new TaskError('ERR_TASK_TOKEN', `task token refused: ${reason}`);
}

function claimsOf(payload: JWTPayload): TaskTokenClaims {
  const { jti, sub, exp, iat, tools, intent, calls } = payload;
  if (typeof jti !== 'string' || jti === '' || typeof sub !== 'string' || typeof exp !== 'number' || typeof iat !== 'number') {
    throw new TaskError('ERR_TASK_TOKEN', 'task token refused: missing or malformed claims');
  }
  if (!Array.isArray(tools) || !tools.every((t): t is string => typeof t === 'string')) {
    throw new TaskError('ERR_TASK_TOKEN', 'task token refused: malformed "tools" claim');
  }
  if (intent !== undefined && typeof intent !== 'string') throw new TaskError('ERR_TASK_TOKEN', 'task token refused: malformed "intent" claim');
  if (calls !== undefined && !Number.isSafeInteger(calls)) throw new TaskError('ERR_TASK_TOKEN', 'task token refused: malformed "calls" claim');
  return {
    taskId: jti,
    ownerSpiffeId: sub,
    ...(intent === undefined ? {} : { intent }),
    tools,
    ...(calls !== undefined && { callBudget: calls as number }),
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
  };
}
