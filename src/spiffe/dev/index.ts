/*
 * `toolgate/spiffe/dev`: the dev identity provider, real SVIDs over the real Workload API
 * from in-memory CAs, for development and tests (go-spiffe keeps its fakes out of the
 * public API in the same way). Not for production.
 *
 * Unlike `toolgate/spiffe`, importing this entry has a global side effect: @peculiar/x509,
 * which the dev CA mints certificates with, needs the `reflect-metadata` polyfill, which
 * adds `Reflect.getMetadata` and friends to the global `Reflect`.
 */
export { DevCa, type CaOptions, type IssuedX509Svid, type LeafOptions, type ValidityOptions } from './ca';
export { DevIdentityProvider, type DevIdentityLogger, type DevIdentityProviderOptions, type MintJwtSvidOptions } from './identity-provider';
export { DevWorkloadApi, type DevWorkloadApiOptions, type GrpcFailure, type JwtSvidHandler, type RecordedCall, type StreamMethod } from './workload-api-server';
// The messages DevWorkloadApi can be scripted to send, as generated from the proto.
export type {
  JWTSVIDRequest,
  OutgoingJWTBundlesResponse,
  OutgoingJWTSVIDResponse,
  OutgoingWITBundlesResponse,
  OutgoingWITSVIDResponse,
  OutgoingX509BundlesResponse,
  OutgoingX509SVIDResponse,
} from '../workload/proto';
