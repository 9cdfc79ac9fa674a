export { splitDer } from './der';
export { spiffeIdOfLeaf, verifyX509Svid, type VerifiedX509Svid } from './verify';
export { X509Bundle } from './x509-bundle';
export { X509BundleSet } from './x509-bundle-set';
export { X509Svid } from './x509-svid';
