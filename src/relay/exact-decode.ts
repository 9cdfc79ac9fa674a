import { isUtf8 } from 'node:buffer';
import type * as protobuf from 'protobufjs';
import { planOf, WireType, type FieldPlan, type MessagePlan, type ValuePlan } from './message-plan';
import { ToolgateError } from '../errors/toolgate-error';

/**
 * A request message as a conformant protobuf parser holds it once parsed: the value of
 * every field that is set, by field number. What policy decides on is rendered from this
 * (proto-json.ts), and what the tool receives is encoded from it (canonical-encode.ts), so
 * the two cannot differ whatever the caller's bytes were.
 */
export interface DecodedMessage {
  readonly type: protobuf.Type;
  readonly fields: Map<number, FieldValue>;
}

/**
 * 32-bit integers and enums are numbers; 64-bit integers bigints; bool a boolean; string a
 * string; bytes, float and double their bytes as they came (4 or 8 for the floats, so that
 * a NaN's payload survives re-encoding bit for bit).
 */
export type ScalarValue = number | bigint | boolean | string | Uint8Array;
export type ElementValue = ScalarValue | DecodedMessage;
export type MapKey = number | bigint | boolean | string;
export type FieldValue = ElementValue | ElementValue[] | Map<MapKey, ElementValue>;

/** A request message the gateway cannot read exactly, so cannot authorize: the call is denied with the message as the reason. */
export class MessageDecodeError extends ToolgateError<'ERR_MESSAGE_DECODE'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_MESSAGE_DECODE', message, options);
  }
}

/**
 * How deep messages may nest. protobuf-C++ and -Java stop at 100; a request nested beyond
 * 64 has no business with a tool, and the bound keeps the recursion shallow.
 */
export const MAX_DEPTH = 64;

/**
 * Decodes a message exactly as protobuf's parsers do (protobuf.dev/programming-guides/encoding,
 * "Last One Wins" and the conformance suite's rules), and refuses every message whose
 * meaning a tool's parser could take differently, or that holds what no policy can see:
 *
 * - Semantics: for a scalar the last occurrence wins; a singular message field that occurs
 *   again is merged into the one before; repeated fields append, packed or not; setting one
 *   member of a oneof clears the others (the same message member merges); a map entry with
 *   a key seen before replaces it, and an entry's missing key or value is the default;
 *   32-bit integers and enums take the low 32 bits of a 64-bit varint, bool is any non-zero
 *   varint, as protobuf-C++ reads them.
 * - Refused: a field number the protos do not declare, or a declared field with another wire
 *   type (a parser keeps either as an unknown field, so the tool could read a field policy
 *   never saw once its protos are newer); groups; a tag that is not a 32-bit varint of at
 *   most 5 bytes or names field 0; a varint past 10 bytes or 64 bits; a length past the end
 *   or of more than 5 bytes;
 *   a packed run that does not hold whole values; a string that is not valid UTF-8
 *   (proto3 parsers reject it, proto2's pass it on); a closed (proto2) enum's undeclared
 *   number (a parser moves it to the unknown fields); a proto2 `required` field missing;
 *   nesting beyond `MAX_DEPTH`.
 *
 * Throws `MessageDecodeError` naming the first problem.
 */
export function decodeExact(type: protobuf.Type, bytes: Uint8Array): DecodedMessage {
  const message: DecodedMessage = { type, fields: new Map() };
  new Reader(bytes).readMessage(planOf(type), message, bytes.length, 0);
  checkRequired(message);
  return message;
}

/** proto2 `required` fields, at every depth: a parser fails a message that lacks one. */
function checkRequired(message: DecodedMessage): void {
  const plan = planOf(message.type);
  for (const field of plan.required) {
    if (!message.fields.has(field.id)) throw new MessageDecodeError(`required field ${field.field.name} of ${name(plan.type)} is missing`);
  }
  for (const field of plan.inNumberOrder) {
    if (field.kind !== 'message') continue;
    const value = message.fields.get(field.id);
    if (value === undefined) continue;
    if (value instanceof Map) for (const v of value.values()) checkRequired(v as DecodedMessage);
    else if (Array.isArray(value)) for (const v of value) checkRequired(v as DecodedMessage);
    else checkRequired(value as DecodedMessage);
  }
}

