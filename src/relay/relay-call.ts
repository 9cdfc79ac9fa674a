import {
  constants,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { GrpcFrameTracker } from './grpc-frames';
import { closeUnfinishedRequest, encodeGrpcMessage, endWithStatus, Status, type StatusCode } from './grpc-status';
import type { UpstreamChannel } from './upstream-channel';

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = constants;

export interface RelayOptions {
  maxMessageBytes: number;
  /** Called once, when the call has ended, with the final gRPC status. */
  onEnd: (status: RelayOutcome) => void;
}

export interface RelayOutcome {
  /** The gRPC status the caller saw; undefined when the stream was reset. */
  grpcStatus: number | undefined;
  /** Why the gateway ended the call itself (upstream failure, limit, cancel), if it did. */
  reason?: string;
  /** True when the failure was reaching or talking to the upstream. */
  upstreamError?: boolean;
}

/**
 * Relays one gRPC call between a caller's stream and a new stream on an upstream
 * connection: headers, each message's bytes as they arrive (never re-encoded), trailers,
 * status, cancellation both ways, and flow control (each side is paused while the other
 * cannot take more, so a slow reader never makes the gateway buffer without bound).
 */
export class RelayCall {
  private upstream: ClientHttp2Stream | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private ended = false;
  private readonly requestFrames: GrpcFrameTracker;

  constructor(
    private readonly downstream: ServerHttp2Stream,
    private readonly options: RelayOptions,
  ) {
    this.requestFrames = new GrpcFrameTracker(options.maxMessageBytes);
  }

  start(channel: UpstreamChannel, headers: OutgoingHttpHeaders): void {
    const down = this.downstream;
    let up: ClientHttp2Stream;
    try {
      up = channel.session().request(headers);
    } catch (err) {
      this.fail(Status.UNAVAILABLE, 'upstream unavailable', `upstream request failed: ${(err as Error).message}`, true);
      return;
    }
    this.upstream = up;

    up.on('response', (responseHeaders, flags) => this.onResponse(responseHeaders, flags));
    up.on('trailers', (trailers) => (this.trailers = withoutPseudo(trailers)));
    down.on('wantTrailers', () => this.sendTrailers());
    pump(down, up, (chunk) => this.requestFrames.push(chunk), (problem) =>
      this.fail(Status.RESOURCE_EXHAUSTED, problem, problem),
    );

    up.on('error', () => {}); // reported through 'close' below
    down.on('error', () => {});
    up.on('close', () => this.onUpstreamClose(up));
    down.on('close', () => {
      // The caller went away or reset: cancel the upstream call too.
      if (!up.closed) up.close(NGHTTP2_CANCEL);
      if (!this.ended) this.finish({ grpcStatus: undefined, reason: 'cancelled by caller' });
    });
  }

  /** Ends the call with `code` whatever state it is in, cancelling the upstream side. */
  fail(code: StatusCode, callerMessage: string, reason: string, upstreamError = false): void {
    if (this.ended) return;
    this.upstream?.close(NGHTTP2_CANCEL);
    const down = this.downstream;
    if (!down.headersSent) {
      endWithStatus(down, code, callerMessage);
    } else {
      // Headers are out: the status goes in the trailers we asked Node to wait for.
      this.trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(callerMessage) };
      this.upstream?.unpipe(down);
      if (!down.writableEnded) down.end();
    }
    this.finish({ grpcStatus: code, reason, upstreamError });
  }

  private onResponse(headers: IncomingHttpHeaders, flags: number): void {
    const down = this.downstream;
    if (down.closed || this.ended) return;
    const out = withoutPseudo(headers);
    out[HTTP2_HEADER_STATUS] = headers[HTTP2_HEADER_STATUS];
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
      // Trailers-only response (typically an error status): relay it as such.
      down.respond(out, { endStream: true });
      closeUnfinishedRequest(down);
      this.finish({ grpcStatus: grpcStatusOf(headers) });
      return;
    }
    down.respond(out, { waitForTrailers: true });
    pump(this.upstream!, down);
  }

  private sendTrailers(): void {
    const trailers = this.trailers ?? {
      'grpc-status': String(Status.INTERNAL),
      'grpc-message': 'upstream ended the call without a status',
    };
    this.downstream.sendTrailers(trailers);
    closeUnfinishedRequest(this.downstream);
    this.finish({ grpcStatus: Number(trailers['grpc-status']) });
  }

  private onUpstreamClose(up: ClientHttp2Stream): void {
    if (this.ended || this.downstream.closed) return;
    if (this.downstream.headersSent && up.rstCode === NGHTTP2_NO_ERROR) return; // trailers path
    const reason = `upstream stream closed (rst code ${up.rstCode})`;
    if (up.rstCode === NGHTTP2_CANCEL) this.fail(Status.CANCELLED, 'cancelled by upstream', reason, true);
    else this.fail(Status.UNAVAILABLE, 'upstream unavailable', reason, true);
  }

  private finish(outcome: RelayOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.options.onEnd(outcome);
  }
}

/**
 * Moves bytes from `from` to `to` with back-pressure, optionally inspecting each chunk
 * first (`inspect` returns a problem to stop the flow). Ends `to` when `from` ends.
 */
function pump(
  from: ServerHttp2Stream | ClientHttp2Stream,
  to: ServerHttp2Stream | ClientHttp2Stream,
  inspect?: (chunk: Buffer) => string | undefined,
  onProblem?: (problem: string) => void,
): void {
  if (!inspect) {
    from.pipe(to);
    return;
  }
  let stopped = false;
  from.on('data', (chunk: Buffer) => {
    if (stopped) return;
    const problem = inspect(chunk);
    if (problem !== undefined) {
      stopped = true;
      onProblem?.(problem);
      return;
    }
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => {
    if (!to.writableEnded && !to.destroyed) to.end();
  });
}

function withoutPseudo(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const key in headers) if (key.charCodeAt(0) !== 0x3a /* : */) out[key] = headers[key];
  return out;
}

function grpcStatusOf(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['grpc-status'];
  return value === undefined ? undefined : Number(value);
}
