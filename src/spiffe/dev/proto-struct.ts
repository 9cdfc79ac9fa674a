import type { ProtoStruct, ProtoValue } from '../workload/proto';

/** A JSON object (e.g. JWT claims) as the google.protobuf.Struct that proto-loader sends. */
export function toProtoStruct(object: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toProtoValue(value);
  }
  return { fields };
}

function toProtoValue(value: unknown): ProtoValue {
  if (value === null) return { kind: 'nullValue', nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { kind: 'numberValue', numberValue: value };
  if (typeof value === 'string') return { kind: 'stringValue', stringValue: value };
  if (typeof value === 'boolean') return { kind: 'boolValue', boolValue: value };
  if (Array.isArray(value)) {
    return { kind: 'listValue', listValue: { values: value.map((v) => (v === undefined ? null : v)).map(toProtoValue) } };
  }
  if (typeof value === 'object') return { kind: 'structValue', structValue: toProtoStruct(value as Record<string, unknown>) };
  // JSON-decoded claims hold nothing else; anything exotic is carried as its string form.
  return { kind: 'stringValue', stringValue: String(value) };
}
