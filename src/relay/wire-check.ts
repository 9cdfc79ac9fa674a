import * as protobuf from 'protobufjs';

const VARINT = 0;
const FIXED64 = 1;
const DELIMITED = 2;
const FIXED32 = 5;

const WIRE_TYPE: Record<string, number> = {
  int32: VARINT, int64: VARINT, uint32: VARINT, uint64: VARINT, sint32: VARINT, sint64: VARINT, bool: VARINT,
  fixed64: FIXED64, sfixed64: FIXED64, double: FIXED64,
  fixed32: FIXED32, sfixed32: FIXED32, float: FIXED32,
  string: DELIMITED, bytes: DELIMITED,
};

/**
 * Checks a message's wire format strictly before it is decoded: protobufjs accepts a
 * length that runs past the end (reading what is there) and a field of the wrong wire
 * type, so the gateway could authorize a message the upstream reads differently. Every
 * length must fit, every varint end within 10 bytes, every known field carry its
 * declared wire type (or packed, for repeated scalars), nested messages recursively;
 * groups are refused. Unknown fields only need to be well formed. Returns a problem or
 * undefined.
 */
export function checkWire(type: protobuf.Type, bytes: Uint8Array, start = 0, end = bytes.length, depth = 0): string | undefined {
  if (depth > 64) return 'message nested too deeply';
  let pos = start;
  while (pos < end) {
    const tag = readVarint(bytes, pos, end);
    if (tag === undefined) return 'truncated field tag';
    pos = tag.next;
    const fieldNumber = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (fieldNumber === 0) return 'field number 0';
    let valueStart = pos;
    let valueEnd: number;
    switch (wireType) {
      case VARINT: {
        const v = readVarint(bytes, pos, end);
        if (v === undefined) return `truncated varint in field ${fieldNumber}`;
        valueEnd = v.next;
        break;
      }
      case FIXED64:
        valueEnd = pos + 8;
        break;
      case FIXED32:
        valueEnd = pos + 4;
        break;
      case DELIMITED: {
        const length = readVarint(bytes, pos, end);
        if (length === undefined) return `truncated length in field ${fieldNumber}`;
        valueStart = length.next;
        valueEnd = valueStart + length.value;
        break;
      }
      default:
        return `unsupported wire type ${wireType} in field ${fieldNumber}`;
    }
    if (valueEnd > end) return `field ${fieldNumber} runs past the end of the message`;
    const field = type.fieldsById[fieldNumber];
    if (field) {
      const problem = checkField(field, wireType, bytes, valueStart, valueEnd, depth);
      if (problem) return problem;
    }
    pos = valueEnd;
  }
  return undefined;
}

function checkField(field: protobuf.Field, wireType: number, bytes: Uint8Array, start: number, end: number, depth: number): string | undefined {
  const resolved = field.resolvedType;
  if (field.map) {
    return wireType === DELIMITED ? undefined : `map field ${field.name} has wire type ${wireType}`;
  }
  if (resolved instanceof protobuf.Type) {
    if (wireType !== DELIMITED) return `message field ${field.name} has wire type ${wireType}`;
    return checkWire(resolved, bytes, start, end, depth + 1);
  }
  const expected = resolved instanceof protobuf.Enum ? VARINT : WIRE_TYPE[field.type];
  if (wireType === expected) return undefined;
  // Repeated numeric fields may be packed into one length-delimited run.
  if (field.repeated && wireType === DELIMITED && expected !== DELIMITED) return undefined;
  return `field ${field.name} has wire type ${wireType}, not ${expected}`;
}

function readVarint(bytes: Uint8Array, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos + i < end; i++) {
    const b = bytes[pos + i];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  return undefined;
}
