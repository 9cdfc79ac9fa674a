/*
 * The public `toolgate/spiffe` entry point: re-exports only, each name listed on purpose
 * (docs/spiffe.md documents every one; test/unit/spiffe/public-api.test.ts pins the list).
 * The names follow go-spiffe's packages: spiffeid, x509svid/x509bundle, jwtsvid/jwtbundle,
 * workloadapi, tlsconfig/spiffetls and grpccredentials. Workload API wire types, stream
 * handlers and the dev identity provider (`toolgate/spiffe/dev`) are not part of it.
 * Importing it has no side effects: nothing global is touched and no file is read.
 */

// spiffeid
export { SpiffeId } from './id/spiffe-id';
export { TrustDomain } from './id/trust-domain';

// errors: one base, a stable `code` each
export { AuthorizationError, BundleError, DerError, EndpointAddressError, JwtSvidError, SourceError, SpiffeError, SpiffeIdError, WorkloadApiError, X509SvidError } from './errors';

// x509svid, x509bundle
export { X509Svid } from './x509/x509-svid';
export { X509Bundle } from './x509/x509-bundle';
export { X509BundleSet } from './x509/x509-bundle-set';
export { spiffeIdOfLeaf, verifyX509Svid, type VerifiedX509Svid } from './x509/verify';

// jwtsvid, jwtbundle
export { JwtSvid, type JwtSvidAlgorithm, type JwtSvidTimeOptions } from './jwt/jwt-svid';
export { JwtBundle, type JwtAuthority } from './jwt/jwt-bundle';
export { JwtBundleSet } from './jwt/jwt-bundle-set';
export { validateJwtSvid } from './jwt/validate-jwt-svid';

// x509bundle.Source, jwtbundle.Source, x509svid.Source
export type { JwtBundleSource, X509BundleSource, X509SvidSource } from './sources';

// workloadapi
export { X509Source, type X509SourceEvents, type X509SourceOptions, type X509SvidPicker } from './workload/x509-source';
export { JwtSource, type JwtSourceEvents, type JwtSourceOptions } from './workload/jwt-source';
export type { JwtSvidParams } from './workload/jwt-svid-calls';
export type { ReadyOptions } from './workload/workload-source';
export { WorkloadApiClient, type Watch, type Watcher, type WorkloadApiClientOptions } from './workload/workload-api-client';
export type { X509Context } from './workload/x509-svid-response';
export { exponentialBackoff, type Backoff, type BackoffStrategy, type ExponentialBackoffOptions } from './workload/backoff';

// tlsconfig (authorizers), spiffetls, grpccredentials
export { authorizeAll, authorizeAny, authorizeId, authorizeIf, authorizeMemberOf, authorizeOneOf, type Authorizer } from './tls/authorizer';
export { MtlsServer, type MtlsServerEvents, type MtlsServerOptions } from './tls/mtls-server';
export { mtlsClientOptions } from './tls/mtls-client';
export { callerSpiffeId, grpcChannelCredentials, serveGrpcOverMtls, type X509WatchedSource } from './tls/grpc-credentials';
export type { X509TlsSource } from './tls/secure-context-cache';
export type { VerifiedPeer } from './tls/verify-peer';
