import { IdentityMapper } from '../identity/identity-mapper';
import type { IdentityRule } from '../identity/identity-rule';
import { SpiffeId, type TrustDomain } from '../spiffe/id';
import type { CedarValue } from '../identity/cedar-value';
import { toCedarRecord } from './policy-test-value';
import type { Principal } from '../identity/principal';
import { InvalidValueError } from '../errors/invalid-value-error';

/**
 * A principal as a policy test or `toolgate policy explain` names it: a SPIFFE ID
 * (`spiffe://…`) or an agent name, both resolved through the config's identity rules exactly
 * as the gateway resolves a caller; or an explicit principal, taken as it is.
 */
export type PrincipalSpec =
  | string
  | {
      readonly type: 'Agent' | 'Workload';
      readonly id: string;
      readonly attrs?: Readonly<Record<string, CedarValue>>;
      readonly groups?: readonly string[];
    };

/** `value` (parsed YAML or JSON) as a PrincipalSpec; throws `InvalidValueError` saying what is accepted. */
export function principalSpecOf(value: unknown): PrincipalSpec {
  if (typeof value === 'string' && value !== '') return value;
  const { type, id, attrs, groups } = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const keysOk = Object.keys(value ?? {}).every((k) => ['type', 'id', 'attrs', 'groups'].includes(k));
  const groupsOk = groups === undefined || (Array.isArray(groups) && groups.every((g) => typeof g === 'string'));
  if (Array.isArray(value) || !keysOk || (type !== 'Agent' && type !== 'Workload') || typeof id !== 'string' || !groupsOk) {
    throw new InvalidValueError('must be an agent name, a SPIFFE ID, or {type: Agent|Workload, id, attrs?, groups?}');
  }
  return {
    type,
    id,
    ...(attrs !== undefined && { attrs: toCedarRecord(attrs, 'attrs') }),
    ...(groups !== undefined && { groups: groups as string[] }),
  };
}

/**
 * The principal the gateway would build for `spec`. The config's `spiffe.trustDomains`
 * bound which SPIFFE IDs are accepted; without it the gateway accepts its own trust domain,
 * which is only known from its SVID at run time, so here an ID's own domain is accepted.
 *
 * An agent name resolves through the first identity rule that maps some SPIFFE ID to it:
 * an exact rule naming the agent, or a prefix rule with the name appended (a prefix rule
 * without `agent` names its agents by the rest of the path). Give the SPIFFE ID to pick a
 * particular one. Throws `InvalidValueError` when nothing maps to the name, `IdentityError` when the ID is refused.
 */
export function resolvePrincipal(spec: PrincipalSpec, identities: readonly IdentityRule[], trustDomains: readonly TrustDomain[] | undefined): Principal {
  if (typeof spec !== 'string') return { type: spec.type, id: spec.id, attrs: spec.attrs ?? {}, groups: spec.groups ?? [] };
  if (spec.startsWith('spiffe://')) {
    const id = SpiffeId.parse(spec);
    return mapper(identities, trustDomains ?? [id.trustDomain]).resolve(id);
  }
  for (const candidate of candidates(spec, identities)) {
    const principal = mapper(identities, trustDomains ?? [candidate.trustDomain]).resolve(candidate);
    if (principal.type === 'Agent' && principal.id === spec) return principal;
  }
  throw new InvalidValueError(`no identity rule maps a SPIFFE ID to agent "${spec}"; give the agent's SPIFFE ID, or an explicit principal`);
}

/** SPIFFE IDs that might map to agent `name`, in rule order. */
function candidates(name: string, identities: readonly IdentityRule[]): SpiffeId[] {
  const ids: SpiffeId[] = [];
  for (const rule of identities) {
    if (rule.spiffeId !== undefined && rule.agent === name) ids.push(rule.spiffeId);
    if (rule.spiffeIdPrefix !== undefined && (rule.agent === undefined || rule.agent === name)) {
      try {
        ids.push(SpiffeId.parse(rule.spiffeIdPrefix + name));
      } catch {
        // The name is not a valid path segment under this prefix: no caller can have it.
      }
    }
  }
  return ids;
}

function mapper(identities: readonly IdentityRule[], trustDomains: readonly TrustDomain[]): IdentityMapper {
  return new IdentityMapper(identities, { trustDomains });
}
