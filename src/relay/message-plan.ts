import * as protobuf from 'protobufjs';

/** Wire types, as the protobuf encoding spec numbers them (protobuf.dev/programming-guides/encoding). */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Scalar proto types by how their value travels and is represented once decoded. */
export type ScalarKind =
  'int32' | 'uint32' | 'sint32' | 'enum' | 'bool' | 'int64' | 'uint64' | 'sint64' | 'fixed32' | 'sfixed32' | 'float' | 'fixed64' | 'sfixed64' | 'double' | 'string' | 'bytes';

const WIRE_OF: Record<ScalarKind, number> = {
  int32: WireType.VARINT,
  uint32: WireType.VARINT,
  sint32: WireType.VARINT,
  enum: WireType.VARINT,
  bool: WireType.VARINT,
  int64: WireType.VARINT,
  uint64: WireType.VARINT,
  sint64: WireType.VARINT,
  fixed32: WireType.I32,
  sfixed32: WireType.I32,
  float: WireType.I32,
  fixed64: WireType.I64,
  sfixed64: WireType.I64,
  double: WireType.I64,
  string: WireType.LEN,
  bytes: WireType.LEN,
};

/** A scalar value: the enum or key, or a map value, or one element. */
export interface ValuePlan {
  readonly kind: ScalarKind | 'message';
  /** The wire type a single value of this kind must have. */
  readonly wire: number;
  /** For `message`: the message's plan. */
  readonly message?: () => MessagePlan;
  /** For `enum`: the declared numbers when the enum is closed (proto2), else undefined (open). */
  readonly closedValues?: ReadonlySet<number>;
  readonly enumType?: protobuf.Enum;
}

/** One declared field, as the decoder and the encoder need it. */
export interface FieldPlan extends ValuePlan {
  readonly id: number;
  readonly field: protobuf.Field;
  readonly repeated: boolean;
  /** May arrive packed (repeated numeric scalars), and is written packed when `packed`. */
  readonly packable: boolean;
  readonly packed: boolean;
  /** A map: `key` is the entry's field 1, the value (this plan's kind) its field 2. */
  readonly mapKey?: ValuePlan;
  /** The oneof (real or proto3 `optional`'s synthetic one) this field is a member of. */
  readonly oneof?: protobuf.OneOf;
  /** Whether an unset value is distinguishable from the default (else the default is not written). */
  readonly hasPresence: boolean;
}

export interface MessagePlan {
  readonly type: protobuf.Type;
  readonly byId: ReadonlyMap<number, FieldPlan>;
  /** Every field, by field number: the order the canonical encoding writes them in. */
  readonly inNumberOrder: readonly FieldPlan[];
  /** proto2 `required` fields: a message without one fails to parse. */
  readonly required: readonly FieldPlan[];
}

const plans = new WeakMap<protobuf.Type, MessagePlan>();

/**
 * The decoding and encoding plan of a message type, built once per protobufjs type and
 * kept as long as the type is: what each field number means, read from the protobufjs
 * reflection the schema generator also reads, so that what the decoder produces and what
 * the Cedar schema declares come from one description of the message.
 */
export function planOf(type: protobuf.Type): MessagePlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    const byId = new Map<number, FieldPlan>();
    for (const field of type.fieldsArray) {
      field.resolve();
      byId.set(field.id, fieldPlan(field));
    }
    const inNumberOrder = [...byId.values()].sort((a, b) => a.id - b.id);
    plan = { type, byId, inNumberOrder, required: inNumberOrder.filter((f) => f.field.required) };
    plans.set(type, plan);
  }
  return plan;
}

function fieldPlan(field: protobuf.Field): FieldPlan {
  const value = valuePlan(field.type, field.resolvedType, field);
  const repeated = field.repeated && !field.map;
  const packable = repeated && value.wire !== WireType.LEN;
  const mapKey = field.map ? valuePlan((field as unknown as protobuf.MapField).keyType, null, field) : undefined;
  const oneof = field.partOf ?? undefined;
  return {
    ...value,
    id: field.id,
    field,
    repeated,
    packable,
    packed: packable && field.packed,
    ...(mapKey && { mapKey }),
    ...(oneof && { oneof }),
    hasPresence: !repeated && !field.map && (value.kind === 'message' || oneof !== undefined || field.hasPresence),
  };
}

function valuePlan(typeName: string, resolved: protobuf.ReflectionObject | null, field: protobuf.Field): ValuePlan {
  if (resolved instanceof protobuf.Type) {
    // A group (proto2 `group`, an edition's DELIMITED encoding) travels as start/end group
    // tags, which the decoder refuses; any other wire type for it is a mismatch, refused too.
    const wire = isGroupEncoded(field, resolved) ? WireType.SGROUP : WireType.LEN;
    return { kind: 'message', wire, message: () => planOf(resolved) };
  }
  if (resolved instanceof protobuf.Enum) {
    const closed = (resolved as unknown as { _features?: { enum_type?: string } })._features?.enum_type === 'CLOSED';
    return { kind: 'enum', wire: WireType.VARINT, enumType: resolved, ...(closed && { closedValues: new Set(Object.values(resolved.values)) }) };
  }
  if (!(typeName in WIRE_OF)) throw new Error(`field ${field.fullName}: type ${typeName} is not a protobuf scalar`);
  const kind = typeName as ScalarKind;
  return { kind, wire: WIRE_OF[kind] };
}

function isGroupEncoded(field: protobuf.Field, type: protobuf.Type): boolean {
  const features = (field as unknown as { _features?: { message_encoding?: string } })._features;
  return features?.message_encoding === 'DELIMITED' || (type as unknown as { group?: boolean }).group === true;
}
