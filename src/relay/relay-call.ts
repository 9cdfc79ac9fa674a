import {
  constants,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { GrpcFrameReader, type GrpcMessage } from './grpc-frames';
import { closeUnfinishedRequest, encodeGrpcMessage, endWithStatus, Status, type StatusCode } from './grpc-status';
import { afterPeerCatchesUp } from './peer-caught-up';
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

/** Why the gateway ends a call: what the caller sees, and the reason for the log. */
export interface Denial {
  code: StatusCode;
  message: string;
  reason: string;
}

/**
 * Decides each request message before it is relayed (payload-aware policy). The upstream
 * call is opened only once the first message is admitted, and a denied message is never
 * sent: the upstream sees a cancel instead.
 */
export interface MessageGate {
  admit(message: GrpcMessage, index: number): Denial | undefined;
  /** A request stream that ended without any message. */
  admitEmpty(): Denial | undefined;
}

/**
 * Relays one gRPC call between a caller's stream and a stream on an upstream connection:
 * headers, each message's bytes (never re-encoded), trailers, status, cancellation both
 * ways, and flow control (each side is paused while the other cannot take more, so a slow
 * reader never makes the gateway buffer without bound).
 */
export class RelayCall {
  private upstream: ClientHttp2Stream | undefined;
  /** Resets the upstream stream with CANCEL and nothing else (see `cancelUpstream`). */
  private readonly upstreamAbort = new AbortController();
  private trailers: OutgoingHttpHeaders | undefined;
  private ended = false;

  constructor(
    private readonly downstream: ServerHttp2Stream,
    private readonly channel: UpstreamChannel,
    private readonly headers: OutgoingHttpHeaders,
    private readonly options: RelayOptions,
  ) {}

  /** Relays every message as it arrives (the call was authorized as a whole). */
  start(): void {
    const up = this.open();
    if (!up) return;
    const reader = new GrpcFrameReader(this.options.maxMessageBytes);
    this.forwardRequest((chunk) => {
      const problem = reader.push(chunk);
      if (problem !== undefined) return this.tooLarge(problem);
      return up.write(chunk);
    }, () => up.end());
  }

  /** Relays each request message only once `gate` admits it. */
  startGated(gate: MessageGate): void {
    let index = 0;
    let stopped = false;
    const reader = new GrpcFrameReader(this.options.maxMessageBytes, (message) => {
      if (stopped) return;
      const denial = gate.admit(message, index++);
      const up = denial ? undefined : (this.upstream ?? this.open());
      if (!up) {
        stopped = true;
        if (denial) this.fail(denial.code, denial.message, denial.reason);
        return;
      }
      if (!up.write(message.frame)) this.downstream.pause();
    });
    this.forwardRequest(
      (chunk) => {
        const problem = reader.push(chunk);
        if (problem !== undefined) return this.tooLarge(problem);
        return !stopped;
      },
      () => {
        if (stopped || this.ended) return;
        if (!reader.atBoundary) return this.fail(Status.INTERNAL, 'truncated request message', 'request stream ended inside a message');
        if (index === 0) {
          const denial = gate.admitEmpty();
          if (denial) return this.fail(denial.code, denial.message, denial.reason);
        }
        (this.upstream ?? this.open())?.end();
      },
    );
  }

  /** Ends the call with `code` whatever state it is in, cancelling the upstream side. */
  fail(code: StatusCode, callerMessage: string, reason: string, upstreamError = false): void {
    if (this.ended) return;
    this.cancelUpstream();
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

  /**
   * Feeds the caller's bytes to `write` (false: pause until the upstream drains; the
   * upstream's 'drain' resumes) and calls `end` when the caller half-closes, and only then:
   * a caller that resets its stream or loses its connection is relayed as a cancel, so
   * that a tool never takes a cut-off request for a whole one.
   */
  private forwardRequest(write: (chunk: Buffer) => boolean, end: () => void): void {
    const down = this.downstream;
    down.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      // `write` may end the call (a limit, a denial): then the stream must keep draining.
      if (!write(chunk) && !this.ended) down.pause();
    });
    down.on('end', () => {
      // Node ends the readable side of a reset stream too: after 'aborted' for a reset
      // without END_STREAM or a lost connection; before it when END_STREAM came first, as
      // a Node caller cancels. Relay the half-close only once the caller has caught up.
      if (this.ended || down.aborted) return;
      const session = down.session;
      if (session === undefined) return; // the connection is gone: 'close' cancels
      afterPeerCatchesUp(session, (caughtUp) => {
        if (this.ended) return;
        if (caughtUp) end();
        else this.fail(Status.UNAVAILABLE, 'caller connection lost', 'caller connection lost before the request was confirmed whole');
      });
    });
    down.on('error', () => {});
    down.on('close', () => {
      // The caller went away or reset: cancel the upstream call too.
      this.cancelUpstream();
      if (!this.ended) this.finish({ grpcStatus: undefined, reason: 'cancelled by caller' });
    });
  }

  /**
   * Resets the upstream stream with RST_STREAM(CANCEL) alone. `close(NGHTTP2_CANCEL)` would
   * first end the request side (END_STREAM), and a tool would take the messages it got so
   * far for the whole request; an aborted signal makes Node send the reset without it.
   */
  private cancelUpstream(): void {
    if (this.upstream && !this.upstream.closed && !this.upstream.destroyed) this.upstreamAbort.abort();
  }

  private tooLarge(problem: string): false {
    this.fail(Status.RESOURCE_EXHAUSTED, problem, problem);
    return false;
  }

  /** Opens the upstream stream; undefined (and the call failed) when that is impossible. */
  private open(): ClientHttp2Stream | undefined {
    let up: ClientHttp2Stream;
    try {
      up = this.channel.session().request(this.headers, { signal: this.upstreamAbort.signal });
    } catch (err) {
      this.fail(Status.UNAVAILABLE, 'upstream unavailable', `upstream request failed: ${(err as Error).message}`, true);
      return undefined;
    }
    this.upstream = up;
    up.on('response', (responseHeaders, flags) => this.onResponse(up, responseHeaders, flags));
    up.on('trailers', (trailers) => (this.trailers = withoutPseudo(trailers)));
    up.on('drain', () => this.downstream.resume());
    up.on('error', () => {}); // reported through 'close' below
    up.on('close', () => this.onUpstreamClose(up));
    this.downstream.on('wantTrailers', () => this.sendTrailers());
    return up;
  }

  private onResponse(up: ClientHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
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
    up.pipe(down);
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

function withoutPseudo(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const key in headers) if (key.charCodeAt(0) !== 0x3a /* : */) out[key] = headers[key];
  return out;
}

function grpcStatusOf(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['grpc-status'];
  return value === undefined ? undefined : Number(value);
}
