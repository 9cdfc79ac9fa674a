import type { OutgoingStruct, OutgoingValue, Struct, Value } from './proto';

/**
 * `google.protobuf.Struct` as proto-loader handles it (a tree of `Value`s, each with `kind`
 * naming the member that is set) and the plain JSON-like object it stands for, in both
 * directions: the client reads `ValidateJWTSVIDResponse.claims` with `structToObject`, the
 * dev server writes them with `objectToStruct`.
 */

/** A decoded Struct as a plain object; a missing Struct is an empty object. */
export function structToObject(struct: Struct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJs(value);
  return out;
}

/** A JSON object (e.g. JWT claims) as the Struct to send; `undefined` members are left out, as JSON does. */
export function objectToStruct(object: Record<string, unknown>): OutgoingStruct {
  const fields: Record<string, OutgoingValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = jsToValue(value);
  }
  return { fields };
}

function valueToJs(value: Value): unknown {
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return structToObject(value.structValue);
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueToJs);
    default:
      // nullValue, and a Value with no member set (which proto3 JSON also reads as null).
      return null;
  }
}

function jsToValue(value: unknown): OutgoingValue {
  if (value === null) return { kind: 'nullValue', nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { kind: 'numberValue', numberValue: value };
  if (typeof value === 'string') return { kind: 'stringValue', stringValue: value };
  if (typeof value === 'boolean') return { kind: 'boolValue', boolValue: value };
  // An `undefined` list member becomes null, as JSON.stringify writes it.
  if (Array.isArray(value)) return { kind: 'listValue', listValue: { values: value.map((v) => jsToValue(v === undefined ? null : v)) } };
  if (typeof value === 'object') return { kind: 'structValue', structValue: objectToStruct(value as Record<string, unknown>) };
  // JSON-decoded claims hold nothing else; anything exotic is carried as its string form.
  return { kind: 'stringValue', stringValue: String(value) };
}
