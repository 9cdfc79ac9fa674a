import type { Expr, PolicyJson } from './cedar';
import { hasAttr, isEntityRef, isRecord, likeMatches, setContains, UNANSWERABLE, valueEquals, type EntityRef } from './compiled-values';

/**
 * What a compiled policy reads of one request, in the form the engine sends to cedar-wasm.
 * Ancestry is exactly the entities' `parents` as sent (docs/policies.md, "The model"): Cedar
 * is given no other entity, so it knows no other ancestor.
 */
export interface CompiledRequest {
  readonly principal: EntityRef;
  /** `uidKey`s of the principal and of each of its parents. */
  readonly principalIn: ReadonlySet<string>;
  /** The principal entity's attributes as sent (checked by `checkValue`). */
  readonly principalAttrs: Readonly<Record<string, unknown>>;
  readonly action: EntityRef;
  readonly actionIn: ReadonlySet<string>;
  readonly resource: EntityRef;
  /** The resource entity is not sent: it has no parents, so this holds only its own key. */
  readonly resourceIn: ReadonlySet<string>;
  /** The context as sent (checked by `checkValue`). */
  readonly context: Readonly<Record<string, unknown>>;
}

/** One policy as a JS function: true when satisfied; throws `Unanswerable` where Cedar would error or the subset ends. */
export interface CompiledPolicy {
  readonly effect: 'permit' | 'forbid';
  readonly satisfied: (request: CompiledRequest) => boolean;
}

type Scope = (request: CompiledRequest) => boolean;
type Eval = (request: CompiledRequest) => unknown;

/** Thrown at compile time: the policy is outside the subset and is left to cedar-wasm. */
class OutsideSubset extends Error {}

/** The key of an entity uid: Cedar's own spelling, `Type::"id"`. */
export function uidKey(type: string, id: string): string {
  return `${type}::${JSON.stringify(id)}`;
}

/**
 * Compiles a policy in the subset this fast path implements, else returns undefined (the
 * engine then leaves every request whose slice holds it to cedar-wasm). The subset: every
 * scope constraint (`==`, `in`, `in [..]`, `is`, `is .. in`); in conditions, literals (strings,
 * safe-integer Longs, booleans, entity references), `principal`/`action`/`resource`/`context`,
 * `.`/`has` on records and on the principal, `&&`, `||`, `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`,
 * unary `-`, `like`, `if-then-else`, set literals, `.contains`, `.containsAll`, `.containsAny`,
 * `.isEmpty`. Policy evaluation is Cedar's: `scope && when.. && !unless..`, short-circuit,
 * every condition must be a Bool.
 */
export function compilePolicy(policy: PolicyJson): CompiledPolicy | undefined {
  try {
    const scopes = [principalScope(policy.principal), actionScope(policy.action), resourceScope(policy.resource)].filter((s): s is Scope => s !== undefined);
    const conditions = policy.conditions.map((c) => {
      const body = compileExpr(c.body);
      if (c.kind === 'when') return (r: CompiledRequest) => boolOf(body(r));
      if (c.kind === 'unless') return (r: CompiledRequest) => !boolOf(body(r));
      throw new OutsideSubset();
    });
    const all = [...scopes, ...conditions];
    if (policy.effect !== 'permit' && policy.effect !== 'forbid') return undefined;
    return {
      effect: policy.effect,
      satisfied: (request) => {
        for (const clause of all) if (!clause(request)) return false;
        return true;
      },
    };
  } catch (err) {
    if (err instanceof OutsideSubset) return undefined;
    throw err;
  }
}

type ScopeJson = PolicyJson['principal'] | PolicyJson['action'] | PolicyJson['resource'];

function principalScope(scope: PolicyJson['principal']): Scope | undefined {
  return entityScope(
    scope,
    (r) => r.principal,
    (r) => r.principalIn,
  );
}

function resourceScope(scope: PolicyJson['resource']): Scope | undefined {
  return entityScope(
    scope,
    (r) => r.resource,
    (r) => r.resourceIn,
  );
}

