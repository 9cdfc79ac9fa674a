import * as protobuf from 'protobufjs';
import type { CedarValue } from '../policy/cedar-value';
import { checkWire } from './wire-check';

export class MessageDecodeError extends Error {
  readonly code = 'ERR_MESSAGE_DECODE';
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
// Cedar's JSON format gives these record keys a meaning (entity reference, extension value).
const CEDAR_RESERVED_KEYS = new Set(['__entity', '__extn', '__expr']);
const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: String, bytes: String, defaults: true, arrays: true, objects: true };

/**
 * Decodes a request message and renders it as Cedar values with the proto3 JSON mapping:
 * JSON field names, enums as names, bytes as base64, every field present (defaults
 * included), nested messages as records, repeated fields as sets, maps as records.
 * Cedar has integers only: 64-bit integers become Longs while they are exact in
 * JavaScript (|n| ≤ 2^53 − 1) and decimal strings beyond; floats and doubles become
 * strings. Well-known types: Timestamp and Duration as their JSON strings, wrappers as
 * their value, Struct/Value/ListValue as JSON. Throws `MessageDecodeError` for a message
 * that does not decode, or that carries a key Cedar would read as an entity or extension.
 */
export function decodeRequest(type: protobuf.Type, payload: Uint8Array): Record<string, CedarValue> {
  const malformed = checkWire(type, payload);
  if (malformed) throw new MessageDecodeError(`cannot decode ${type.fullName.slice(1)}: ${malformed}`);
  let object: Record<string, unknown>;
  try {
    object = type.toObject(type.decode(payload), TO_OBJECT);
  } catch (err) {
    throw new MessageDecodeError(`cannot decode ${type.fullName.slice(1)}: ${(err as Error).message}`);
  }
  return messageValue(type, object) as Record<string, CedarValue>;
}

function messageValue(type: protobuf.Type, object: Record<string, unknown>): CedarValue {
  const name = type.fullName;
  if (name === '.google.protobuf.Timestamp') return timestamp(object);
  if (name === '.google.protobuf.Duration') return duration(object);
  if (WRAPPERS.has(name)) return fieldValue(type.fields.value, object.value);
  if (name === '.google.protobuf.Struct') return structValue(object);
  if (name === '.google.protobuf.Value') return jsonValue(object);
  if (name === '.google.protobuf.ListValue') return ((object.values as unknown[]) ?? []).map((v) => jsonValue(v as Record<string, unknown>));
  const out: Record<string, CedarValue> = {};
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined || value === null) continue; // an unset message or oneof member
    out[field.name] = field.map ? mapValue(field, value as Record<string, unknown>) : fieldValue(field, value);
  }
  return out;
}

function fieldValue(field: protobuf.FieldBase, value: unknown): CedarValue {
  return field.repeated ? (value as unknown[]).map((v) => scalarOrMessage(field, v)) : scalarOrMessage(field, value);
}

function scalarOrMessage(field: protobuf.FieldBase, value: unknown): CedarValue {
  if (field.resolvedType instanceof protobuf.Type) return messageValue(field.resolvedType, value as Record<string, unknown>);
  return scalar(field.type, value);
}

/** A map field: a record keyed by the map's keys (as strings), values by the value type. */
function mapValue(field: protobuf.FieldBase, value: Record<string, unknown>): CedarValue {
  const out: Record<string, CedarValue> = {};
  for (const [key, v] of Object.entries(value)) out[checkKey(key)] = scalarOrMessage(field, v);
  return out;
}

function scalar(type: string, value: unknown): CedarValue {
  if (LONG_TYPES.has(type)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : String(value);
  }
  if (FLOAT_TYPES.has(type)) return String(value);
  return value as CedarValue;
}

function timestamp(object: Record<string, unknown>): CedarValue {
  const ms = Number(object.seconds) * 1000 + Math.floor(Number(object.nanos ?? 0) / 1e6);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new MessageDecodeError('google.protobuf.Timestamp out of range');
  return date.toISOString();
}

function duration(object: Record<string, unknown>): CedarValue {
  const seconds = Number(object.seconds) + Number(object.nanos ?? 0) / 1e9;
  return `${seconds}s`;
}

function structValue(object: Record<string, unknown>): CedarValue {
  const out: Record<string, CedarValue> = {};
  for (const [key, v] of Object.entries((object.fields as Record<string, unknown>) ?? {})) out[checkKey(key)] = jsonValue(v as Record<string, unknown>);
  return out;
}

function jsonValue(value: Record<string, unknown>): CedarValue {
  if (value.structValue !== undefined && value.structValue !== null) return structValue(value.structValue as Record<string, unknown>);
  if (value.listValue !== undefined && value.listValue !== null) return ((value.listValue as { values?: unknown[] }).values ?? []).map((v) => jsonValue(v as Record<string, unknown>));
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.numberValue !== undefined && value.numberValue !== null) return String(value.numberValue);
  return ''; // null_value: Cedar has no null
}

function checkKey(key: string): string {
  if (CEDAR_RESERVED_KEYS.has(key)) throw new MessageDecodeError(`a map key "${key}" cannot be given to Cedar`);
  return key;
}
