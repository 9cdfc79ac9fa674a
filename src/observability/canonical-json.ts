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
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] === undefined) continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  }
  return `{${members.join(',')}}`;
}
