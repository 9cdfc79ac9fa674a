import * as protobuf from 'protobufjs';
import type { CedarValue } from '../identity/cedar-value';
import { jsonName } from '../protos/proto-files';
import { decodeExact, defaultValue, MessageDecodeError, type DecodedMessage, type ElementValue, type MapKey } from './exact-decode';
import { planOf, type FieldPlan } from './message-plan';

export { MessageDecodeError };

const WRAPPERS = new Set(['Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
// No Cedar type: left out of `context.request`, as the generated schema leaves them out.
const UNTYPED = new Set(['FloatValue', 'DoubleValue', 'Struct', 'Value', 'ListValue', 'Any'].map((n) => `.google.protobuf.${n}`));

/** The largest span google.protobuf.Timestamp and Duration allow (years 0001 to 9999). */
const MAX_TIMESTAMP_SECONDS = 253402300799n;
const MIN_TIMESTAMP_SECONDS = -62135596800n;
const MAX_DURATION_SECONDS = 315576000000n;

/** `decodeExact` and then `requestContext`: a request message as policy sees it. */
export function decodeRequest(type: protobuf.Type, payload: Uint8Array): Record<string, CedarValue> {
  return requestContext(decodeMessage(type, payload));
}

/** `decodeExact`, its problem prefixed with the message's name. */
export function decodeMessage(type: protobuf.Type, payload: Uint8Array): DecodedMessage {
  try {
    return decodeExact(type, payload);
  } catch (err) {
    if (err instanceof MessageDecodeError) throw new MessageDecodeError(`cannot decode ${name(type)}: ${err.message}`);
    throw err;
  }
}

/**
 * Renders a decoded request as Cedar values in the proto3 JSON mapping, in exactly the
 * shapes the generated schema declares (src/policy/proto-types.ts): JSON field names, enums
 * by name (an unknown number as its digits), bytes as base64, every field present (defaults
 * included) except unset messages and oneof members, nested messages as records, repeated
 * fields as sets, maps as sets of `{ key, value }` (a Cedar record cannot have undeclared
 * keys). Integers are Longs; a 64-bit value beyond ±(2^53 − 1) cannot reach Cedar exactly,
 * so its message is refused. Floats and free-form JSON have no Cedar type and are left out.
 * Timestamp, Duration and FieldMask are their JSON strings (a value outside the range JSON
 * allows is refused); wrappers are their value. Throws `MessageDecodeError`.
 */
export function requestContext(message: DecodedMessage): Record<string, CedarValue> {
  return messageValue(message) as Record<string, CedarValue>;
}

function messageValue(message: DecodedMessage): CedarValue {
  const full = message.type.fullName;
  if (full === '.google.protobuf.Timestamp') return timestamp(message);
  if (full === '.google.protobuf.Duration') return duration(message);
  if (full === '.google.protobuf.FieldMask') return ((message.fields.get(1) as string[] | undefined) ?? []).map(camel).join(',');
  const plan = planOf(message.type);
  if (WRAPPERS.has(full)) return fieldValue(plan.byId.get(1)!, message.fields.get(1));
  const out: Record<string, CedarValue> = {};
  for (const field of message.type.fieldsArray) {
    const planned = plan.byId.get(field.id)!;
    const raw = message.fields.get(field.id);
    // An unset message or oneof member is absent; a field with no Cedar type is left out.
    if (raw === undefined && ((planned.kind === 'message' && !planned.repeated && planned.mapKey === undefined) || planned.oneof !== undefined)) continue;
    if (untyped(planned)) continue;
    out[jsonName(field)] = fieldValue(planned, raw);
  }
  return out;
}

function fieldValue(field: FieldPlan, raw: unknown): CedarValue {
  if (field.mapKey !== undefined) {
    const map = (raw as Map<MapKey, ElementValue> | undefined) ?? new Map();
    return [...map].map(([key, v]) => ({ key: String(key), value: value(field, v) }));
  }
  if (field.repeated) return ((raw as ElementValue[] | undefined) ?? []).map((v) => value(field, v));
  return value(field, (raw as ElementValue | undefined) ?? defaultValue(field));
}

function untyped(field: FieldPlan): boolean {
  if (field.kind === 'float' || field.kind === 'double') return true;
  return field.kind === 'message' && UNTYPED.has(field.message!().type.fullName);
}

function value(field: FieldPlan, v: ElementValue): CedarValue {
  switch (field.kind) {
    case 'message':
      return messageValue(v as DecodedMessage);
    case 'enum':
      return enumName(field.enumType!, v as number);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64': {
      const n = Number(v as bigint);
      if (!Number.isSafeInteger(n)) throw new MessageDecodeError(`field ${field.field.name}: ${v} is beyond the integers Cedar receives exactly (±(2^53 - 1))`);
      return n;
    }
    default:
      return v as CedarValue;
  }
}

const enumNames = new WeakMap<protobuf.Enum, Map<number, string>>();

/** The first name declared for the number (an alias's later names are not the JSON name), or its digits. */
function enumName(type: protobuf.Enum, n: number): string {
  let names = enumNames.get(type);
  if (names === undefined) {
    names = new Map();
    for (const [key, number] of Object.entries(type.values)) if (!names.has(number)) names.set(number, key);
    enumNames.set(type, names);
  }
  return names.get(n) ?? String(n);
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as proto3 JSON writes it. */
function timestamp(message: DecodedMessage): string {
  const seconds = (message.fields.get(1) as bigint | undefined) ?? 0n;
  const nanos = (message.fields.get(2) as number | undefined) ?? 0;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS || nanos < 0 || nanos > 999_999_999) {
    throw new MessageDecodeError('google.protobuf.Timestamp out of range');
  }
  const date = new Date(Number(seconds) * 1000);
  const iso = date.toISOString();
  // Years before 1000 and after 9999 have other shapes in toISOString; the range check keeps 4 digits.
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

function duration(message: DecodedMessage): string {
  const seconds = (message.fields.get(1) as bigint | undefined) ?? 0n;
  const nanos = (message.fields.get(2) as number | undefined) ?? 0;
  const abs = seconds < 0n ? -seconds : seconds;
  if (abs > MAX_DURATION_SECONDS || nanos < -999_999_999 || nanos > 999_999_999 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw new MessageDecodeError('google.protobuf.Duration out of range');
  }
  const sign = seconds < 0n || nanos < 0 ? '-' : '';
  return `${sign}${abs}${fraction(Math.abs(nanos))}s`;
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
