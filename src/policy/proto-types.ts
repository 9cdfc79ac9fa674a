import * as protobuf from 'protobufjs';
import { jsonName, protoName } from '../protos/proto-files';
import { BOOL, LONG, named, record, renderType, safeIdentifier, setOf, STRING, type OmittedAttribute, type SchemaAttribute, type SchemaType } from './schema-text';

/**
 * How many times a recursive message is written out inside itself (counting every recursive
 * message on the path); the field that would nest deeper is left out of the schema. Cedar
 * common types cannot refer to themselves, so a recursive message is written out in full
 * wherever it is used, and this bounds the schema's size.
 */
export const RECURSION_DEPTH = 3;

/** The namespace of messages declared in no proto package. */
const NO_PACKAGE = 'proto';

/** A Cedar type, or why a proto field has none (written into the schema as a comment). */
export type Mapped = { readonly type: SchemaType } | { readonly omitted: string };

/** A common type for one message, declared in the Cedar namespace of its proto package. */
export interface MessageDeclaration {
  readonly namespace: string;
  readonly name: string;
  /** The message's proto full name. */
  readonly proto: string;
  readonly type: SchemaType;
}

const FLOAT: Mapped = { omitted: 'floating point (Cedar has no such type)' };
const FREE_FORM: Mapped = { omitted: 'free-form JSON (a Cedar record needs its attributes declared)' };

const SCALARS: Readonly<Record<string, Mapped>> = {
  double: FLOAT,
  float: FLOAT,
  // 64-bit integers too: a value beyond ±(2^53 - 1) cannot reach Cedar exactly, and the decoder denies its message.
  ...Object.fromEntries(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].map((t) => [t, { type: LONG }])),
  bool: { type: BOOL },
  string: { type: STRING },
  bytes: { type: STRING }, // base64
};

/** Well-known types have their own proto3 JSON form, typed here by that form. */
const WELL_KNOWN: Readonly<Record<string, Mapped>> = {
  'google.protobuf.Timestamp': { type: STRING }, // RFC 3339, "2024-01-01T00:00:00Z"
  'google.protobuf.Duration': { type: STRING }, // "1.5s"
  'google.protobuf.FieldMask': { type: STRING }, // "a.b,c"
  'google.protobuf.Empty': { type: record([]) },
  'google.protobuf.BoolValue': { type: BOOL },
  'google.protobuf.StringValue': { type: STRING },
  'google.protobuf.BytesValue': { type: STRING },
  'google.protobuf.Int32Value': { type: LONG },
  'google.protobuf.UInt32Value': { type: LONG },
  'google.protobuf.Int64Value': { type: LONG },
  'google.protobuf.UInt64Value': { type: LONG },
  'google.protobuf.FloatValue': FLOAT,
  'google.protobuf.DoubleValue': FLOAT,
  'google.protobuf.Struct': FREE_FORM,
  'google.protobuf.Value': FREE_FORM,
  'google.protobuf.ListValue': FREE_FORM,
  'google.protobuf.Any': FREE_FORM,
};

/**
 * Cedar types for proto messages in the proto3 JSON mapping, as the gateway decodes them
 * into `context.request`. Every message that is not recursive becomes one common type, so a
 * message used by many methods is written once; one instance serves one generated schema,
 * and so keeps common type names unique across it.
 */
export class MessageTypes {
  private readonly declared = new Map<protobuf.Type, MessageDeclaration>();
  private readonly byName = new Map<string, MessageDeclaration>();
  private readonly recursive = new Map<protobuf.Type, boolean>();

  /** The Cedar type of a method's input message. */
  requestType(type: protobuf.Type): Mapped {
    return this.messageType(type, 0);
  }

  /** The common types declared so far, each after the types it uses. */
  declarations(): MessageDeclaration[] {
    return [...new Set(this.declared.values())];
  }

  private messageType(type: protobuf.Type, depth: number): Mapped {
    const wellKnown = WELL_KNOWN[protoName(type)];
    if (wellKnown !== undefined) return wellKnown;
    if (!this.isRecursive(type)) return { type: named(this.declare(type)) };
    if (depth >= RECURSION_DEPTH) return { omitted: `${protoName(type)} nests more than ${RECURSION_DEPTH} levels deep here` };
    return { type: this.recordOf(type, depth + 1) };
  }

