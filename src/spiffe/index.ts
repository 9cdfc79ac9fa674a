// The public `toolgate/spiffe` entry point: re-exports only.
export { SpiffeId, TrustDomain } from './id';
export * from './errors';
export type { JwtBundleSource, X509BundleSource, X509SvidSource } from './sources';
export { spiffeIdOfLeaf, verifyX509Svid, X509Bundle, X509BundleSet, X509Svid, type VerifiedX509Svid } from './x509';
export {
  DEFAULT_LEEWAY_SECONDS,
  JWT_SVID_ALGORITHMS,
  JwtBundle,
  JwtBundleSet,
  JwtSvid,
  validateJwtSvid,
  type JwtAuthority,
  type JwtSvidAlgorithm,
  type JwtSvidTimeOptions,
} from './jwt';
export * from './workload';
export * from './tls';
// The dev identity provider: real SVIDs over the real Workload API, from in-memory CAs. Its
// names carry a `Dev` prefix, so they are exported as they are, without a namespace.
export { DevCa, type IssuedX509Svid, type LeafOptions, type ValidityOptions } from './dev/ca';
export {
  DevIdentityProvider,
  type DevIdentityLogger,
  type DevIdentityProviderOptions,
  type MintJwtSvidOptions,
} from './dev/identity-provider';
export { DevWorkloadApi, type DevWorkloadApiOptions, type GrpcFailure, type RecordedCall } from './dev/workload-api-server';
