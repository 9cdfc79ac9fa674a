import fc from 'fast-check';
import type * as protobuf from 'protobufjs';
import { planOf, WireType, type FieldPlan, type MessagePlan, type ValuePlan } from '../../src/relay/message-plan';

/**
 * Hostile protobuf wire messages for a type, built field by field from its declaration so
 * that most of them parse, with every trick a caller can play on a parser mixed in: tags
 * and varints overlong, wider than 32 or 64 bits or of 5+ bytes; 32-bit fields with high
 * bits set; fields repeated (last one wins, messages merge), oneof members together, map
 * entries with keys and values missing, repeated, reordered or mistyped; packed and
 * unpacked runs; lengths one off; wrong wire types; groups; undeclared field numbers;
 * strings with invalid UTF-8, a BOM or policy-relevant paths; then whole-message
 * mutations (a byte flipped, inserted or dropped, a tail cut, two messages concatenated).
 */
export function hostileMessage(type: protobuf.Type, maxDepth = 3): fc.Arbitrary<Uint8Array> {
  const base = messageArb(planOf(type), maxDepth);
  return fc.oneof(
    { weight: 12, arbitrary: base },
    { weight: 3, arbitrary: fc.tuple(base, mutation()).map(([m, mutate]) => mutate(m)) },
    { weight: 1, arbitrary: fc.tuple(base, base).map(([a, b]) => concat([a, b])) },
  );
}

const cache = new Map<string, fc.Arbitrary<Uint8Array>>();

function messageArb(plan: MessagePlan, depth: number): fc.Arbitrary<Uint8Array> {
  const key = `${plan.type.fullName}@${depth}`;
  let arb = cache.get(key);
  if (arb === undefined) {
    const fields = plan.inNumberOrder;
    const field = fc.oneof({ weight: 40, arbitrary: fc.constantFrom(...fields).chain((f) => fieldArb(f, depth)) }, { weight: 1, arbitrary: rawField(plan) });
    // proto2 `required` fields come first, nearly always: a message without them fails anyway.
    const required = plan.required.map((f) => fc.option(single(f, f.id, depth), { freq: 20, nil: new Uint8Array(0) }));
    arb = fc.tuple(fc.tuple(...required).map(concat), fc.array(field, { maxLength: depth > 0 ? 6 : 3 }).map(concat)).map(concat);
    cache.set(key, arb);
  }
  return arb;
}

/** A declared field, mostly well typed; sometimes with a wrong wire type or a bad length. */
function fieldArb(field: FieldPlan, depth: number): fc.Arbitrary<Uint8Array> {
  const proper: fc.Arbitrary<Uint8Array> =
    field.mapKey !== undefined ? mapEntry(field, depth) : field.packable ? fc.oneof(single(field, field.id, depth), packedRun(field)) : single(field, field.id, depth);
  return fc.oneof(
    { weight: 30, arbitrary: proper },
    { weight: 1, arbitrary: fc.tuple(tag(field.id, fc.integer({ min: 0, max: 7 })), fc.uint8Array({ maxLength: 6 })).map(concat) },
  );
}

/** One value of a field under `id` with its proper wire type. */
function single(plan: ValuePlan, id: number, depth: number): fc.Arbitrary<Uint8Array> {
  if (plan.kind === 'message') {
    const wire = plan.wire === WireType.SGROUP ? WireType.SGROUP : WireType.LEN;
    if (depth <= 0) return fc.tuple(tag(id, fc.constant(wire)), delimited(fc.constant(new Uint8Array(0)))).map(concat);
    return fc.tuple(tag(id, fc.constant(wire)), delimited(messageArb(plan.message!(), depth - 1))).map(concat);
  }
  return fc.tuple(tag(id, fc.constant(plan.wire)), scalarPayload(plan)).map(concat);
}

function packedRun(plan: ValuePlan & { id: number }): fc.Arbitrary<Uint8Array> {
  return fc.tuple(tag(plan.id, fc.constant(WireType.LEN)), delimited(fc.array(scalarPayload(plan), { maxLength: 4 }).map(concat))).map(concat);
}

/** A map entry: key and value in any order, either missing, repeated or of the wrong type. */
function mapEntry(field: FieldPlan, depth: number): fc.Arbitrary<Uint8Array> {
  const part = fc.oneof(
    { weight: 4, arbitrary: single(field.mapKey!, 1, depth) },
    { weight: 4, arbitrary: single(field, 2, depth) },
    { weight: 1, arbitrary: fc.tuple(tag(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 5 })), fc.uint8Array({ maxLength: 3 })).map(concat) },
  );
  return fc.tuple(tag(field.id, fc.constant(WireType.LEN)), delimited(fc.array(part, { maxLength: 4 }).map(concat))).map(concat);
}

