import * as grpc from '@grpc/grpc-js';

/** A gRPC status for the dev Workload API to answer with. */
export interface GrpcFailure {
  code: grpc.status;
  message: string;
}

/** SPIRE's answer to a caller that is entitled to no identity. */
export const NO_IDENTITY: GrpcFailure = Object.freeze({ code: grpc.status.PERMISSION_DENIED, message: 'no identity issued' });

export function invalidArgument(message: string): GrpcFailure {
  return { code: grpc.status.INVALID_ARGUMENT, message };
}

export function isGrpcFailure(value: object): value is GrpcFailure {
  return typeof (value as GrpcFailure).code === 'number' && typeof (value as GrpcFailure).message === 'string';
}
