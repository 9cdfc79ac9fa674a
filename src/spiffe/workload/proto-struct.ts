import type { ProtoStruct, ProtoValue } from './proto';

/**
 * A `google.protobuf.Struct` as proto-loader decodes it (a tree of tagged `Value`s) turned
 * into the plain JSON-like object it stands for, e.g. the claims of `ValidateJWTSVID`.
 */
export function structToObject(struct: ProtoStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJs(value);
  return out;
}

function valueToJs(value: ProtoValue): unknown {
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
      return (value.listValue.values ?? []).map(valueToJs);
    default:
      // nullValue, and a Value with no member set (which proto3 JSON also reads as null).
      return null;
  }
}
