import type { DecodedMessage, ElementValue, FieldValue, MapKey, ScalarValue } from './exact-decode';
import { planOf, WireType, type FieldPlan, type ValuePlan } from './message-plan';

/**
 * Encodes a decoded message the way protobuf serializers do by default: fields in number
 * order, each once, implicit-presence fields left out at their default, repeated numbers
 * packed where the proto says so, map entries with key and value. This is what the gateway
 * relays to the tool instead of the caller's bytes, so a conformant parser at the tool reads
 * back exactly the message policy decided on, whatever encoding tricks the caller tried.
 */
export function encodeCanonical(message: DecodedMessage): Uint8Array {
  const writer = new Writer();
  writer.message(message);
  return writer.finish();
}

/**
 * Appends bytes into one buffer that grows by doubling. A nested message's length comes
 * before it, so its bytes are written first and moved up once its length is known
 * (one copy per level: requests are small and shallow).
 */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  message(message: DecodedMessage): void {
    const { fields } = message;
    for (const field of planOf(message.type).inNumberOrder) {
      const value = fields.get(field.id);
      if (value !== undefined) this.field(field, value);
    }
  }

  private field(field: FieldPlan, value: FieldValue): void {
    if (field.mapKey !== undefined) {
      for (const [key, v] of value as Map<MapKey, ElementValue>) {
        this.tag(field.id, WireType.LEN);
        this.delimited(() => {
          this.tag(1, field.mapKey!.wire);
          this.scalar(field.mapKey!, key);
          this.element(field, 2, v);
        });
      }
      return;
    }
    if (field.repeated) {
      const list = value as ElementValue[];
      if (list.length === 0) return;
      if (field.packed) {
        this.tag(field.id, WireType.LEN);
        this.delimited(() => {
          for (const v of list) this.scalar(field, v as ScalarValue);
        });
      } else {
        for (const v of list) this.element(field, field.id, v);
      }
      return;
    }
    if (!field.hasPresence && isDefault(field, value as ScalarValue)) return;
    this.element(field, field.id, value as ElementValue);
  }

  /** One value of `plan` under field number `id`: a message delimited, a scalar as its wire type says. */
  private element(plan: ValuePlan, id: number, value: ElementValue): void {
    if (plan.kind === 'message') {
      this.tag(id, WireType.LEN);
      this.delimited(() => this.message(value as DecodedMessage));
    } else {
      this.tag(id, plan.wire);
      this.scalar(plan, value as ScalarValue);
    }
  }

  private scalar(plan: ValuePlan, value: ScalarValue): void {
    switch (plan.kind) {
      case 'int32':
      case 'enum':
        // Negative 32-bit values are sign-extended to 10 bytes, as every encoder writes them.
        return (value as number) < 0 ? this.varint64(BigInt.asUintN(64, BigInt(value as number))) : this.varint32(value as number);
      case 'uint32':
        return this.varint32(value as number);
      case 'sint32':
        return this.varint32((((value as number) << 1) ^ ((value as number) >> 31)) >>> 0);
      case 'bool':
        return this.byte(value ? 1 : 0);
      case 'int64':
      case 'uint64':
        return this.varint64(BigInt.asUintN(64, value as bigint));
      case 'sint64': {
        const v = value as bigint;
        return this.varint64(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
      }
      case 'fixed32':
      case 'sfixed32': {
        const v = (value as number) >>> 0;
        this.reserve(4);
        this.buf[this.len++] = v & 0xff;
        this.buf[this.len++] = (v >>> 8) & 0xff;
        this.buf[this.len++] = (v >>> 16) & 0xff;
        this.buf[this.len++] = v >>> 24;
        return;
      }
      case 'fixed64':
      case 'sfixed64': {
        this.reserve(8);
        new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setBigUint64(0, BigInt.asUintN(64, value as bigint), true);
        this.len += 8;
        return;
      }
      case 'float':
      case 'double':
        return this.raw(value as Uint8Array);
      case 'string': {
        const bytes = Buffer.from(value as string, 'utf8');
        this.varint32(bytes.length);
        return this.raw(bytes);
      }
      case 'bytes':
        this.varint32((value as Uint8Array).length);
        return this.raw(value as Uint8Array);
      default:
        throw new Error(`${plan.kind} is not a scalar`);
    }
  }

  /** Writes what `body` writes, preceded by its length. */
  private delimited(body: () => void): void {
    const start = this.len;
    body();
    const length = this.len - start;
    const prefix = varintSize(length);
    this.reserve(prefix);
    this.buf.copyWithin(start + prefix, start, this.len);
    this.len = start;
    this.varint32(length);
    this.len = start + prefix + length;
  }

  private tag(id: number, wire: number): void {
    this.varint32(((id << 3) | wire) >>> 0);
  }

  private varint32(v: number): void {
    this.reserve(5);
    while (v > 0x7f) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }

  private varint64(v: bigint): void {
    if (v <= 0xffffffffn) return this.varint32(Number(v));
    this.reserve(10);
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v >>>= 7;
    n++;
  }
  return n;
}

/**
 * Whether an implicit-presence (proto3) scalar holds its default, which serializers leave
 * out. A float is default only as +0.0 (all bits zero): -0.0 is written, as protobuf does.
 */
function isDefault(plan: ValuePlan, value: ScalarValue): boolean {
  switch (plan.kind) {
    case 'string':
      return value === '';
    case 'bytes':
      return (value as Uint8Array).length === 0;
    case 'float':
    case 'double':
      return (value as Uint8Array).every((b) => b === 0);
    case 'bool':
      return value === false;
    default:
      return value === 0 || value === 0n;
  }
}
