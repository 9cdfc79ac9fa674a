import { SpiffeIdError } from '../errors';
import { ERR, isPathSegmentChar, isTrustDomainChar, SCHEME_PREFIX } from './chars';
import { TrustDomain } from './trust-domain';

/**
 * A SPIFFE ID, `spiffe://<trust domain><path>`, parsed exactly as go-spiffe's
 * `spiffeid.FromString` does: same accept/reject decisions, same error messages.
 * Compare IDs as exact strings (`equals`); nothing is case-folded.
 */
export class SpiffeId {
  private constructor(
    readonly trustDomain: TrustDomain,
    /** `''` for a trust-domain-only ID, else `/seg(/seg)*`. */
    readonly path: string,
    private readonly id: string,
  ) {}

  static parse(s: string): SpiffeId {
    if (s === '') throw new SpiffeIdError(ERR.empty);
    if (!s.startsWith(SCHEME_PREFIX)) throw new SpiffeIdError(ERR.scheme);

    let end = SCHEME_PREFIX.length;
    for (; end < s.length; end++) {
      const c = s.charCodeAt(end);
      if (c === 0x2f /* / */) break;
      if (!isTrustDomainChar(c)) throw new SpiffeIdError(ERR.tdChars);
    }
    if (end === SCHEME_PREFIX.length) throw new SpiffeIdError(ERR.tdMissing);

    const path = s.slice(end);
    validatePath(path);
    return new SpiffeId(TrustDomain.unchecked(s.slice(SCHEME_PREFIX.length, end)), path, s);
  }

  /** Builds `spiffe://<td><path>`; the path must be empty or start with `/`. */
  static fromPath(td: TrustDomain, path: string): SpiffeId {
    validatePath(path);
    return new SpiffeId(td, path, `${SCHEME_PREFIX}${td.name}${path}`);
  }

  /** True when the ID names a workload (it has a path), not just a trust domain. */
  get isWorkload(): boolean {
    return this.path !== '';
  }

  memberOf(td: TrustDomain): boolean {
    return this.trustDomain.equals(td);
  }

  equals(other: SpiffeId): boolean {
    return this.id === other.id;
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }
}

/** go-spiffe's `validatePath`, byte for byte (every valid byte is ASCII). */
export function validatePath(path: string): void {
  if (path === '') return;
  if (path.charCodeAt(0) !== 0x2f) throw new SpiffeIdError(ERR.leadingSlash);
  let segmentStart = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) {
      checkSegment(path, segmentStart, i, ERR.emptySegment);
      segmentStart = i;
    } else if (!isPathSegmentChar(c)) {
      throw new SpiffeIdError(ERR.pathChars);
    }
  }
  checkSegment(path, segmentStart, path.length, ERR.trailingSlash);
}

/** Checks the segment `path[start, end)`, which includes its leading `/`. */
function checkSegment(path: string, start: number, end: number, emptyMessage: string): void {
  const len = end - start;
  if (len === 1) throw new SpiffeIdError(emptyMessage);
  if ((len === 2 || len === 3) && path.charCodeAt(start + 1) === 0x2e && (len === 2 || path.charCodeAt(start + 2) === 0x2e)) {
    throw new SpiffeIdError(ERR.dotSegment);
  }
}
