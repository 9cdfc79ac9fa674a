import type { AttributeUsage } from './attribute-usage';
import type { EntityJson } from './cedar';
import type { CedarValue } from '../identity/cedar-value';
import type { Principal } from '../identity/principal';

type Context = Readonly<Record<string, CedarValue>>;

/**
 * The principal's entity: `Agent::"<id>"` or `Workload::"<id>"` with its attributes, and
 * `AgentGroup` parents. Group entities themselves are not sent: Cedar resolves `in` from
 * the parents list alone, and groups have no attributes.
 */
export function principalEntity(principal: Principal, usage: AttributeUsage): EntityJson {
  return {
    uid: { type: principal.type, id: principal.id },
    attrs: keepRead(principal.attrs, usage) as Record<string, CedarValue> as EntityJson['attrs'],
    parents: principal.groups.map((id) => ({ type: 'AgentGroup', id })),
  };
}

/**
 * `Action::"pkg.Service/Method"` as a member of `Action::"pkg.Service"`, so that
 * `action in Action::"pkg.Service"` holds without a schema. The service entity is not sent
 * (Cedar only needs the parent link). Undefined for an action that names no service.
 */
export function actionEntity(action: string): EntityJson | undefined {
  const slash = action.lastIndexOf('/');
  if (slash <= 0 || slash === action.length - 1) return undefined;
  return { uid: { type: 'Action', id: action }, attrs: {}, parents: [{ type: 'Action', id: action.slice(0, slash) }] };
}

/** The context without the keys, at any depth, that no policy reads (see attribute-usage.ts). */
export function contextToSend(context: Context, usage: AttributeUsage): Context {
  return usage.wholeContext ? context : keepRead(context, usage);
}

/**
 * `record` without the keys not in `usage.names`, and its nested records pruned alike unless
 * their name's value is used whole; the same object when nothing is dropped.
 */
function keepRead(record: Context, usage: AttributeUsage): Context {
  const names = usage.names;
  if (names === undefined) return record;
  let kept: Record<string, CedarValue> | undefined;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = record[key] as CedarValue;
    let sent: CedarValue | undefined;
    if (names.has(key)) sent = isPlainRecord(value) && !usage.wholeValues.has(key) ? keepRead(value, usage) : value;
    if (sent !== value && kept === undefined) {
      // First change: copy what came before it, then keep copying selectively.
      kept = {};
      for (let j = 0; j < i; j++) kept[keys[j] as string] = record[keys[j] as string] as CedarValue;
    }
    if (kept !== undefined && sent !== undefined) kept[key] = sent;
  }
  return kept ?? record;
}

/** A record of attributes: not a set, and not Cedar's `__entity`/`__extn` escape, which must stay whole. */
function isPlainRecord(value: CedarValue): value is Context {
  return typeof value === 'object' && !Array.isArray(value) && !('__entity' in value) && !('__extn' in value);
}
