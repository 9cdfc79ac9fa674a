import * as grpc from '@grpc/grpc-js';
import { SpiffeId } from '../id/spiffe-id';
import type { JWTSVIDRequest, JWTSVIDResponse, Outgoing, ValidateJWTSVIDRequest, ValidateJWTSVIDResponse } from '../workload/proto';
import { invalidArgument, NO_IDENTITY, type GrpcFailure } from './grpc-failure';
import { toProtoStruct } from './proto-struct';
import { validateJwtSvid } from './validate-jwt-svid';

/** Answers FetchJWTSVID once the request has passed SPIRE's argument checks. */
export type JwtSvidHandler = (
  request: JWTSVIDRequest,
) => Outgoing<JWTSVIDResponse> | GrpcFailure | Promise<Outgoing<JWTSVIDResponse> | GrpcFailure>;

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
 * ValidateJWTSVID as SPIRE answers it: InvalidArgument for an empty field and for any
 * validation failure (message = reason). The keys are the JWT bundles being served.
 */
export async function answerValidateJwtSvid(
  request: ValidateJWTSVIDRequest,
  jwtBundles: Record<string, Uint8Array | undefined>,
  nowMs: number,
): Promise<Outgoing<ValidateJWTSVIDResponse> | GrpcFailure> {
  if (request.audience === '') return invalidArgument('audience must be specified');
  if (request.svid === '') return invalidArgument('svid must be specified');
  try {
    const { spiffeId, claims } = await validateJwtSvid(request.svid, request.audience, jwtBundles, nowMs);
    return { spiffe_id: spiffeId, claims: toProtoStruct(claims) };
  } catch (err) {
    return invalidArgument((err as Error).message);
  }
}