function entityScope(scope: ScopeJson, entity: (r: CompiledRequest) => EntityRef, ancestry: (r: CompiledRequest) => ReadonlySet<string>): Scope | undefined {
  const s = scope as Record<string, unknown>;
  switch (s['op']) {
    case 'All':
      return undefined;
    case '==': {
      const key = scopeKey(s);
      return (r) => {
        const uid = entity(r).__entity;
        return uidKey(uid.type, uid.id) === key;
      };
    }
    case 'in': {
      if ('entities' in s) throw new OutsideSubset(); // `principal in [..]` is not Cedar; only the action takes a list
      const key = scopeKey(s);
      return (r) => ancestry(r).has(key);
    }
    case 'is': {
      const type = s['entity_type'];
      if (typeof type !== 'string') throw new OutsideSubset();
      if (s['in'] === undefined) return (r) => entity(r).__entity.type === type;
      const key = scopeKey(s['in'] as Record<string, unknown>);
      return (r) => entity(r).__entity.type === type && ancestry(r).has(key);
    }
    default:
      throw new OutsideSubset();
  }
}

function actionScope(scope: PolicyJson['action']): Scope | undefined {
  const s = scope as Record<string, unknown>;
  if (s['op'] === 'in' && 'entities' in s) {
    if (!Array.isArray(s['entities'])) throw new OutsideSubset();
    const keys = (s['entities'] as unknown[]).map((e) => entityKey(e));
    return (r) => keys.some((key) => r.actionIn.has(key));
  }
  return entityScope(
    scope,
    (r) => r.action,
    (r) => r.actionIn,
  );
}

function scopeKey(s: Record<string, unknown>): string {
  if (!('entity' in s)) throw new OutsideSubset(); // a template slot
  return entityKey(s['entity']);
}

function entityKey(entity: unknown): string {
  const ref = typeof entity === 'object' && entity !== null && '__entity' in entity ? entity : { __entity: entity };
  try {
    if (!isEntityRef(ref)) throw new OutsideSubset();
  } catch {
    throw new OutsideSubset();
  }
  return uidKey(ref.__entity.type, ref.__entity.id);
}

function boolOf(value: unknown): boolean {
  if (typeof value !== 'boolean') throw UNANSWERABLE; // a type error in Cedar
  return value;
}

function longOf(value: unknown): number {
  if (typeof value !== 'number') throw UNANSWERABLE;
  return value;
}

function setOf(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw UNANSWERABLE;
  return value;
}

/** The record an attribute is read from: a record value, or the principal's attributes; anything else is left to cedar-wasm. */
function attributesOf(value: unknown, r: CompiledRequest): Readonly<Record<string, unknown>> {
  if (isRecord(value)) return value;
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__entity')) {
    const uid = (value as EntityRef).__entity;
    const principal = r.principal.__entity;
    if (uid.type === principal.type && uid.id === principal.id) return r.principalAttrs;
  }
  throw UNANSWERABLE;
}

