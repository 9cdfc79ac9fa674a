import type { SpiffeId } from '../spiffe/id';

/** A value of a mapping attribute; numbers are integers (Cedar `Long`). */
export type AttributeValue = string | number | boolean;

/**
 * One `identities` entry of the config: matches by exactly one of `spiffeId` (exact) or
 * `spiffeIdPrefix` (`spiffe://td/path/`, ending in `/` so it matches whole path segments).
 * An exact rule names its `agent`; a prefix rule without one takes the rest of the path.
 */
export interface IdentityRule {
  spiffeId?: SpiffeId;
  spiffeIdPrefix?: string;
  agent?: string;
  groups: string[];
  attributes: Record<string, AttributeValue>;
}

/** Attribute names the gateway sets itself; a mapping may not define them. */
export const RESERVED_ATTRIBUTES: readonly string[] = ['spiffeId', 'trustDomain', 'attributes'];
