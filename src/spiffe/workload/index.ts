export { parseEndpointAddress, resolveEndpointAddress, SOCKET_ENV, type EndpointAddress } from './address';
export { DEFAULT_BACKOFF, exponentialBackoff, type Backoff, type BackoffStrategy, type ExponentialBackoffOptions } from './backoff';
export { JwtSource, type JwtSourceEvents, type JwtSourceOptions, type JwtSvidParams } from './jwt-source';
export type { JWTBundlesResponse, JWTSVIDResponse, X509BundlesResponse, X509SVIDResponse } from './proto';
export type { StreamHandlers, StreamWatcher } from './stream-watcher';
export { WorkloadApiClient, type RemoteJwtValidation, type WorkloadApiClientOptions } from './workload-api-client';
export type { ReadyOptions, WorkloadSourceEvents } from './workload-source';
export { X509Source, type X509SourceEvents, type X509SourceOptions, type X509SvidPicker } from './x509-source';
