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
    return entries.map(([k, v]) => `${indent}${name} {\n${indent}  key: ${scalarText(field.mapKey!, k)}\n${elementText(field, 'value', v, `${indent}  `)}${indent}}\n`).join('');
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
      return floatText(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, 4).getFloat32(0, true), 6, 9, Math.fround, 2 ** -126);
    case 'double':
      return floatText(new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, 8).getFloat64(0, true), 15, 17, (x) => x, 0);
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

/**
 * protobuf's SimpleDtoa/SimpleFtoa: %.{short}g, or %.{long}g when that does not read back.
 * A float reads back with safe_strtof, which fails (ERANGE) on a subnormal result: those
 * always get the long form (doubles read back with a plain strtod, which does not).
 */
function floatText(x: number, short: number, long: number, round: (x: number) => number, smallestNormal: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x !== 0 && Math.abs(x) < smallestNormal) return formatG(x, long);
  const s = formatG(x, short);
  return round(Number(s)) === x ? s : formatG(x, long);
}

/** printf's %.{p}g, exactly as glibc rounds (from the exact binary value, ties to even). */
function formatG(x: number, p: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  let { digits, exp } = exactDecimal(Math.abs(x));
  if (digits.length > p) {
    const rest = digits.slice(p);
    let kept = BigInt(digits.slice(0, p));
    const half = rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1))) || (rest[0] === '5' && kept % 2n === 1n);
    if (half) kept += 1n;
    digits = kept.toString();
    if (digits.length > p) {
      exp += 1;
      digits = digits.slice(0, p);
    }
  }
  digits = digits.padEnd(p, '0');
  if (exp < -4 || exp >= p) {
    const mantissa = stripZeros(`${digits[0]}.${digits.slice(1)}`);
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const fixed = exp >= 0 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : `0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${stripZeros(fixed).replace(/\.$/, '')}`;
}

/** A positive double's exact decimal digits and the power of ten of the first one. */
function exactDecimal(x: number): { digits: string; exp: number } {
  const bits = new DataView(new Float64Array([x]).buffer).getBigUint64(0, true);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = biased === 0 ? -1074 : biased - 1075;
  if (e >= 0) {
    const digits = (mantissa << BigInt(e)).toString();
    return { digits: digits.replace(/0+$/, '') || '0', exp: digits.length - 1 };
  }
  // m × 2^e = m × 5^-e / 10^-e
  const digits = (mantissa * 5n ** BigInt(-e)).toString();
  return { digits: digits.replace(/0+$/, ''), exp: digits.length - 1 + e };
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
