/**
 * A Cedar value as the policy engine marshals it: records and sets nest, numbers are
 * Cedar `Long`s (integers).
 */
export type CedarValue = string | number | boolean | CedarValue[] | { [k: string]: CedarValue };

/**
 * The Cedar principal of one caller (architecture §4): `Agent::"<agent>"` for a mapped
 * SPIFFE ID, `Workload::"<spiffe id>"` for a trusted but unmapped one. `groups` are the
 * `AgentGroup` parents. Principals are shared and frozen: the identity mapper returns the
 * same object for the same SPIFFE ID, and the policy engine keys caches on that object.
 */
export interface Principal {
  type: 'Agent' | 'Workload';
  id: string;
  attrs: Record<string, CedarValue>;
  groups: readonly string[];
}
