import type * as grpc from '@grpc/grpc-js';

/**
 * The bench's tool service, `bench.v1.Echo`, with raw Buffer (de)serializers on both
 * sides: neither the load client nor the upstream spends CPU on protobuf, and every hop
 * carries exactly `payloadBytes` per message.
 */
export const ECHO_SERVICE = 'bench.v1.Echo';
export const UNARY_PATH = `/${ECHO_SERVICE}/Unary`;
export const PING_PONG_PATH = `/${ECHO_SERVICE}/PingPong`;
/** Server streaming: one request answered by `SERVER_STREAM_MESSAGES` responses. */
export const SERVER_STREAM_PATH = `/${ECHO_SERVICE}/ServerStream`;
export const SERVER_STREAM_MESSAGES = 8;
/** The Cedar action names of the methods. */
export const UNARY_ACTION = UNARY_PATH.slice(1);
export const PING_PONG_ACTION = PING_PONG_PATH.slice(1);
export const SERVER_STREAM_ACTION = SERVER_STREAM_PATH.slice(1);

const same = (b: Buffer): Buffer => b;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  };
}

export const echoServiceDefinition: grpc.ServiceDefinition = {
  Unary: method(UNARY_PATH, false, false),
  PingPong: method(PING_PONG_PATH, true, true),
  ServerStream: method(SERVER_STREAM_PATH, false, true),
};

/** A payload of `n` bytes (content irrelevant; not all zeros, in case anything compresses). */
export function payload(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** The raw identity (de)serializer for grpc-js client calls. */
export const raw = same;
