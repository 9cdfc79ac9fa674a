import { status as grpcStatus } from '@grpc/grpc-js';
import { constants, type ServerHttp2Stream } from 'node:http2';
import { afterPeerCatchesUp } from './peer-caught-up';

/**
 * gRPC status codes: grpc-js's own enum (`status`), under the name the gateway's code uses.
 * Only the numbers go on the wire; grpc-js is loaded anyway, for the Workload API client.
 */
export { grpcStatus as Status };
export type StatusCode = grpcStatus;

/**
 * Ends a call with a gRPC status. Before any response headers this is a trailers-only
 * response; after them the status goes in the trailers (the stream must have been
 * responded to with `waitForTrailers`); a closed stream is left alone. `extra` trailers go
 * beside the status (`grpc-status-details-bin`: status-details.ts).
 */
export function endWithStatus(stream: ServerHttp2Stream, code: StatusCode, message: string, extra?: Readonly<Record<string, string>>): void {
  if (stream.closed || stream.destroyed) return;
  const trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message), ...extra };
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
    closeUnfinishedRequest(stream);
  } else {
    stream.close(constants.NGHTTP2_CANCEL);
  }
}

/** Where a status's name in lower case would read oddly to a caller. */
const STATUS_WORDS: Partial<Record<StatusCode, string>> = {
  [grpcStatus.UNKNOWN]: 'unknown error',
  [grpcStatus.INTERNAL]: 'internal error',
};

/** Each status in words, for callers: its name in lower case (`RESOURCE_EXHAUSTED` → `resource exhausted`), built once. */
const WORDS: ReadonlyMap<number, string> = new Map(
  Object.values(grpcStatus)
    .filter((code): code is StatusCode => typeof code === 'number')
    .map((code) => [code, STATUS_WORDS[code] ?? grpcStatus[code].toLowerCase().replace(/_/g, ' ')]),
);

function statusWords(code: StatusCode): string {
  return WORDS.get(code) ?? `status ${code}`;
}

/**
 * The message of a status the gateway ends a call with itself: the status in words and the
 * decision id (`resource exhausted (decision 3f2a9c41d0e2-7)`), never the reason, which goes
 * to the log line of that decision id.
 */
export function refusalMessage(code: StatusCode, decisionId: string): string {
  return `${statusWords(code)} (decision ${decisionId})`;
}

/** Percent-encodes a status message as the gRPC HTTP/2 spec requires. */
export function encodeGrpcMessage(message: string): string {
  return encodeURIComponent(message).replace(/%20/g, ' ');
}

/**
 * After the final status, a caller still sending would hold the stream (and a draining
 * connection) open: reset it with NO_ERROR, as gRPC servers do, to say the rest of the
 * request is not wanted. But not at once. A request whose END_STREAM is already on its way
 * (a whole unary request in one write, processed after its HEADERS) must not be reset; and
 * a reset Node submits before it has written the response out makes nghttp2 drop the
 * response, leaving the caller a bare RST_STREAM and no status. So what the caller sends
 * is drained, and the reset waits until the caller has answered a PING sent after the
 * response: by then the response is on the wire, and whatever the caller sent before
 * seeing it has been read. Only a caller still sending then is reset. (A reset sent in the
 * tick of the response was seen to overtake it: the fault suite's broken-policy scenario got
 * INTERNAL for ~1 denied call in 700.)
 */
export function closeUnfinishedRequest(stream: ServerHttp2Stream): void {
  if (stream.readableEnded || stream.destroyed) return;
  stream.resume();
  const session = stream.session;
  if (session === undefined) return;
  afterPeerCatchesUp(session, (caughtUp) => {
    if (!caughtUp || stream.closed || stream.destroyed || stream.readableEnded) return;
    if (stream.state.remoteClose) return; // ended, its 'end' not emitted yet
    stream.close(constants.NGHTTP2_NO_ERROR);
  });
}
