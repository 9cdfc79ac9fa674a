export { JwtBundle, type JwtAuthority } from './jwt-bundle';
export { JwtBundleSet } from './jwt-bundle-set';
export { DEFAULT_LEEWAY_SECONDS, JWT_SVID_ALGORITHMS, JwtSvid, type JwtSvidAlgorithm, type JwtSvidTimeOptions } from './jwt-svid';
export { validateJwtSvid } from './validate-jwt-svid';
