export { SpiffeId } from './spiffe-id';
export { TrustDomain } from './trust-domain';
