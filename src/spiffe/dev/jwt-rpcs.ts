import * as grpc from '@grpc/grpc-js';
import { SpiffeId } from '../id/spiffe-id';
import { JwtBundleSet } from '../jwt/jwt-bundle-set';
import { validateJwtSvid } from '../jwt/validate-jwt-svid';
import { parseJwtBundleMap } from '../workload/jwt-bundles-response';
import type { JWTSVIDRequest, OutgoingJWTBundlesResponse, OutgoingJWTSVIDResponse, OutgoingValidateJWTSVIDResponse, ValidateJWTSVIDRequest } from '../workload/proto';
import { objectToStruct } from '../workload/proto-struct';
import { invalidArgument, NO_IDENTITY, type GrpcFailure } from './grpc-failure';

/** Answers FetchJWTSVID once the request has passed SPIRE's argument checks. */
export type JwtSvidHandler = (request: JWTSVIDRequest) => OutgoingJWTSVIDResponse | GrpcFailure | Promise<OutgoingJWTSVIDResponse | GrpcFailure>;

/** FetchJWTSVID as SPIRE's handler orders it: audience, then requested ID, then identity. */
export async function answerFetchJwtSvid(request: JWTSVIDRequest, handler: JwtSvidHandler | null): Promise<object | GrpcFailure> {
  if (request.audience.length === 0) return invalidArgument('audience must be specified');
  if (request.spiffe_id !== '') {
    try {
      SpiffeId.parse(request.spiffe_id);
    } catch (err) {
      return invalidArgument(`invalid requested SPIFFE ID: ${(err as Error).message}`);
    }
  }
  if (handler === null) return NO_IDENTITY;
  try {
    return await handler(request);
  } catch (err) {
    return { code: grpc.status.UNAVAILABLE, message: `could not fetch JWT-SVID: ${(err as Error).message}` };
  }
}

/**
 * What ValidateJWTSVID verifies against: the JWT bundles being served, parsed once per
 * update. Served bundles that do not parse (tests push malformed ones on purpose) make it a
 * failure, answered Internal as SPIRE answers when it cannot build its key store.
 */
export type JwtKeyStore = JwtBundleSet | GrpcFailure;

export function jwtKeyStore(response: OutgoingJWTBundlesResponse | null): JwtKeyStore {
  try {
    // A string in a bytes field goes on the wire base64-decoded (protobufjs's rule), so it is read so here.
    const bundles = Object.entries(response?.bundles ?? {}).map(([key, jwks]) => [key, typeof jwks === 'string' ? Buffer.from(jwks, 'base64') : jwks]);
    return parseJwtBundleMap(Object.fromEntries(bundles));
  } catch (err) {
    return { code: grpc.status.INTERNAL, message: `could not build the JWT key store: ${(err as Error).message}` };
  }
}

/**
 * ValidateJWTSVID as SPIRE answers it: InvalidArgument for an empty field and for any
 * validation failure, with the library's `validateJwtSvid` error text as the message.
 * The claims come back with `aud` always a list, as SPIRE returns them.
 */
export async function answerValidateJwtSvid(request: ValidateJWTSVIDRequest, keys: JwtKeyStore, now: Date): Promise<OutgoingValidateJWTSVIDResponse | GrpcFailure> {
  if (request.audience === '') return invalidArgument('audience must be specified');
  if (request.svid === '') return invalidArgument('svid must be specified');
  if (!(keys instanceof JwtBundleSet)) return keys;
  try {
    const svid = await validateJwtSvid(request.svid, request.audience, keys, { now });
    return { spiffe_id: svid.id.toString(), claims: objectToStruct({ ...svid.claims, aud: [...svid.audience] }) };
  } catch (err) {
    return invalidArgument((err as Error).message);
  }
}
