import { constants, type ServerHttp2Stream } from 'node:http2';
import { closeUnfinishedRequest, encodeGrpcMessage, type StatusCode } from '../relay/grpc-status';

/**
 * Whether a request's `content-type` is gRPC's: `application/grpc`, alone, with a subtype
 * (`application/grpc+proto`, `+json`, …) or with parameters (`application/grpc; charset=…`),
 * case-insensitively as media types are. `application/grpc-web` and anything else is not: the
 * gateway would otherwise relay a request the tool reads under other rules (gRPC over
 * HTTP/2, "Requests": Content-Type → "application/grpc" [("+proto" / "+json" / {custom})]).
 */
export function isGrpcContentType(value: string | string[] | undefined): boolean {
  if (typeof value !== 'string') return false; // absent, or sent more than once
  const type = value.toLowerCase();
  if (!type.startsWith('application/grpc')) return false;
  const next = type.charCodeAt(GRPC.length);
  return Number.isNaN(next) || next === PLUS || next === SEMICOLON || next === SPACE || next === TAB;
}

const GRPC = 'application/grpc';
const [PLUS, SEMICOLON, SPACE, TAB] = ['+', ';', ' ', '\t'].map((c) => c.charCodeAt(0));

/**
 * Ends a request whose content-type is not gRPC's as the gRPC spec asks, with HTTP 415
 * (Unsupported Media Type), so that no HTTP client takes it for a success; it also carries a
 * gRPC status (as grpc-go's servers send, INVALID_ARGUMENT) with the decision id, for gRPC
 * clients that read one.
 */
export function endUnsupportedMediaType(stream: ServerHttp2Stream, code: StatusCode, message: string): void {
  if (stream.closed || stream.destroyed) return;
  stream.respond(
    {
      ':status': constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
      'content-type': GRPC,
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    },
    { endStream: true },
  );
  closeUnfinishedRequest(stream);
}
