/**
 * RFC 8785 (JSON Canonicalization Scheme) for the values a decision record holds: objects
 * with keys sorted by UTF-16 code units, no whitespace, strings and numbers as ECMAScript's
 * JSON.stringify writes them — which is exactly what JCS specifies for them (JCS was built on
 * ES2015 serialization). So the canonical form is JSON.stringify over recursively sorted
 * keys; no package is needed (none in node_modules implements JCS; fast-json-stable-stringify
 * sorts keys but is not specified as JCS). Undefined members are left out, as JSON.stringify
 * does; non-finite numbers have no JSON form and are refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`${value} has no canonical JSON form`);
    return JSON.stringify(value);
  }
  // String concatenation, not map/join: this runs on every decision (measured in bench/micro/decision-log.bench.ts).
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? '' : ','}${value[i] === undefined ? 'null' : canonicalJson(value[i])}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/**
 * The canonical JSON of the object that `parts` spread into one would be (a later part's
 * member wins, as in `{ ...a, ...b }` and as JSON.parse reads a repeated key), without
 * building that object: the decision log hashes each record this way (measured: building
 * the merged object cost more than hashing it).
 */
export function canonicalJsonOfParts(parts: readonly object[]): string {
  const keys: string[] = [];
  for (const part of parts) for (const key of Object.keys(part)) keys.push(key);
  keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === keys[i + 1]) continue; // a repeated key: its last occurrence (the next) speaks
    let member: unknown;
    for (let p = parts.length - 1; p >= 0; p--) {
      if (Object.prototype.hasOwnProperty.call(parts[p], key)) {
        member = (parts[p] as Record<string, unknown>)[key];
        break;
      }
    }
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}
