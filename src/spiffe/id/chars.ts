// Byte classes of SPIFFE-ID.md §2: checked with a lookup table, since IDs are parsed
// on every handshake and every mapping lookup.
const TRUST_DOMAIN = new Uint8Array(128);
const PATH_SEGMENT = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789-._') TRUST_DOMAIN[c.charCodeAt(0)] = 1;
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._') PATH_SEGMENT[c.charCodeAt(0)] = 1;

export const isTrustDomainChar = (code: number): boolean => code < 128 && TRUST_DOMAIN[code] === 1;
export const isPathSegmentChar = (code: number): boolean => code < 128 && PATH_SEGMENT[code] === 1;

export const SCHEME_PREFIX = 'spiffe://';

export const ERR = {
  empty: 'cannot be empty',
  scheme: 'scheme is missing or invalid',
  tdChars: 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  tdMissing: 'trust domain is missing',
  emptySegment: 'path cannot contain empty segments',
  dotSegment: 'path cannot contain dot segments',
  pathChars: 'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
  trailingSlash: 'path cannot have a trailing slash',
  leadingSlash: 'path must have a leading slash',
} as const;
