import type { DecodedMessage, ElementValue, FieldValue, MapKey } from '../../src/relay/exact-decode';
import { planOf, type FieldPlan, type ValuePlan } from '../../src/relay/message-plan';

/**
 * A decoded message in protobuf's text format exactly as protoc's C++ printer writes it,
 * to compare the gateway's decoding with protoc's: set fields in number order (proto3
 * scalars at their default are not "set"), two spaces of indent, map entries sorted by key
 * with both key and value, strings and bytes C-escaped byte by byte (octal beyond ASCII),
 * enums by their first name (else the number), floats as printf's %g with the shortest of
 * 6/9 (float) or 15/17 (double) digits that reads back.
 */
export function textFormat(message: DecodedMessage, indent = ''): string {
  let out = '';
  for (const field of planOf(message.type).inNumberOrder) {
    const value = message.fields.get(field.id);
    if (value === undefined || isUnsetImplicit(field, value)) continue;
    out += fieldText(field, value, indent);
  }
  return out;
}

function fieldText(field: FieldPlan, value: FieldValue, indent: string): string {
  const name = field.field.name;
  if (field.mapKey !== undefined) {
    const entries = [...(value as Map<MapKey, ElementValue>)].sort(([a], [b]) => compareKeys(a, b));
    return entries
      .map(([k, v]) => `${indent}${name} {\n${indent}  key: ${scalarText(field.mapKey!, k)}\n${elementText(field, 'value', v, `${indent}  `)}${indent}}\n`)
      .join('');
  }
  if (field.repeated) return (value as ElementValue[]).map((v) => elementText(field, name, v, indent)).join('');
  return elementText(field, name, value as ElementValue, indent);
}

function elementText(plan: ValuePlan, name: string, value: ElementValue, indent: string): string {
  if (plan.kind === 'message') return `${indent}${name} {\n${textFormat(value as DecodedMessage, `${indent}  `)}${indent}}\n`;
  return `${indent}${name}: ${scalarText(plan, value)}\n`;
}

function scalarText(plan: ValuePlan, value: ElementValue): string {
  switch (plan.kind) {
    case 'string':
      return `"${cEscape(Buffer.from(value as string, 'utf8'))}"`;
    case 'bytes':
      return `"${cEscape(value as Uint8Array)}"`;
    case 'bool':
      return value ? 'true' : 'false';
    case 'enum': {
      const entry = Object.entries(plan.enumType!.values).find(([, n]) => n === value);
      return entry ? entry[0] : String(value);
    }
    case 'float':
      return floatText(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, 4).getFloat32(0, true), 6, 9, Math.fround);
    case 'double':
      return floatText(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, 8).getFloat64(0, true), 15, 17, (x) => x);
    default:
      return String(value);
  }
}

function isUnsetImplicit(field: FieldPlan, value: FieldValue): boolean {
  if (field.hasPresence || field.repeated || field.mapKey !== undefined) return false;
  if (value instanceof Uint8Array) return field.kind === 'bytes' ? value.length === 0 : value.every((b) => b === 0);
  return value === 0 || value === 0n || value === false || value === '';
}

function compareKeys(a: MapKey, b: MapKey): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** C++ CEscape: \n \r \t \" \' \\ named, other bytes outside printable ASCII as 3-digit octal. */
function cEscape(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x27) out += "\\'";
    else if (b === 0x5c) out += '\\\\';
    else if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** protobuf's SimpleDtoa/SimpleFtoa: %.{short}g, or %.{long}g when that does not read back. */
function floatText(x: number, short: number, long: number, round: (x: number) => number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const s = formatG(x, short);
  return round(Number(s)) === x ? s : formatG(x, long);
}

/** printf's %.{p}g. */
function formatG(x: number, p: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, e] = x.toExponential(p - 1).split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= p) return `${stripZeros(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return stripZeros(x.toFixed(p - 1 - exp));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
