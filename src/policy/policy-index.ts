import type { EntityJson, PolicyJson } from './cedar';

/**
 * Which policies of a set can apply to a request, from their principal and action scopes
 * alone. cedar-wasm evaluates every policy in a set (~2–3 µs each), so a decision against
 * 10 000 policies takes ~30 ms; evaluating only the policies whose scope can match keeps it
 * near the cost of a small set.
 *
 * Cedar evaluates a policy as `scope && when && !unless`, and `&&` short-circuits: a policy
 * whose scope is false for a request is neither satisfied nor errors, so leaving it out
 * changes neither the decision, nor the determining policies, nor the errors. Conditions
 * are not indexed (Cedar evaluates them). Including a policy that cannot match is harmless
 * (it is false again); leaving out one that can would change decisions, so every scope this
 * file cannot classify is treated as open.
 *
 * A policy goes into one bucket per (principal scope, action scope) pair it names:
 * - principal `==` E → `==E`; `in` E → `inE`; `is` T → `isT`; `is` T `in` E → `inE` (a
 *   request of another type then over-includes it); All → `*`;
 * - action `==` A → `==A`; `in` A → `inA`; `in` [A, B] → `inA` and `inB`; All → `*`.
 * A request looks up its entity's own uid under `==` and `in`, each parent under `in`, its
 * type under `is`, and `*`: for the principal, its AgentGroups; for the action, its service.
 *
 * This relies on the entities sent being the whole truth about ancestry: the engine sends
 * exactly the `principal` and `action` entities it passes here and no schema, so Cedar sees
 * no ancestor these do not list. An engine that sent a schema (whose action groups Cedar
 * would add) would have to pass those ancestors too.
 */
export class PolicyIndex {
  /** Principal bucket → action bucket → positions in the set, ascending. */
  private readonly buckets = new Map<string, Map<string, number[]>>();

  constructor(policies: readonly PolicyJson[]) {
    policies.forEach((policy, position) => {
      for (const principalKey of principalBuckets(policy.principal)) {
        let byAction = this.buckets.get(principalKey);
        if (byAction === undefined) this.buckets.set(principalKey, (byAction = new Map()));
        for (const actionKey of actionBuckets(policy.action)) {
          const positions = byAction.get(actionKey);
          if (positions === undefined) byAction.set(actionKey, [position]);
          // A policy can reach one bucket twice (`action in [A, A]`); keep positions unique.
          else if (positions[positions.length - 1] !== position) positions.push(position);
        }
      }
    });
  }

  /**
   * The positions (in set order, ascending, no repeats) of the policies whose scopes can
   * match a request with these principal and action entities, exactly as sent to Cedar;
   * undefined (every policy) if an entity cannot be read.
   */
  select(principal: EntityJson, action: EntityJson): readonly number[] | undefined {
    const principalKeys = requestKeys(principal);
    const actionKeys = requestKeys(action);
    if (principalKeys === undefined || actionKeys === undefined) return undefined;
    const found: number[][] = [];
    for (const principalKey of principalKeys) {
      const byAction = this.buckets.get(principalKey);
      if (byAction === undefined) continue;
      for (const actionKey of actionKeys) {
        const positions = byAction.get(actionKey);
        if (positions !== undefined) found.push(positions);
      }
    }
    return mergeSorted(found);
  }
}

const ALL = '*';

function principalBuckets(scope: PolicyJson['principal']): string[] {
  if (scope.op === '==' && 'entity' in scope) return keyOr(ALL, '==', scope.entity);
  if (scope.op === 'in' && 'entity' in scope) return keyOr(ALL, 'in', scope.entity);
  if (scope.op === 'is' && typeof scope.entity_type === 'string') {
    if (scope.in === undefined) return [`is${scope.entity_type}`];
    return 'entity' in scope.in ? keyOr(ALL, 'in', scope.in.entity) : [ALL];
  }
  return [ALL];
}

function actionBuckets(scope: PolicyJson['action']): string[] {
  if (scope.op === '==' && 'entity' in scope) return keyOr(ALL, '==', scope.entity);
  if (scope.op === 'in' && 'entity' in scope) return keyOr(ALL, 'in', scope.entity);
  if (scope.op === 'in' && 'entities' in scope && Array.isArray(scope.entities)) {
    const keys = scope.entities.map((entity) => keyOf('in', entity));
    // One entity that cannot be read makes the whole list unreadable: treat it as open.
    return keys.every((key): key is string => key !== undefined) ? keys : [ALL];
  }
  return [ALL];
}

function keyOr(fallback: string, op: string, entity: unknown): string[] {
  return [keyOf(op, entity) ?? fallback];
}

/** `op` + `Type::"id"`, Cedar's own spelling (a type name cannot hold a quote, so this is unambiguous). */
function keyOf(op: string, entity: unknown): string | undefined {
  const uid = typeAndId(entity);
  return uid === undefined ? undefined : `${op}${uid.type}::${JSON.stringify(uid.id)}`;
}

/** An entity reference in either of Cedar's JSON spellings: `{type, id}` or `{__entity: {type, id}}`. */
function typeAndId(entity: unknown): { type: string; id: string } | undefined {
  if (typeof entity !== 'object' || entity === null) return undefined;
  const uid = ('__entity' in entity ? entity.__entity : entity) as Partial<Record<string, unknown>>;
  return typeof uid['type'] === 'string' && typeof uid['id'] === 'string' ? { type: uid['type'], id: uid['id'] } : undefined;
}

/** Every bucket a request entity can match: itself, its parents, its type, and open scopes. */
function requestKeys(entity: EntityJson): string[] | undefined {
  const self = typeAndId(entity.uid);
  if (self === undefined) return undefined;
  const keys = [keyOf('==', self) as string, keyOf('in', self) as string, `is${self.type}`, ALL];
  for (const parent of entity.parents) {
    const key = keyOf('in', parent);
    if (key === undefined) return undefined;
    keys.push(key);
  }
  return keys;
}

/** The union of ascending lists, ascending and without repeats. */
function mergeSorted(lists: readonly number[][]): readonly number[] {
  if (lists.length === 1) return lists[0] as number[];
  const all = lists.flat().sort((a, b) => a - b);
  return all.filter((position, i) => i === 0 || all[i - 1] !== position);
}
