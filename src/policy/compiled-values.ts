import { wellFormed } from './cedar-input';

/**
 * Cedar values for the compiled fast path (compiled-policy.ts), kept in Cedar's own JSON form
 * (the form the engine sends to cedar-wasm): a string is a String, a number a Long, a boolean a
 * Bool, an array a Set, `{__entity: {type, id}}` an entity reference, any other object a Record.
 *
 * Everything here is on the side of caution: whatever the fast path cannot be sure Cedar reads
 * exactly alike throws `Unanswerable`, and the engine then asks cedar-wasm, which is always right.
 */

/** The fast path cannot answer this request (or Cedar would report an error): ask cedar-wasm. */
export class Unanswerable extends Error {}

/** Thrown for every unanswerable case: no stack to capture, so bailing out stays cheap. */
export const UNANSWERABLE = new Unanswerable('left to cedar-wasm');

export interface EntityRef {
  readonly __entity: { readonly type: string; readonly id: string };
}

/**
 * Deeper values are left to cedar-wasm: its JSON reader has a recursion limit (128) that would
 * refuse them, where a JS walk would not.
 */
const MAX_DEPTH = 32;

/**
 * Throws `Unanswerable` unless `value` is one Cedar reads without a schema exactly as this file
 * does: Longs only as safe integers (beyond 2^53 a JS number is not the integer its JSON spells,
 * and arithmetic near 2^63 is where Cedar overflows); strings well-formed UTF-16 (a lone surrogate
 * cannot cross into Rust); no escape at all (`__entity`, `__extn`: Cedar checks an entity type's
 * name, and toolgate's contexts carry none), nor a record another Cedar JSON reading could take
 * for an entity (`{type, id}`).
 */
export function checkValue(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw UNANSWERABLE;
  switch (typeof value) {
    case 'boolean':
      return;
    case 'number':
      if (!Number.isSafeInteger(value)) throw UNANSWERABLE;
      return;
    case 'string':
      if (!wellFormed(value)) throw UNANSWERABLE;
      return;
    case 'object': {
      if (value === null) throw UNANSWERABLE;
      if (Array.isArray(value)) {
        for (const item of value) checkValue(item, depth + 1);
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) throw UNANSWERABLE;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (const key of keys) {
        if (key.startsWith('__') || !wellFormed(key)) throw UNANSWERABLE;
        checkValue(record[key], depth + 1);
      }
      if (keys.length === 2 && 'type' in record && 'id' in record) throw UNANSWERABLE;
      return;
    }
    default:
      throw UNANSWERABLE;
  }
}

export function isEntityRef(value: unknown): value is EntityRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, '__entity')) return false;
  const keys = Object.keys(value);
  const uid = (value as { __entity: unknown }).__entity;
  if (keys.length !== 1 || typeof uid !== 'object' || uid === null) throw UNANSWERABLE;
  const uidKeys = Object.keys(uid);
  const { type, id } = uid as { type: unknown; id: unknown };
  if (uidKeys.length !== 2 || typeof type !== 'string' || typeof id !== 'string' || !wellFormed(type) || !wellFormed(id)) throw UNANSWERABLE;
  return true;
}

/** A plain record (not a set, not an entity reference); only valid after `checkValue`. */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Object.hasOwn(value, '__entity');
}

/** Cedar's `==`: never an error; values of different types are unequal; sets compare as sets. */
export function valueEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && setEquals(a, b);
  if (Array.isArray(b)) return false;
  const aEntity = Object.hasOwn(a, '__entity');
  if (aEntity !== Object.hasOwn(b, '__entity')) return false;
  if (aEntity) {
    const x = (a as EntityRef).__entity;
    const y = (b as EntityRef).__entity;
    return x.type === y.type && x.id === y.id;
  }
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!hasAttr(b, key) || !valueEquals((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Set elements one decision may compare. Sets compare element by element here, O(n·m), where
 * Cedar's ordered sets take O(n log n): two caller-controlled sets of 10^5 (a few hundred KB of
 * arguments) would hold the event loop for seconds. Past this budget the call goes to
 * cedar-wasm (~0.2 ms of comparisons at most, about one cedar-wasm decision).
 */
const MAX_COMPARISONS = 100_000;
let comparisonsLeft = MAX_COMPARISONS;

/** Resets the comparison budget; called at the start of each decision (decisions are synchronous, so one counter serves all). */
export function resetComparisonBudget(): void {
  comparisonsLeft = MAX_COMPARISONS;
}

export function setContains(set: readonly unknown[], value: unknown): boolean {
  if ((comparisonsLeft -= set.length) < 0) throw UNANSWERABLE;
  for (const item of set) if (valueEquals(item, value)) return true;
  return false;
}

/**
 * Whether `record` has the attribute `name` as Cedar is sent it: JSON.stringify (cedar-wasm's
 * marshalling) writes own enumerable properties only, so a non-enumerable one is no attribute.
 */
export function hasAttr(record: object, name: string): boolean {
  return Object.prototype.propertyIsEnumerable.call(record, name);
}

function setEquals(a: readonly unknown[], b: readonly unknown[]): boolean {
  for (const item of a) if (!setContains(b, item)) return false;
  for (const item of b) if (!setContains(a, item)) return false;
  return true;
}

/**
 * Cedar's `like`: `pattern` is its parts, a string for literal text and `null` for the
 * wildcard, which matches any sequence of characters (Unicode scalar values, as Rust's
 * `char`). The classic two-pointer glob match, O(n·m) at worst, never exponential.
 */
export function likeMatches(text: string, pattern: readonly (string | null)[]): boolean {
  const s = Array.from(text);
  const p: (string | null)[] = [];
  for (const part of pattern) {
    if (part === null) p.push(null);
    else for (const ch of part) p.push(ch);
  }
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (j < p.length && p[j] !== null && p[j] === s[i]) {
      i++;
      j++;
    } else if (j < p.length && p[j] === null) {
      star = j++;
      mark = i;
    } else if (star !== -1) {
      j = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (j < p.length && p[j] === null) j++;
  return j === p.length;
}
