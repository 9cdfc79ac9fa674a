import { constants, type ServerHttp2Stream } from 'node:http2';

/** gRPC status codes the gateway itself answers with (grpc-js's numbering). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/**
 * Ends a call with a gRPC status. Before any response headers this is a trailers-only
 * response; after them the status goes in the trailers (the stream must have been
 * responded to with `waitForTrailers`); a closed stream is left alone.
 */
export function endWithStatus(stream: ServerHttp2Stream, code: StatusCode, message: string): void {
  if (stream.closed || stream.destroyed) return;
  const trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
    closeUnfinishedRequest(stream, 'response');
  } else {
    stream.close(constants.NGHTTP2_CANCEL);
  }
}

/** Percent-encodes a status message as the gRPC HTTP/2 spec requires. */
export function encodeGrpcMessage(message: string): string {
  return encodeURIComponent(message).replace(/%20/g, ' ');
}

/**
 * After the final status, a caller still sending would hold the stream (and a draining
 * connection) open: reset it with NO_ERROR, as gRPC servers do, to say the rest of the
 * request is not wanted, and let what it already sent drain away (Node destroys a stream
 * only once its readable side has ended). The reset waits for the event loop to turn, after
 * either kind of final status: trailers sent with `sendTrailers` are only submitted then (a
 * reset before would discard them), and a reset submitted in the tick of a trailers-only
 * response can overtake it on the wire (nghttp2 sends RST_STREAM ahead of queued frames):
 * the caller then reads a reset without a status, which grpc-js reports as INTERNAL. The
 * fault suite saw that for ~1 denied call in 700 (test/faults/, the broken-policy scenario).
 * Which status was sent (`_after`) no longer matters; callers still say it.
 */
export function closeUnfinishedRequest(stream: ServerHttp2Stream, _after: 'response' | 'trailers'): void {
  setImmediate(() => {
    if (stream.readableEnded || stream.destroyed) return;
    if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
    stream.resume();
  });
}