  /** Fields by their JSON names; see `isRequired` for which are optional. */
  private recordOf(type: protobuf.Type, depth: number): SchemaType {
    const attributes: SchemaAttribute[] = [];
    const omitted: OmittedAttribute[] = [];
    for (const field of type.fieldsArray) {
      const mapped = this.fieldType(field, depth);
      if ('omitted' in mapped) omitted.push({ name: jsonName(field), reason: mapped.omitted });
      else attributes.push({ name: jsonName(field), type: mapped.type, required: isRequired(field) });
    }
    return record(attributes, omitted);
  }

  /**
   * Repeated fields are Sets (Cedar sets are unordered and hold no duplicates). A map is a
   * Set of `{key, value}` records: a Cedar record's attributes are fixed by its type, so a
   * map's arbitrary keys cannot be attributes. Keys are strings, as in proto3 JSON.
   */
  private fieldType(field: protobuf.Field, depth: number): Mapped {
    const value = this.valueType(field, depth);
    if ('omitted' in value) return value;
    if (field.map) {
      return {
        type: setOf(
          record([
            { name: 'key', type: STRING, required: true },
            { name: 'value', type: value.type, required: true },
          ]),
        ),
      };
    }
    return field.repeated ? { type: setOf(value.type) } : value;
  }

  private valueType(field: protobuf.Field, depth: number): Mapped {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      // Enums are their value names; NullValue's JSON form is null, which Cedar has no value for.
      return protoName(resolved) === 'google.protobuf.NullValue' ? { omitted: 'JSON null (not a Cedar value)' } : { type: STRING };
    }
    if (resolved instanceof protobuf.Type) return this.messageType(resolved, depth);
    return SCALARS[field.type] ?? { omitted: `type ${field.type} is unknown` };
  }

  /** Declares a non-recursive message as a common type (once); its qualified name. */
  private declare(type: protobuf.Type): string {
    let declaration = this.declared.get(type);
    if (declaration === undefined) {
      const built = this.recordOf(type, 0);
      const path = cedarPath(type);
      // Two upstreams may load the same .proto file: one declaration serves both if they agree.
      let name = path.name;
      for (let n = 2; ; n++) {
        const same = this.byName.get(`${path.namespace}::${name}`);
        if (same === undefined) break;
        if (same.proto === protoName(type) && renderType(same.type) === renderType(built)) {
          declaration = same;
          break;
        }
        name = `${path.name}_${n}`;
      }
      if (declaration === undefined) {
        declaration = { namespace: path.namespace, name, proto: protoName(type), type: built };
        this.byName.set(`${path.namespace}::${name}`, declaration);
      }
      this.declared.set(type, declaration);
    }
    return `${declaration.namespace}::${declaration.name}`;
  }

  /** Whether the message can contain itself, directly or through other messages. */
  private isRecursive(type: protobuf.Type): boolean {
    let known = this.recursive.get(type);
    if (known === undefined) {
      known = reaches(type, type, new Set());
      this.recursive.set(type, known);
    }
    return known;
  }
}

/**
 * Optional: members of a oneof (a proto3 `optional` field is one, of a synthetic oneof) and
 * singular message fields, which are absent when unset. Every other field is required: the
 * decoder emits default values for unset scalars, repeated fields and maps.
 */
function isRequired(field: protobuf.Field): boolean {
  if (field.partOf !== null) return false;
  return field.repeated || field.map || !(field.resolvedType instanceof protobuf.Type);
}

function reaches(from: protobuf.Type, target: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  for (const field of from.fieldsArray) {
    const next = field.resolvedType;
    if (!(next instanceof protobuf.Type) || WELL_KNOWN[protoName(next)] !== undefined) continue;
    if (next === target) return true;
    if (!seen.has(next)) {
      seen.add(next);
      if (reaches(next, target, seen)) return true;
    }
  }
  return false;
}

/**
 * The proto package as a Cedar namespace (`tools.files.v1` → `tools::files::v1`) and the
 * message's name in it, nested names joined by `_` (`Outer.Inner` → `Outer_Inner`).
 * Cedar's reserved words get a trailing `_`.
 */
function cedarPath(type: protobuf.Type): { namespace: string; name: string } {
  const nested = [type.name];
  let parent = type.parent;
  while (parent instanceof protobuf.Type) {
    nested.unshift(parent.name);
    parent = parent.parent;
  }
  const pkg: string[] = [];
  for (; parent !== null && parent.parent !== null; parent = parent.parent) pkg.unshift(parent.name);
  return { namespace: (pkg.length > 0 ? pkg : [NO_PACKAGE]).map(safeIdentifier).join('::'), name: safeIdentifier(nested.join('_')) };
}