class Reader {
  pos = 0;
  /** The last varint read, as two unsigned 32-bit halves. */
  private lo = 0;
  private hi = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** Reads fields up to `end` into `message`, merging with what it already holds. */
  readMessage(plan: MessagePlan, message: DecodedMessage, end: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new MessageDecodeError(`message nested more than ${MAX_DEPTH} levels deep`);
    while (this.pos < end) {
      const { id, wire } = this.readTag(end);
      const field = plan.byId.get(id);
      if (field === undefined) {
        // Well formed or not, a field the protos do not declare is one policy cannot see.
        throw new MessageDecodeError(`field ${id} is not declared in ${name(plan.type)}`);
      }
      this.readField(field, wire, message, end, depth);
    }
    if (this.pos !== end) throw new MessageDecodeError('a field runs past the end of its message');
  }

  private readField(field: FieldPlan, wire: number, message: DecodedMessage, end: number, depth: number): void {
    const { fields } = message;
    if (field.mapKey !== undefined) {
      this.expectWire(field, wire, WireType.LEN);
      const entryEnd = this.readLength(field, end);
      let map = fields.get(field.id) as Map<MapKey, ElementValue> | undefined;
      if (map === undefined) fields.set(field.id, (map = new Map()));
      this.readMapEntry(field, map, entryEnd, depth);
      return;
    }
    if (field.repeated) {
      let list = fields.get(field.id) as ElementValue[] | undefined;
      if (list === undefined) fields.set(field.id, (list = []));
      if (wire === WireType.LEN && field.packable) {
        const runEnd = this.readLength(field, end);
        // Each value is read within the run, so one cut short is refused as running past it.
        while (this.pos < runEnd) list.push(this.readScalar(field, runEnd));
        return;
      }
      this.expectWire(field, wire, field.wire);
      list.push(field.kind === 'message' ? this.readSubMessage(field, undefined, end, depth) : this.readScalar(field, end));
      return;
    }
    this.expectWire(field, wire, field.wire);
    let value: ElementValue;
    if (field.kind === 'message') {
      // A singular message seen again merges into the one before (and so does a oneof's
      // member when it is still the member set).
      const before = fields.get(field.id) as DecodedMessage | undefined;
      value = this.readSubMessage(field, before, end, depth);
    } else {
      value = this.readScalar(field, end);
    }
    if (field.oneof !== undefined) {
      for (const member of field.oneof.fieldsArray) if (member.id !== field.id) fields.delete(member.id);
    }
    fields.set(field.id, value);
  }

  /** One map entry: a message of key (1) and value (2), each last-one-wins, defaults when absent. */
  private readMapEntry(field: FieldPlan, map: Map<MapKey, ElementValue>, end: number, depth: number): void {
    const keyPlan = field.mapKey!;
    let key: MapKey | undefined;
    let value: ElementValue | undefined;
    while (this.pos < end) {
      const { id, wire } = this.readTag(end);
      if (id === 1) {
        this.expectWire(field, wire, keyPlan.wire, 'key');
        key = this.readScalar(keyPlan, end, field) as MapKey;
      } else if (id === 2) {
        this.expectWire(field, wire, field.wire, 'value');
        value = field.kind === 'message' ? this.readSubMessage(field, value as DecodedMessage | undefined, end, depth) : this.readScalar(field, end);
      } else {
        throw new MessageDecodeError(`map field ${field.field.name} has an entry with field ${id}`);
      }
    }
    if (this.pos !== end) throw new MessageDecodeError(`map field ${field.field.name} has an entry that runs past its end`);
    map.set(key ?? defaultKey(keyPlan), value ?? defaultValue(field));
  }

  private readSubMessage(field: FieldPlan, into: DecodedMessage | undefined, end: number, depth: number): DecodedMessage {
    const subEnd = this.readLength(field, end);
    const plan = field.message!();
    const message = into ?? { type: plan.type, fields: new Map() };
    this.readMessage(plan, message, subEnd, depth + 1);
    return message;
  }

