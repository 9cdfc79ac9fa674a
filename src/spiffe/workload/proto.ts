import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';

/**
 * The SPIFFE Workload API as grpc-js sees it: the service definition (shared by the
 * client and the dev server) and the raw wire messages exactly as proto-loader decodes
 * them (`keepCase`, so snake_case fields; `defaults`, so every field is present; `bytes`
 * as Buffer; maps as plain objects). Parsing and validation live elsewhere.
 */

// This file sits three levels below the package root both as src/spiffe/workload/proto.ts
// (jest) and as dist/spiffe/workload/proto.js (build), and the package ships proto/.
export const WORKLOAD_PROTO_PATH = path.resolve(__dirname, '../../../proto/spiffe/workload/workload.proto');

/** The mandatory request metadata (SSRF hardening): exactly one value, `true`. */
export const SECURITY_HEADER = 'workload.spiffe.io';
export const SECURITY_HEADER_VALUE = 'true';

/** The proto has no `package`, so this is the full service name. */
export const WORKLOAD_API_SERVICE_NAME = 'SpiffeWorkloadAPI';

export const WORKLOAD_API_METHODS = [
  'FetchX509SVID',
  'FetchX509Bundles',
  'FetchJWTSVID',
  'FetchJWTBundles',
  'ValidateJWTSVID',
  'FetchWITSVID',
  'FetchWITBundles',
] as const;
export type WorkloadApiMethod = (typeof WORKLOAD_API_METHODS)[number];

/** HTTP/2 `:path` of each method, e.g. `/SpiffeWorkloadAPI/FetchX509SVID`. */
export const WORKLOAD_API_METHOD_PATHS = Object.fromEntries(
  WORKLOAD_API_METHODS.map((m) => [m, `/${WORKLOAD_API_SERVICE_NAME}/${m}`]),
) as Readonly<Record<WorkloadApiMethod, string>>;

export const PROTO_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, defaults: true, oneofs: true };

const packageDefinition = protoLoader.loadSync(WORKLOAD_PROTO_PATH, PROTO_LOADER_OPTIONS);

/** For `server.addService(workloadApiService, handlers)`. */
export const workloadApiService = packageDefinition[WORKLOAD_API_SERVICE_NAME] as grpc.ServiceDefinition;

// ---- raw wire messages (as received; see `Outgoing` for what may be sent) ----

export type X509SVIDRequest = Record<string, never>;

export interface X509SVID {
  spiffe_id: string;
  /** Concatenated DER certificates, leaf first. */
  x509_svid: Buffer;
  /** Unencrypted PKCS#8 DER. */
  x509_svid_key: Buffer;
  /** Concatenated DER CA certificates of the SVID's own trust domain. */
  bundle: Buffer;
  hint: string;
}

export interface X509SVIDResponse {
  svids: X509SVID[];
  crl: Buffer[];
  /** Keyed by `spiffe://<td>` (SPIRE) or a bare trust-domain name (go-spiffe's fake). */
  federated_bundles: Record<string, Buffer>;
}

export type X509BundlesRequest = Record<string, never>;

export interface X509BundlesResponse {
  crl: Buffer[];
  /** Own and federated trust domains; concatenated DER CA certificates. */
  bundles: Record<string, Buffer>;
}

export interface JWTSVIDRequest {
  audience: string[];
  /** Empty means every identity the caller is entitled to. */
  spiffe_id: string;
}

export interface JWTSVID {
  spiffe_id: string;
  /** JWS compact serialization. */
  svid: string;
  hint: string;
}

export interface JWTSVIDResponse {
  svids: JWTSVID[];
}

export type JWTBundlesRequest = Record<string, never>;

export interface JWTBundlesResponse {
  /** Values are the UTF-8 JSON of a JWK Set. */
  bundles: Record<string, Buffer>;
}

export interface ValidateJWTSVIDRequest {
  audience: string;
  svid: string;
}

/**
 * google.protobuf.Value as proto-loader hands it over: camelCase even with `keepCase`,
 * `kind` naming the member that is set; `nullValue` decodes as 0.
 */
export type ProtoValue =
  | { kind: 'nullValue'; nullValue: 0 | 'NULL_VALUE' }
  | { kind: 'numberValue'; numberValue: number }
  | { kind: 'stringValue'; stringValue: string }
  | { kind: 'boolValue'; boolValue: boolean }
  | { kind: 'structValue'; structValue: ProtoStruct }
  | { kind: 'listValue'; listValue: { values: ProtoValue[] } };

export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

export interface ValidateJWTSVIDResponse {
  spiffe_id: string;
  /** `null` when the server left it out. */
  claims: ProtoStruct | null;
}

export interface WITSVIDRequest {
  spiffe_id: string;
}

export interface WITSVID {
  spiffe_id: string;
  wit_svid: string;
  /** The private key as a JWK JSON string. */
  wit_svid_key: string;
  hint: string;
}

export interface WITSVIDResponse {
  svids: WITSVID[];
}

export type WITBundlesRequest = Record<string, never>;

export interface WITBundlesResponse {
  /** JWK Set JSON strings (not bytes). */
  bundles: Record<string, string>;
}

/**
 * What grpc-js accepts when sending a message: any field may be left out (proto3 sends
 * nothing for a default value anyway), and bytes may be any Uint8Array.
 */
export type Outgoing<T> = T extends Uint8Array
  ? Uint8Array
  : T extends readonly (infer U)[]
    ? Outgoing<U>[]
    : T extends object
      ? { [K in keyof T]?: Outgoing<T[K]> }
      : T;

// ---- the dynamic client ----

type Unary<Req, Res> = {
  (request: Outgoing<Req>, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (
    request: Outgoing<Req>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
};

type ServerStream<Req, Res> = (
  request: Outgoing<Req>,
  metadata: grpc.Metadata,
  options?: grpc.CallOptions,
) => grpc.ClientReadableStream<Res>;

/** A client from `new WorkloadApiClientConstructor(target, grpc.credentials.createInsecure())`. */
export interface WorkloadApiClient extends grpc.Client {
  FetchX509SVID: ServerStream<X509SVIDRequest, X509SVIDResponse>;
  FetchX509Bundles: ServerStream<X509BundlesRequest, X509BundlesResponse>;
  FetchJWTSVID: Unary<JWTSVIDRequest, JWTSVIDResponse>;
  FetchJWTBundles: ServerStream<JWTBundlesRequest, JWTBundlesResponse>;
  ValidateJWTSVID: Unary<ValidateJWTSVIDRequest, ValidateJWTSVIDResponse>;
  FetchWITSVID: ServerStream<WITSVIDRequest, WITSVIDResponse>;
  FetchWITBundles: ServerStream<WITBundlesRequest, WITBundlesResponse>;
}

/** grpc-js's generated client class, typed with this service's methods. */
export interface WorkloadApiClientConstructorType {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): WorkloadApiClient;
  service: grpc.ServiceDefinition;
  serviceName: string;
}

export const WorkloadApiClientConstructor = grpc.loadPackageDefinition(packageDefinition)[
  WORKLOAD_API_SERVICE_NAME
] as unknown as WorkloadApiClientConstructorType;

/** Metadata carrying the security header once, as every Workload API call must. */
export function workloadApiMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SECURITY_HEADER, SECURITY_HEADER_VALUE);
  return md;
}
