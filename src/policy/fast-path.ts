import type { EntityJson } from './cedar';
import { compilePolicy, uidKey, type CompiledPolicy, type CompiledRequest } from './compiled-policy';
import { checkValue, isEntityRef, isRecord, resetComparisonBudget, Unanswerable, type EntityRef } from './compiled-values';
import type { PolicySet } from './policy-set';

/** The policies of one index selection, compiled; undefined when any of them is outside the subset. */
export interface CompiledSlice {
  readonly policies: readonly { readonly id: string; readonly policy: CompiledPolicy }[];
}

/** What Cedar would answer when no policy errors: its decision and `diagnostics.reason`. */
export interface FastAnswer {
  readonly decision: 'allow' | 'deny';
  /** The satisfied forbids of a deny, else the satisfied permits of an allow, in set order. */
  readonly reason: readonly string[];
}

interface PreparedEntity {
  readonly ref: EntityRef;
  readonly ancestry: ReadonlySet<string>;
  /** Checked attributes; undefined when the fast path cannot read them (every decision then goes to wasm). */
  readonly attrs: Readonly<Record<string, unknown>> | undefined;
}

/** Resource entities kept; resources are upstream names, so this only guards against misuse. */
const MAX_RESOURCES = 10_000;

/**
 * Decides requests without crossing into cedar-wasm when it can be sure of Cedar's answer
 * (docs/policies.md, "Fast path"): every policy of the request's slice compiled
 * (compiled-policy.ts), every value read the way Cedar reads it (compiled-values.ts), and no
 * policy erroring. Anything else returns undefined and the engine asks cedar-wasm, so an error
 * message, a determining-policy list or a decision always comes from Cedar itself when the
 * fast path is unsure.
 */
export class FastPath {
  private readonly compiled: readonly (CompiledPolicy | undefined)[];
  private readonly principals = new WeakMap<EntityJson, PreparedEntity>();
  private readonly actions = new WeakMap<EntityJson, PreparedEntity>();
  private readonly resources = new Map<string, { ref: EntityRef; ancestry: ReadonlySet<string> }>();

  constructor(private readonly set: PolicySet) {
    this.compiled = set.policies.map((p) => compilePolicy(p.json));
  }

  /** How many of the set's policies compiled. */
  get compiledCount(): number {
    return this.compiled.filter((p) => p !== undefined).length;
  }

  /** The compiled slice of the policies at `positions` (ascending; undefined: the whole set), or undefined if any is not compiled. */
  slice(positions: readonly number[] | undefined): CompiledSlice | undefined {
    const all = positions ?? this.set.policies.map((_, i) => i);
    const policies: { id: string; policy: CompiledPolicy }[] = [];
    for (const position of all) {
      const policy = this.compiled[position];
      if (policy === undefined) return undefined;
      policies.push({ id: this.set.ids[position] as string, policy });
    }
    return { policies };
  }

  /** Cedar's answer for this request when the fast path is sure of it, else undefined. Never throws for a request it cannot answer. */
  decide(slice: CompiledSlice, principal: EntityJson, action: EntityJson, resource: string, context: Readonly<Record<string, unknown>>): FastAnswer | undefined {
    const p = this.prepared(this.principals, principal);
    const a = this.prepared(this.actions, action);
    // `attrs` undefined: an id, a parent or an attribute Cedar cannot read (an action name with a lone surrogate makes cedar-wasm refuse the request).
    if (p?.attrs === undefined || a?.attrs === undefined) return undefined;
    try {
      resetComparisonBudget();
      checkValue(context);
      if (!isRecord(context)) return undefined; // Cedar refuses any other context ("expression is not a record")
      const r = this.resource(resource);
      const request: CompiledRequest = {
        principal: p.ref,
        principalIn: p.ancestry,
        principalAttrs: p.attrs,
        action: a.ref,
        actionIn: a.ancestry,
        resource: r.ref,
        resourceIn: r.ancestry,
        context,
      };
      // Every policy is evaluated, as Cedar does: one that errors anywhere in the slice must send the request to wasm.
      const forbids: string[] = [];
      const permits: string[] = [];
      for (const { id, policy } of slice.policies) {
        if (policy.satisfied(request)) (policy.effect === 'forbid' ? forbids : permits).push(id);
      }
      if (forbids.length > 0) return { decision: 'deny', reason: forbids };
      return permits.length > 0 ? { decision: 'allow', reason: permits } : { decision: 'deny', reason: [] };
    } catch (err) {
      if (err instanceof Unanswerable) return undefined;
      throw err;
    }
  }

  private prepared(cache: WeakMap<EntityJson, PreparedEntity>, entity: EntityJson): PreparedEntity | undefined {
    let prepared = cache.get(entity);
    if (prepared === undefined) {
      prepared = prepareEntity(entity);
      cache.set(entity, prepared);
    }
    return prepared;
  }

  private resource(id: string): { ref: EntityRef; ancestry: ReadonlySet<string> } {
    let r = this.resources.get(id);
    if (r === undefined) {
      const ref = { __entity: { type: 'Tool', id } };
      isEntityRef(ref); // throws for an id that is not well-formed
      r = { ref, ancestry: new Set([uidKey('Tool', id)]) };
      if (this.resources.size < MAX_RESOURCES) this.resources.set(id, r);
    }
    return r;
  }
}

/** The entity as the fast path reads it; `attrs` undefined when any value is outside what it reads exactly. */
function prepareEntity(entity: EntityJson): PreparedEntity {
  const uid = entity.uid as unknown as { type: string; id: string };
  const ref = { __entity: { type: uid.type, id: uid.id } };
  const ancestry = new Set([uidKey(uid.type, uid.id)]);
  let attrs: Readonly<Record<string, unknown>> | undefined = entity.attrs as Readonly<Record<string, unknown>>;
  try {
    isEntityRef(ref); // throws for a type or id that is not well-formed
    checkValue(attrs);
    for (const parent of entity.parents as unknown as { type: string; id: string }[]) {
      isEntityRef({ __entity: { type: parent.type, id: parent.id } });
      ancestry.add(uidKey(parent.type, parent.id));
    }
  } catch (err) {
    if (!(err instanceof Unanswerable)) throw err;
    attrs = undefined;
  }
  return { ref, ancestry, attrs };
}
