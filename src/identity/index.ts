export { IdentityError } from './identity-error';
export { IdentityMapper, type IdentityMapperOptions } from './identity-mapper';
export { RESERVED_ATTRIBUTES, type AttributeValue, type IdentityRule } from './identity-rule';
export type { CedarValue } from './cedar-value';
export type { Principal } from './principal';
export { parseSpiffeIdPrefix } from './spiffe-id-prefix';
export { OidcIssuer, OIDC_ALGORITHMS, parseJwksUri, type OidcIssuerConfig, type OidcIssuerOptions, type VerifiedOidcToken } from './oidc-issuer';
export { OnBehalfOfTokenVerifier, type OnBehalfOf, type OnBehalfOfTokenVerifierOptions } from './on-behalf-of';
export {
  spiffeIdFromSubject,
  WorkloadTokenAuthenticator,
  type OidcWorkloadIssuerConfig,
  type WorkloadIdentity,
  type WorkloadTokenAuthenticatorOptions,
  type WorkloadTokenAuthn,
} from './workload-token-authenticator';
export { WorkloadTokenError, type WorkloadTokenErrorCode } from './workload-token-error';