function compileExpr(expr: Expr): Eval {
  if (typeof expr !== 'object' || expr === null) throw new OutsideSubset();
  const entries = Object.entries(expr);
  if (entries.length !== 1) throw new OutsideSubset();
  const [op, arg] = entries[0] as [string, unknown];
  const node = arg as Record<string, unknown>;
  const sub = (key: string): Eval => compileExpr(node[key] as Expr);
  switch (op) {
    case 'Value':
      return literal(arg);
    case 'Var':
      return variable(arg);
    case '.': {
      const left = sub('left');
      const attr = stringAttr(node['attr']);
      return (r) => {
        const attrs = attributesOf(left(r), r);
        if (!hasAttr(attrs, attr)) throw UNANSWERABLE; // Cedar: attribute not found, an error
        return attrs[attr];
      };
    }
    case 'has': {
      const left = sub('left');
      const attr = stringAttr(node['attr']);
      return (r) => hasAttr(attributesOf(left(r), r), attr);
    }
    case '&&': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => boolOf(left(r)) && boolOf(right(r));
    }
    case '||': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => boolOf(left(r)) || boolOf(right(r));
    }
    case '!': {
      const inner = sub('arg');
      return (r) => !boolOf(inner(r));
    }
    case 'neg': {
      const inner = sub('arg');
      return (r) => 0 - longOf(inner(r)); // safe integers only, so never Cedar's overflow; `0 -` avoids -0
    }
    case '==': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => valueEquals(left(r), right(r));
    }
    case '!=': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => !valueEquals(left(r), right(r));
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(op, sub('left'), sub('right'));
    case 'like': {
      const left = sub('left');
      const pattern = likePattern(node['pattern']);
      return (r) => {
        const text = left(r);
        if (typeof text !== 'string') throw UNANSWERABLE;
        return likeMatches(text, pattern);
      };
    }
    case 'if-then-else': {
      const [test, then, otherwise] = [sub('if'), sub('then'), sub('else')];
      return (r) => (boolOf(test(r)) ? then(r) : otherwise(r));
    }
    case 'Set': {
      if (!Array.isArray(arg)) throw new OutsideSubset();
      const items = (arg as Expr[]).map(compileExpr);
      return (r) => items.map((item) => item(r));
    }
    case 'contains': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => setContains(setOf(left(r)), right(r));
    }
    case 'containsAll': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => {
        const set = setOf(left(r));
        return setOf(right(r)).every((item) => setContains(set, item));
      };
    }
    case 'containsAny': {
      const [left, right] = [sub('left'), sub('right')];
      return (r) => {
        const set = setOf(left(r));
        return setOf(right(r)).some((item) => setContains(set, item));
      };
    }
    case 'isEmpty': {
      const inner = sub('arg');
      return (r) => setOf(inner(r)).length === 0;
    }
    default:
      throw new OutsideSubset(); // `in`, `is`, arithmetic, records, tags, extension functions, ...
  }
}

function comparison(op: '<' | '<=' | '>' | '>=', left: Eval, right: Eval): Eval {
  switch (op) {
    case '<':
      return (r) => longOf(left(r)) < longOf(right(r));
    case '<=':
      return (r) => longOf(left(r)) <= longOf(right(r));
    case '>':
      return (r) => longOf(left(r)) > longOf(right(r));
    case '>=':
      return (r) => longOf(left(r)) >= longOf(right(r));
  }
}

function literal(value: unknown): Eval {
  switch (typeof value) {
    case 'boolean':
      return () => value;
    case 'number':
      // Beyond 2^53 the JSON form already lost the literal's exact value.
      if (!Number.isSafeInteger(value)) throw new OutsideSubset();
      return () => value;
    case 'string':
      return () => value;
    default: {
      let entity: EntityRef | undefined;
      try {
        if (isEntityRef(value)) entity = value;
      } catch {
        /* not an entity reference we read */
      }
      if (entity === undefined) throw new OutsideSubset();
      const ref = entity;
      return () => ref;
    }
  }
}

function variable(name: unknown): Eval {
  switch (name) {
    case 'principal':
      return (r) => r.principal;
    case 'action':
      return (r) => r.action;
    case 'resource':
      return (r) => r.resource;
    case 'context':
      return (r) => r.context;
    default:
      throw new OutsideSubset();
  }
}

function stringAttr(attr: unknown): string {
  if (typeof attr !== 'string') throw new OutsideSubset();
  return attr;
}

function likePattern(pattern: unknown): (string | null)[] {
  if (!Array.isArray(pattern)) throw new OutsideSubset();
  return pattern.map((part: unknown) => {
    if (part === 'Wildcard') return null;
    if (typeof part === 'object' && part !== null && typeof (part as { Literal?: unknown }).Literal === 'string') return (part as { Literal: string }).Literal;
    throw new OutsideSubset();
  });
}