  /** One scalar value of `plan`'s kind; `owner` names the map field a key belongs to. */
  private readScalar(plan: ValuePlan, end: number, owner?: FieldPlan): ScalarValue {
    const buf = this.buf;
    switch (plan.kind) {
      case 'int32':
        this.readVarint(end, owner ?? plan);
        return this.lo | 0;
      case 'uint32':
        this.readVarint(end, owner ?? plan);
        return this.lo;
      case 'sint32':
        this.readVarint(end, owner ?? plan);
        return (this.lo >>> 1) ^ -(this.lo & 1);
      case 'enum': {
        this.readVarint(end, owner ?? plan);
        const n = this.lo | 0;
        if (plan.closedValues !== undefined && !plan.closedValues.has(n)) {
          throw new MessageDecodeError(`enum ${name(plan.enumType!)} has no value ${n} (a closed enum's parser would drop it)`);
        }
        return n;
      }
      case 'bool':
        this.readVarint(end, owner ?? plan);
        return (this.lo | this.hi) !== 0;
      case 'int64':
        this.readVarint(end, owner ?? plan);
        return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
      case 'uint64':
        this.readVarint(end, owner ?? plan);
        return (BigInt(this.hi) << 32n) | BigInt(this.lo);
      case 'sint64': {
        this.readVarint(end, owner ?? plan);
        const u = (BigInt(this.hi) << 32n) | BigInt(this.lo);
        return (u >> 1n) ^ -(u & 1n);
      }
      case 'fixed32':
      case 'sfixed32': {
        const at = this.take(4, end, owner ?? plan);
        const u = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
        return plan.kind === 'fixed32' ? u : u | 0;
      }
      case 'fixed64':
      case 'sfixed64': {
        const at = this.take(8, end, owner ?? plan);
        const view = new DataView(buf.buffer, buf.byteOffset + at, 8);
        return plan.kind === 'fixed64' ? view.getBigUint64(0, true) : view.getBigInt64(0, true);
      }
      case 'float':
        return buf.slice(this.take(4, end, owner ?? plan), this.pos);
      case 'double':
        return buf.slice(this.take(8, end, owner ?? plan), this.pos);
      case 'string': {
        const stop = this.readLength(owner ?? plan, end);
        const bytes = buf.subarray(this.pos, stop);
        this.pos = stop;
        // Buffer's UTF-8 decoding would replace a bad sequence with U+FFFD: policy would see
        // text the tool's parser refuses or reads otherwise.
        if (!isUtf8(bytes)) throw new MessageDecodeError(`${describe(owner ?? plan)} is not valid UTF-8`);
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
      }
      case 'bytes': {
        const stop = this.readLength(owner ?? plan, end);
        const bytes = buf.slice(this.pos, stop);
        this.pos = stop;
        return bytes;
      }
      default:
        throw new MessageDecodeError(`${describe(plan)} is a message where a scalar was expected`);
    }
  }

  private readTag(end: number): { id: number; wire: number } {
    const start = this.pos;
    this.readVarint(end);
    // protobuf-C++ reads a tag as at most 5 bytes and 32 bits; other parsers truncate or
    // refuse differently, so a wider tag could name another field to the tool.
    if (this.hi !== 0 || this.pos - start > 5) throw new MessageDecodeError('field tag wider than 32 bits');
    const id = this.lo >>> 3;
    const wire = this.lo & 7;
    if (id === 0) throw new MessageDecodeError('field number 0');
    if (wire === WireType.SGROUP || wire === WireType.EGROUP || wire > WireType.I32) {
      throw new MessageDecodeError(`unsupported wire type ${wire} in field ${id}`);
    }
    return { id, wire };
  }

  private expectWire(field: FieldPlan, wire: number, expected: number, part?: 'key' | 'value'): void {
    if (wire === expected) return;
    const what = part === undefined ? `field ${field.field.name}` : `map field ${field.field.name}'s ${part}`;
    if (expected === WireType.SGROUP) throw new MessageDecodeError(`${what} is a group (not accepted)`);
    throw new MessageDecodeError(`${what} has wire type ${wire}, not ${expected}`);
  }

