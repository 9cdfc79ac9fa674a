export { IdentityError } from './identity-error';
export { IdentityMapper, type IdentityMapperOptions } from './identity-mapper';
export { RESERVED_ATTRIBUTES, type AttributeValue, type IdentityRule } from './identity-rule';
export type { CedarValue } from '../policy/cedar-value';
export type { Principal } from '../policy/principal';
export { parseSpiffeIdPrefix } from './spiffe-id-prefix';
