import type * as grpc from '@grpc/grpc-js';
import { payload } from './echo-service';

/**
 * The bench's payload-aware tool, `bench.v1.Tool`: one unary method whose request the
 * gateway decodes with `TOOL_PROTO` (the upstream's protos in its config), so that policy
 * decides on `context.request` and the upstream receives the gateway's re-encoding. Neither
 * the load client nor the upstream links a protobuf library: both sides use raw Buffer
 * (de)serializers and the few bytes of wire format below, so that their CPU stays
 * comparable with the Echo topologies'.
 */
export const TOOL_SERVICE = 'bench.v1.Tool';
export const TOOL_CALL_PATH = `/${TOOL_SERVICE}/Call`;
/** The Cedar action of the method. */
export const TOOL_CALL_ACTION = TOOL_CALL_PATH.slice(1);

export const TOOL_PROTO = `syntax = "proto3";
package bench.v1;
message CallRequest { string path = 1; int64 size = 2; bytes data = 3; }
message CallReply { bytes data = 1; }
service Tool { rpc Call(CallRequest) returns (CallReply); }
`;

/**
 * Distinct requests the load client cycles through: twice the gateway's decision cache
 * (10 000 entries, LRU, src/policy/policy-engine.ts), so that a request comes round again
 * only after 20 000 others, long after its decision left the cache: every call misses it.
 */
export const CALL_REQUEST_POOL = 20_000;

const same = (b: Buffer): Buffer => b;

export const toolServiceDefinition: grpc.ServiceDefinition = {
  Call: { path: TOOL_CALL_PATH, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
};

/** Protobuf's base-128 varint of a non-negative safe integer: 7 bits a byte, low bits first, the high bit set on all but the last. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2): tag, length, bytes. */
function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/**
 * A CallRequest `{ path, size, data }` in canonical encoding (fields in number order, each
 * once, as protobuf's serializers write it, so the gateway's re-encoding is byte for byte
 * the same), `data` sized so that the whole message is about `totalBytes`.
 */
export function callRequest(path: string, size: number, totalBytes: number): Buffer {
  const head = Buffer.concat([lengthDelimited(1, Buffer.from(path, 'utf8')), Buffer.from([(2 << 3) | 0, ...varint(size)])]);
  // The data field's own tag and length take 1 + 2 bytes at the bench's sizes (a length < 16 384).
  const dataBytes = Math.max(0, totalBytes - head.length - 3);
  return Buffer.concat([head, lengthDelimited(3, payload(dataBytes, size))]);
}

/** `CALL_REQUEST_POOL` requests, each its own path (`/data/<n>`) and size (n), which the bench's policies read. */
export function callRequestPool(totalBytes: number, count = CALL_REQUEST_POOL): Buffer[] {
  return Array.from({ length: count }, (_, i) => callRequest(`/data/${i + 1}`, i + 1, totalBytes));
}

/** A CallReply `{ data }` of about `totalBytes`: the upstream's answer to every Call. */
export function callReply(totalBytes: number): Buffer {
  return lengthDelimited(1, payload(Math.max(0, totalBytes - 3), 7));
}
