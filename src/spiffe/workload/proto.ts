import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import type { ProtoGrpcType } from './generated/workload';
import type { SpiffeWorkloadAPIClient, SpiffeWorkloadAPIDefinition } from './generated/SpiffeWorkloadAPI';

/**
 * The SPIFFE Workload API as grpc-js sees it: the service definition (shared by the client
 * and the dev server) and the wire messages, whose types are generated from the proto
 * (`npm run generate:workload-api`, into ./generated). Internal to `toolgate/spiffe`: the
 * public API speaks SVIDs and bundles, never wire messages. Parsing and validation live
 * elsewhere.
 *
 * A message type `X` is a message as received, exactly as proto-loader decodes it
 * (`keepCase`, so snake_case fields; `defaults`, so every field is present; `bytes` as
 * Buffer; maps as plain objects); `OutgoingX` is what may be sent (any field may be left
 * out, bytes may be any Uint8Array).
 */
export type { JWTBundlesRequest, OutgoingJWTBundlesRequest } from './generated/JWTBundlesRequest';
export type { JWTBundlesResponse, OutgoingJWTBundlesResponse } from './generated/JWTBundlesResponse';
export type { JWTSVID, OutgoingJWTSVID } from './generated/JWTSVID';
export type { JWTSVIDRequest, OutgoingJWTSVIDRequest } from './generated/JWTSVIDRequest';
export type { JWTSVIDResponse, OutgoingJWTSVIDResponse } from './generated/JWTSVIDResponse';
export type { OutgoingValidateJWTSVIDRequest, ValidateJWTSVIDRequest } from './generated/ValidateJWTSVIDRequest';
export type { OutgoingValidateJWTSVIDResponse, ValidateJWTSVIDResponse } from './generated/ValidateJWTSVIDResponse';
export type { OutgoingWITBundlesRequest, WITBundlesRequest } from './generated/WITBundlesRequest';
export type { OutgoingWITBundlesResponse, WITBundlesResponse } from './generated/WITBundlesResponse';
export type { OutgoingWITSVID, WITSVID } from './generated/WITSVID';
export type { OutgoingWITSVIDRequest, WITSVIDRequest } from './generated/WITSVIDRequest';
export type { OutgoingWITSVIDResponse, WITSVIDResponse } from './generated/WITSVIDResponse';
export type { OutgoingX509BundlesRequest, X509BundlesRequest } from './generated/X509BundlesRequest';
export type { OutgoingX509BundlesResponse, X509BundlesResponse } from './generated/X509BundlesResponse';
export type { OutgoingX509SVID, X509SVID } from './generated/X509SVID';
export type { OutgoingX509SVIDRequest, X509SVIDRequest } from './generated/X509SVIDRequest';
export type { OutgoingX509SVIDResponse, X509SVIDResponse } from './generated/X509SVIDResponse';
/** `google.protobuf.Struct` / `Value`: `kind` names the member that is set; `nullValue` decodes as 0. */
export type { OutgoingStruct, Struct } from './generated/google/protobuf/Struct';
export type { OutgoingValue, Value } from './generated/google/protobuf/Value';
export type { SpiffeWorkloadAPIClient, SpiffeWorkloadAPIHandlers } from './generated/SpiffeWorkloadAPI';

// This file sits three levels below the package root both as src/spiffe/workload/proto.ts
// (jest) and as dist/spiffe/workload/proto.js (build), and the package ships proto/.
export const WORKLOAD_PROTO_PATH = path.resolve(__dirname, '../../../proto/spiffe/workload/workload.proto');

/** The mandatory request metadata (SSRF hardening): exactly one value, `true`. */
export const SECURITY_HEADER = 'workload.spiffe.io';
export const SECURITY_HEADER_VALUE = 'true';

/** The proto has no `package`, so this is the full service name. */
export const WORKLOAD_API_SERVICE_NAME = 'SpiffeWorkloadAPI';

export const WORKLOAD_API_METHODS = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTSVID', 'FetchJWTBundles', 'ValidateJWTSVID', 'FetchWITSVID', 'FetchWITBundles'] as const;
export type WorkloadApiMethod = (typeof WORKLOAD_API_METHODS)[number];

/** HTTP/2 `:path` of each method, e.g. `/SpiffeWorkloadAPI/FetchX509SVID`. */
export const WORKLOAD_API_METHOD_PATHS = Object.fromEntries(WORKLOAD_API_METHODS.map((m) => [m, `/${WORKLOAD_API_SERVICE_NAME}/${m}`])) as Readonly<
  Record<WorkloadApiMethod, string>
>;

/** The options the generated types were made with too (scripts/generate-workload-api-types.js). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, defaults: true, oneofs: true };

/**
 * The loaded proto, read on first use rather than on import: importing `toolgate/spiffe`
 * touches neither the file system nor any global state.
 */
let loaded: ProtoGrpcType | undefined;
function workloadApiPackage(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(WORKLOAD_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return loaded;
}

/** For `server.addService(workloadApiService(), handlers)`. */
export function workloadApiService(): SpiffeWorkloadAPIDefinition {
  return workloadApiPackage()[WORKLOAD_API_SERVICE_NAME].service;
}

/** grpc-js's client of the Workload API, typed with the generated service. */
export function newSpiffeWorkloadApiClient(target: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): SpiffeWorkloadAPIClient {
  const Client = workloadApiPackage()[WORKLOAD_API_SERVICE_NAME];
  return new Client(target, credentials, options);
}

/** Metadata carrying the security header once, as every Workload API call must. */
export function workloadApiMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SECURITY_HEADER, SECURITY_HEADER_VALUE);
  return md;
}
