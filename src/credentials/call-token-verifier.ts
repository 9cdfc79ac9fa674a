import * as grpc from '@grpc/grpc-js';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { CALL_TOKEN_TYPE } from './call-token';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

export { CALL_TOKEN_TYPE };

export interface CallTokenVerifierOptions {
  /** The gateway's JWKS, e.g. `http://toolgate-admin:9090/.well-known/jwks.json`. */
  readonly jwksUrl: string | URL;
  /** The gateway's SPIFFE ID: `iss`, and `act.sub`. */
  readonly issuer: string;
  /** This tool's own SPIFFE ID: `aud`. */
  readonly audience: string;
  /** Clock skew allowed on `exp`/`iat`; default 5 s. */
  readonly clockToleranceSeconds?: number;
  /** For tests: the time to verify at. */
  readonly now?: () => Date;
}

/** What a verified call token says. */
export interface VerifiedCallClaims {
  /** `sub`: the SPIFFE ID of the agent that made the call. */
  readonly subject: string;
  /** `act.sub`: the party presenting the call (the gateway). */
  readonly actor: string;
  /** `scope`: the action id `pkg.Service/Method` the gateway authorized. */
  readonly scope: string;
  readonly jti: string;
  readonly taskId?: string;
  readonly agent?: string;
  readonly onBehalfOf?: { readonly issuer: string; readonly subject: string };
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** The whole verified payload. */
  readonly payload: JWTPayload;
}

/** A call token that does not verify; the message names the check, never the token. */
export class CallTokenError extends ToolgateError<'ERR_CALL_TOKEN'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_CALL_TOKEN', message, options);
  }
}

export type CallTokenVerifier = (token: string) => Promise<VerifiedCallClaims>;

/**
 * A verifier of the gateway's call tokens, as a tool service would write it with `jose`:
 * keys from the gateway's JWKS (fetched and cached by `createRemoteJWKSet`, refetched on
 * an unknown `kid`), `alg` ES256, `typ` toolgate-call+jwt, `iss` the gateway, `aud` this
 * tool, `exp`/`iat`, and `act.sub` the gateway. Rejects with `CallTokenError`.
 */
export function createCallTokenVerifier(options: CallTokenVerifierOptions): CallTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ['ES256'],
        typ: CALL_TOKEN_TYPE,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['jti', 'exp', 'iat', 'sub', 'scope'],
        clockTolerance,
        // A call token lives at most 60 s.
        maxTokenAge: 60 + clockTolerance,
        ...(options.now === undefined ? {} : { currentDate: options.now() }),
      }));
    } catch (err) {
      const code = errorCode(err);
      throw new CallTokenError(`call token refused: ${typeof code === 'string' ? `${code}: ${errorMessage(err)}` : 'malformed token'}`);
    }
    return claimsOf(payload, options.issuer);
  };
}

function claimsOf(payload: JWTPayload, issuer: string): VerifiedCallClaims {
  const { sub, scope, jti, iat, exp, act, task_id: taskId, agent, obo } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== 'string' || typeof scope !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw new CallTokenError('call token refused: malformed claims');
  }
  const actor = typeof act === 'object' && act !== null ? (act as { sub?: unknown }).sub : undefined;
  if (actor !== issuer) throw new CallTokenError('call token refused: "act.sub" is not the gateway');
  if (taskId !== undefined && typeof taskId !== 'string') throw new CallTokenError('call token refused: malformed "task_id"');
  if (agent !== undefined && typeof agent !== 'string') throw new CallTokenError('call token refused: malformed "agent"');
  let onBehalfOf: VerifiedCallClaims['onBehalfOf'];
  if (obo !== undefined) {
    const { iss, sub: user } = (obo ?? {}) as { iss?: unknown; sub?: unknown };
    if (typeof iss !== 'string' || typeof user !== 'string') throw new CallTokenError('call token refused: malformed "obo"');
    onBehalfOf = { issuer: iss, subject: user };
  }
  return {
    subject: sub,
    actor,
    scope,
    jti,
    ...(taskId === undefined ? {} : { taskId }),
    ...(agent === undefined ? {} : { agent }),
    ...(onBehalfOf === undefined ? {} : { onBehalfOf }),
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    payload,
  };
}

/** Any server call: each carries metadata and its path. */
type AnyServerCall =
  grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

const verifiedClaims = new WeakMap<object, VerifiedCallClaims>();

/** The verified call-token claims of a call that passed `requireCallTokens`; undefined for any other call. */
export function callTokenClaims(call: object): VerifiedCallClaims | undefined {
  return verifiedClaims.get(call);
}

export interface RequireCallTokensOptions {
  /** Called with each call's verified claims before its handler runs. */
  readonly onVerified?: (claims: VerifiedCallClaims, call: AnyServerCall) => void;
}

/**
 * Wraps a service implementation so that each handler runs only for a call whose
 * `authorization: Bearer <token>` metadata verifies and whose `scope` is the called method
 * (`pkg.Service/Method`, from `call.getPath()`); any other call ends UNAUTHENTICATED
 * without reaching the handler. Handlers read the claims with `callTokenClaims(call)`.
 * `definition` tells each method's call type (and so how to end it).
 */
export function requireCallTokens(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  verify: CallTokenVerifier,
  options: RequireCallTokensOptions = {},
): grpc.UntypedServiceImplementation {
  const wrapped: grpc.UntypedServiceImplementation = { ...implementation };
  for (const [name, method] of Object.entries(definition)) {
    const key = name in implementation ? name : method.originalName !== undefined && method.originalName in implementation ? method.originalName : undefined;
    if (key === undefined) continue;
    const handler = implementation[key] as (call: AnyServerCall, done?: grpc.sendUnaryData<unknown>) => void;
    const unaryResponse = !method.responseStream;
    wrapped[key] = ((call: AnyServerCall, done?: grpc.sendUnaryData<unknown>) => {
      void authenticate(call, verify).then(
        (claims) => {
          verifiedClaims.set(call, claims);
          options.onVerified?.(claims, call);
          handler(call, done);
        },
        (err: unknown) => {
          const status = { code: grpc.status.UNAUTHENTICATED, details: err instanceof Error ? err.message : 'call token refused' };
          if (unaryResponse) done!(status);
          else call.emit('error', status);
        },
      );
    }) as grpc.UntypedHandleCall;
  }
  return wrapped;
}

async function authenticate(call: AnyServerCall, verify: CallTokenVerifier): Promise<VerifiedCallClaims> {
  const values = call.metadata.get('authorization');
  if (values.length !== 1)
    throw new CallTokenError(values.length === 0 ? 'call token required: no authorization metadata' : 'call token refused: more than one authorization value');
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(String(values[0]));
  if (!match) throw new CallTokenError('call token required: authorization is not "Bearer <token>"');
  const claims = await verify(match[1]!);
  const method = call.getPath().slice(1);
  if (claims.scope !== method) throw new CallTokenError('call token refused: its scope is another method');
  return claims;
}
