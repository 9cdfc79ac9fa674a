import type { CedarValue } from './cedar-value';

/**
 * The Cedar principal of one caller (docs/policies.md, "The model"), as the identity mapper produces it
 * and the policy engine consumes it (it lives here, the lower of the two layers):
 *
 * - `Agent::"<agent>"` for a mapped SPIFFE ID; `attrs` holds `spiffeId`, `trustDomain`, every
 *   mapping attribute at top level (`principal.team`) and the same mapping attributes as the
 *   record `attributes` (`principal.attributes.team`). The design's Cedar model reads either way, so both
 *   are offered; `spiffeId`, `trustDomain` and `attributes` are therefore reserved names that the
 *   config loader refuses as mapping attributes. `groups` become `AgentGroup::"<group>"` parents.
 * - `Workload::"<spiffe id>"` for a trusted but unmapped SPIFFE ID; `attrs` holds `spiffeId`,
 *   `trustDomain`, `path`; no groups.
 *
 * `attrs` are the entity's attributes verbatim. A Principal must not change once built: the
 * engine keys its per-principal caches on the object (the identity mapper freezes it).
 */
export interface Principal {
  readonly type: 'Agent' | 'Workload';
  readonly id: string;
  readonly attrs: Readonly<Record<string, CedarValue>>;
  readonly groups: readonly string[];
}
