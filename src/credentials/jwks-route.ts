import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SigningKeys } from '../tasks/signing-keys';

/** Where the admin server publishes the signing keys' JWKS. */
export const JWKS_PATH = '/.well-known/jwks.json';
export const JWKS_CONTENT_TYPE = 'application/jwk-set+json';
/** Short: a verifier must see a new key well before tokens it signs outlive the cache. */
export const JWKS_MAX_AGE_SECONDS = 60;

/**
 * A handler for `AdminServer.route(JWKS_PATH, …)` serving the ring's public JWKS (public
 * members only), read at each request so that rotations show at once.
 */
export function jwksHandler(keys: Pick<SigningKeys, 'jwks'>): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    const body = JSON.stringify(keys.jwks());
    res.writeHead(200, {
      'content-type': JWKS_CONTENT_TYPE,
      'cache-control': `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}
