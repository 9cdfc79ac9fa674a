import type { CedarValue } from '../identity/cedar-value';
import { InvalidValueError } from '../errors/invalid-value-error';

/**
 * `value`, parsed from YAML or JSON, as a Cedar value; throws `InvalidValueError` naming `path` at the
 * first part that has none. JSON has `null` and fractions, Cedar has neither; an integer
 * beyond ±(2^53 - 1) is not exact in JavaScript, so it would not reach Cedar as written.
 */
export function toCedarValue(value: unknown, path: string): CedarValue {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
    throw new InvalidValueError(`${path}: ${value} is not a Cedar Long (an integer within ±(2^53 - 1))`);
  }
  if (Array.isArray(value)) return value.map((item, i) => toCedarValue(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toCedarValue(item, `${path}.${key}`)]));
  }
  throw new InvalidValueError(`${path}: ${value === null ? 'null' : typeof value} is not a Cedar value`);
}

/** `value` as a record of Cedar values (a context, a request message). */
export function toCedarRecord(value: unknown, path: string): Record<string, CedarValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidValueError(`${path}: must be a mapping of names to values`);
  return toCedarValue(value, path) as Record<string, CedarValue>;
}