/** A field number the message may not declare, with any wire type. */
function rawField(plan: MessagePlan): fc.Arbitrary<Uint8Array> {
  const declared = [...plan.byId.keys()];
  const id = fc.oneof(fc.constantFrom(...declared), fc.constantFrom(0, 31, 99, 19000, 536870911), fc.integer({ min: 1, max: 40 }));
  return fc.tuple(tag(id, fc.integer({ min: 0, max: 7 })), fc.uint8Array({ maxLength: 8 })).map(concat);
}

const INTERESTING = [
  0n,
  1n,
  2n,
  7n,
  9n,
  127n,
  128n,
  300n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 32n + 1n,
  2n ** 33n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

function varintValue(): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(...INTERESTING), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 1000n }));
}

/** A varint of `value`: minimal, padded with continuation bytes (up to 11 in all), or with bits past 64. */
function varint(value: fc.Arbitrary<bigint>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      value,
      fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
      fc.oneof({ weight: 60, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    )
    .map(([v, pad, beyond64]) => {
      const bytes: number[] = [];
      let rest = v;
      do {
        bytes.push(Number(rest & 0x7fn));
        rest >>= 7n;
      } while (rest > 0n);
      for (let i = 0; i < pad; i++) bytes.push(0);
      if (beyond64) while (bytes.length < 10) bytes.push(0);
      if (beyond64) bytes[9] |= 0x7e;
      return Uint8Array.from(bytes.map((b, i) => (i < bytes.length - 1 ? b | 0x80 : b)));
    });
}

function tag(id: number | fc.Arbitrary<number>, wire: fc.Arbitrary<number>): fc.Arbitrary<Uint8Array> {
  const ids = typeof id === 'number' ? fc.constant(id) : id;
  // A tag is a varint too: padded, or with bits above 32 (which C++ truncates and others refuse).
  const high = fc.oneof({ weight: 100, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.constantFrom(1n << 32n, 1n << 35n, 1n << 60n) });
  return fc.tuple(ids, wire, high).chain(([i, w, h]) => varint(fc.constant((BigInt(i) << 3n) | BigInt(w) | h)));
}

function scalarPayload(plan: ValuePlan): fc.Arbitrary<Uint8Array> {
  switch (plan.wire) {
    case WireType.VARINT:
      if (plan.kind === 'enum') {
        // Mostly declared numbers, so that closed enums do not refuse nearly every message.
        const declared = Object.values(plan.enumType!.values).map((n) => BigInt.asUintN(64, BigInt(n)));
        return varint(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...declared) }, { weight: 1, arbitrary: varintValue() }));
      }
      return varint(varintValue());
    case WireType.I32:
      return fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.constantFrom(Uint8Array.of(0, 0, 0, 0x80), Uint8Array.of(0, 0, 0xc0, 0x7f)));
    case WireType.I64:
      return fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.constantFrom(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80), Uint8Array.of(1, 0, 0, 0, 0, 0, 0xf8, 0x7f)));
    default:
      return delimited(plan.kind === 'string' ? text() : fc.uint8Array({ maxLength: 12 }));
  }
}

/** Strings a policy cares about, any Unicode, a BOM, and bytes that are not UTF-8. */
function text(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('/secrets/x', '/public/a.txt', 'root', '', '\uFEFF/secrets/y').map((s) => Buffer.from(s, 'utf8')) },
    { weight: 10, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => Buffer.from(s, 'utf8')) },
    { weight: 1, arbitrary: fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xe2, 0x82)) },
  );
}

/** A length prefix and the bytes; now and then the length is one off. */
function delimited(body: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(body, fc.oneof({ weight: 60, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }))
    .chain(([b, off]) => varint(fc.constant(BigInt(Math.max(0, b.length + off)))).map((prefix) => concat([prefix, b])));
}

function mutation(): fc.Arbitrary<(m: Uint8Array) => Uint8Array> {
  return fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 })).map(([at, byte, kind]) => (m: Uint8Array) => {
    if (m.length === 0) return Uint8Array.of(byte);
    const i = at % m.length;
    const out = Array.from(m);
    if (kind === 0) out[i] ^= 1 << (byte & 7);
    else if (kind === 1) out.splice(i, 0, byte);
    else if (kind === 2) out.splice(i, 1);
    else out.length = i;
    return Uint8Array.from(out);
  });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