  /** Reads a length and returns where the value ends, which must be within `end`. */
  private readLength(plan: ValuePlan | FieldPlan, end: number): number {
    const start = this.pos;
    this.readVarint(end, plan, 'length');
    // protobuf-C++ reads a length in at most 5 bytes and fails a longer one.
    if (this.pos - start > 5) throw new MessageDecodeError(`length in ${describe(plan)} longer than 5 bytes`);
    if (this.hi !== 0 || this.lo > end - this.pos) throw new MessageDecodeError(`${describe(plan)} runs past the end of the message`);
    return this.pos + this.lo;
  }

  /** Moves past `n` bytes of a fixed-width value; where they start. */
  private take(n: number, end: number, plan: ValuePlan | FieldPlan): number {
    const at = this.pos;
    if (end - at < n) throw new MessageDecodeError(`${describe(plan)} runs past the end of the message`);
    this.pos = at + n;
    return at;
  }

  /**
   * A base-128 varint of at most 10 bytes and 64 bits into `lo`/`hi`. A longer one, or a
   * tenth byte above 1 (bits past 64), is refused: parsers disagree on what it means.
   */
  private readVarint(end: number, of?: ValuePlan | FieldPlan, what: 'varint' | 'length' = 'varint'): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let n = 0; n < 10; n++) {
      if (pos >= end) throw new MessageDecodeError(`truncated ${varintName(of, what)}`);
      const b = buf[pos++];
      if (n < 4) lo |= (b & 0x7f) << (7 * n);
      else if (n === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >>> 4;
      } else if (n < 9) hi |= (b & 0x7f) << (7 * n - 32);
      else if (b > 1) throw new MessageDecodeError(`${varintName(of, what)} beyond 64 bits`);
      else hi |= b << 31;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new MessageDecodeError(`${varintName(of, what)} longer than 10 bytes`);
  }
}

/** The value an absent scalar field (or map key) has: proto's zero, or a proto2 `[default = …]`. */
export function defaultValue(plan: FieldPlan): ElementValue {
  if (plan.kind === 'message') {
    const sub = plan.message!();
    return { type: sub.type, fields: new Map() };
  }
  const declared = plan.field.defaultValue as unknown;
  if (plan.kind === 'enum') {
    if (typeof declared === 'string') return plan.enumType!.values[declared] ?? 0;
    if (typeof declared === 'number') return declared;
    // proto2 (closed) enums default to their first value, proto3's to 0.
    return plan.closedValues !== undefined ? (Object.values(plan.enumType!.values)[0] ?? 0) : 0;
  }
  if (declared !== null && declared !== undefined && plan.field.options?.default !== undefined) return scalarFrom(plan, declared);
  return zero(plan);
}

function defaultKey(plan: ValuePlan): MapKey {
  return zero(plan) as MapKey;
}

function zero(plan: ValuePlan): ScalarValue {
  switch (plan.kind) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return 0n;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    case 'float':
      return new Uint8Array(4);
    case 'double':
      return new Uint8Array(8);
    default:
      return 0;
  }
}

/** A proto2 `[default = …]` as protobufjs holds it, in this decoder's representation. */
function scalarFrom(plan: ValuePlan, declared: unknown): ScalarValue {
  switch (plan.kind) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return BigInt(String(declared));
    case 'bool':
      return Boolean(declared);
    case 'string':
      return String(declared);
    case 'bytes':
      return declared instanceof Uint8Array ? declared : Buffer.from(String(declared), 'base64');
    case 'float': {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setFloat32(0, Number(declared), true);
      return out;
    }
    case 'double': {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, Number(declared), true);
      return out;
    }
    default:
      return Number(declared);
  }
}

/** Where a value is, for a problem's text: its field number. */
function describe(plan: ValuePlan | FieldPlan): string {
  return 'field' in plan ? `field ${plan.id}` : `a ${plan.kind} value`;
}

function varintName(of: ValuePlan | FieldPlan | undefined, what: 'varint' | 'length'): string {
  return of === undefined ? 'field tag' : `${what} in ${describe(of)}`;
}

function name(object: protobuf.ReflectionObject): string {
  return object.fullName.slice(1);
}
