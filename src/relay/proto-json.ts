import * as protobuf from 'protobufjs';
import type { CedarValue } from '../policy/cedar-value';
import { jsonName } from '../policy/proto-files';
import { checkWire } from './wire-check';

export class MessageDecodeError extends Error {
  readonly code = 'ERR_MESSAGE_DECODE';
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);
const WRAPPERS = new Set(['Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
// No Cedar type: left out of `context.request`, as the generated schema leaves them out.
const UNTYPED = new Set(['FloatValue', 'DoubleValue', 'Struct', 'Value', 'ListValue', 'Any'].map((n) => `.google.protobuf.${n}`));
const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: String, bytes: String, defaults: true, arrays: true, objects: true };

/**
 * Decodes a request message and renders it as Cedar values in the proto3 JSON mapping, in
 * exactly the shapes the generated schema declares (src/policy/proto-types.ts): JSON field
 * names, enums by name (an unknown number as its digits), bytes as base64, every field
 * present (defaults included) except unset messages and oneof members, nested messages as
 * records, repeated fields as sets, maps as sets of `{ key, value }` (a Cedar record
 * cannot have undeclared keys). Integers are Longs; a 64-bit value beyond ±(2^53 − 1)
 * cannot reach Cedar exactly, so its message is refused. Floats and free-form JSON have
 * no Cedar type and are left out. Timestamp, Duration and FieldMask are their JSON
 * strings; wrappers are their value. Throws `MessageDecodeError` for a message that is
 * malformed (checked strictly first) or has a value Cedar cannot hold.
 */
export function decodeRequest(type: protobuf.Type, payload: Uint8Array): Record<string, CedarValue> {
  const malformed = checkWire(type, payload);
  if (malformed) throw new MessageDecodeError(`cannot decode ${name(type)}: ${malformed}`);
  let object: Record<string, unknown>;
  try {
    object = type.toObject(type.decode(payload), TO_OBJECT);
  } catch (err) {
    throw new MessageDecodeError(`cannot decode ${name(type)}: ${(err as Error).message}`);
  }
  return messageValue(type, object) as Record<string, CedarValue>;
}

function messageValue(type: protobuf.Type, object: Record<string, unknown>): CedarValue {
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') return timestamp(object);
  if (full === '.google.protobuf.Duration') return `${seconds(object)}s`;
  if (full === '.google.protobuf.FieldMask') return ((object.paths as string[]) ?? []).map(camel).join(',');
  if (WRAPPERS.has(full)) return value(type.fields.value, object.value);
  const out: Record<string, CedarValue> = {};
  for (const field of type.fieldsArray) {
    const raw = object[field.name];
    if (raw === undefined || raw === null || untyped(field)) continue; // unset message or oneof member; no Cedar type
    out[jsonName(field)] = field.map
      ? Object.entries(raw as Record<string, unknown>).map(([key, v]) => ({ key, value: value(field, v) }))
      : field.repeated
        ? (raw as unknown[]).map((v) => value(field, v))
        : value(field, raw);
  }
  return out;
}

function untyped(field: protobuf.FieldBase): boolean {
  const resolved = field.resolvedType;
  return FLOAT_TYPES.has(field.type) || (resolved instanceof protobuf.Type && UNTYPED.has(resolved.fullName));
}

function value(field: protobuf.FieldBase, raw: unknown): CedarValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageValue(resolved, raw as Record<string, unknown>);
  if (resolved instanceof protobuf.Enum) return String(raw); // a name, or an unknown number's digits
  if (LONG_TYPES.has(field.type)) {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new MessageDecodeError(`field ${field.name}: ${raw} is beyond the integers Cedar receives exactly (±(2^53 - 1))`);
    return n;
  }
  return raw as CedarValue;
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as proto3 JSON writes it. */
function timestamp(object: Record<string, unknown>): string {
  const secs = Number(object.seconds);
  const date = new Date(secs * 1000);
  if (Number.isNaN(date.getTime())) throw new MessageDecodeError('google.protobuf.Timestamp out of range');
  return `${date.toISOString().slice(0, 19)}${fraction(Number(object.nanos ?? 0))}Z`;
}

function seconds(object: Record<string, unknown>): string {
  const secs = Number(object.seconds);
  const nanos = Number(object.nanos ?? 0);
  const sign = secs < 0 || nanos < 0 ? '-' : '';
  return `${sign}${Math.abs(secs)}${fraction(Math.abs(nanos))}`;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  return `.${nanos % 1e6 === 0 ? digits.slice(0, 3) : nanos % 1e3 === 0 ? digits.slice(0, 6) : digits}`;
}

function camel(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function name(type: protobuf.Type): string {
  return type.fullName.slice(1);
}
