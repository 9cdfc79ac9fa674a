import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { GrpcFrameReader, type GrpcMessage } from './grpc-frames';
import { closeUnfinishedRequest, encodeGrpcMessage, endWithStatus, refusalMessage, Status, type StatusCode } from './grpc-status';
import { IdleTimer } from './idle-timer';
import { afterPeerCatchesUp } from './peer-caught-up';
import { resetWithCancel } from './reset-with-cancel';
import type { UpstreamChannel } from './upstream-channel';
import { errorMessage } from '../errors/unknown-error';

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = constants;

/** How long an idle call's caller has to take its final status before its stream is reset. */
const IDLE_RESET_GRACE_MS = 1000;

export interface RelayOptions {
  maxMessageBytes: number;
  /** End the call (UNAVAILABLE, and a cancel upstream) when no byte moved either way for this long. */
  idleMs?: number;
  /** The call's decision id: what a caller reads of a status the relay ends the call with itself. */
  decisionId: string;
  /**
   * The method takes one request message (unary, server streaming), as the protos say: its
   * half-close after that message is relayed at once, since a cancel that follows cannot
   * have cut a request short (see `forwardRequest`). Unknown or streaming: false.
   */
  singleRequest?: boolean;
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
  /**
   * True when the gateway refused the caller's request bytes (a message over the size limit,
   * or cut short): a decision on the call, with `reason`, for the decision log.
   */
  refused?: boolean;
}

/** Why the gateway ends a call: what the caller sees, and the reason for the log. */
export interface Denial {
  code: StatusCode;
  message: string;
  reason: string;
  /** Trailers sent beside the status, e.g. `grpc-status-details-bin` (status-details.ts). */
  trailers?: Readonly<Record<string, string>>;
}

/** What the gate says of one request message. */
export type GateVerdict = { relay: Buffer } | { denial: Denial };

/**
 * Decides each request message before it is relayed (payload-aware policy). The upstream
 * call is opened only once the first message is admitted, and a denied message is never
 * sent: the upstream sees a cancel instead.
 */
export interface MessageGate {
  /**
   * The frame to relay in the message's place (the message exactly as it was decided on,
   * re-encoded), or why it is denied; or, for a message held for a person's approval, the
   * promise of either. Until it settles nothing more of the request is decided or relayed.
   */
  admit(message: GrpcMessage, index: number): GateVerdict | { pending: Promise<GateVerdict> };
  /** A request stream that ended without any message. */
  admitEmpty(): Denial | undefined;
}

/**
 * Relays one gRPC call between a caller's stream and a stream on an upstream connection:
 * headers, each message's bytes (as they came, or as the gate re-encoded them), trailers, status, cancellation both
 * ways, and flow control (each side is paused while the other cannot take more, so a slow
 * reader never makes the gateway buffer without bound).
 */
export class RelayCall {
  private upstream: ClientHttp2Stream | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private ended = false;
  private idle: IdleTimer | undefined;

  constructor(
    private readonly downstream: ServerHttp2Stream,
    private readonly channel: UpstreamChannel,
    /** The upstream request's headers, built when the upstream stream opens. */
    private readonly headers: () => OutgoingHttpHeaders,
    private readonly options: RelayOptions,
  ) {}

  /**
   * Relays every message as it arrives (the call was authorized as a whole). The upstream
   * stream opens at the first request byte or the caller's half-close: a caller that opens
   * calls and never sends holds no stream on the upstream's connection.
   */
  start(): void {
    this.watchIdle();
    const reader = new GrpcFrameReader(this.options.maxMessageBytes);
    const upstream = () => this.upstream ?? this.open();
    this.forwardRequest(
      (chunk) => {
        const problem = reader.push(chunk);
        if (problem !== undefined) return this.tooLarge(problem);
        return upstream()?.write(chunk) ?? false;
      },
      // A message cut short is never the upstream's to make sense of (the call is cancelled there).
      () => (reader.atBoundary ? upstream()?.end() : this.truncated()),
    );
  }

  /** Relays each request message only once `gate` admits it. */
  startGated(gate: MessageGate): void {
    this.watchIdle();
    let index = 0;
    let stopped = false;
    /** Set once a message was held: every later step waits its turn behind it, in order. */
    let held: Promise<void> | undefined;
    const apply = (verdict: GateVerdict): void => {
      if (stopped || this.ended) return;
      const up = 'denial' in verdict ? undefined : (this.upstream ?? this.open());
      if (!up) {
        stopped = true;
        if ('denial' in verdict) this.fail(verdict.denial.code, verdict.denial.message, verdict.denial.reason, undefined, verdict.denial.trailers);
        return;
      }
      if (!up.write((verdict as { relay: Buffer }).relay)) this.downstream.pause();
    };
    const decide = (message: GrpcMessage, at: number): Promise<void> | undefined => {
      if (stopped || this.ended) return undefined;
      const verdict = gate.admit(message, at);
      if (!('pending' in verdict)) {
        apply(verdict);
        return undefined;
      }
      return verdict.pending.then(apply, (err: unknown) => {
        stopped = true;
        this.fail(Status.INTERNAL, this.generic(Status.INTERNAL), `held message failed: ${errorMessage(err)}`);
      });
    };
    const reader = new GrpcFrameReader(this.options.maxMessageBytes, (message) => {
      if (stopped) return;
      const at = index++;
      if (held !== undefined) held = held.then(() => decide(message, at));
      else held = decide(message, at);
    });
    this.forwardRequest(
      (chunk) => {
        const problem = reader.push(chunk);
        if (problem !== undefined) return this.tooLarge(problem);
        return !stopped;
      },
      () => {
        const end = () => {
          if (stopped || this.ended) return;
          if (!reader.atBoundary) return this.truncated();
          if (index === 0) {
            const denial = gate.admitEmpty();
            if (denial) return this.fail(denial.code, denial.message, denial.reason);
          }
          (this.upstream ?? this.open())?.end();
        };
        // The half-close of a request whose message is held waits for the message's verdict.
        if (held !== undefined) void held.then(end);
        else end();
      },
    );
  }

  /**
   * Ends the call with `code` whatever state it is in, cancelling the upstream side. The
   * caller reads `callerMessage`; `reason` is for the log, and `cause` says whose it is.
   */
  fail(code: StatusCode, callerMessage: string, reason: string, cause?: 'upstream' | 'refused', extra?: Readonly<Record<string, string>>): void {
    if (this.ended) return;
    this.cancelUpstream();
    const down = this.downstream;
    if (!down.headersSent) {
      endWithStatus(down, code, callerMessage, extra);
    } else {
      // Headers are out: the status goes in the trailers we asked Node to wait for.
      this.trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(callerMessage), ...extra };
      this.upstream?.unpipe(down);
      if (!down.writableEnded) down.end();
    }
    this.finish({ grpcStatus: code, reason, ...(cause === 'upstream' && { upstreamError: true }), ...(cause === 'refused' && { refused: true }) });
  }

  /** What the caller reads of a status the relay ends the call with itself: no reason, the decision id. */
  private generic(code: StatusCode): string {
    return refusalMessage(code, this.options.decisionId);
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
      if (this.options.singleRequest) return end();
      const session = down.session;
      if (session === undefined) return; // the connection is gone: 'close' cancels
      afterPeerCatchesUp(session, (caughtUp) => {
        if (this.ended) return;
        if (caughtUp) end();
        else this.fail(Status.UNAVAILABLE, this.generic(Status.UNAVAILABLE), 'caller connection lost before the request was confirmed whole');
      });
    });
    down.on('error', () => {});
    down.on('close', () => {
      // The caller went away or reset: cancel the upstream call too.
      this.cancelUpstream();
      if (!this.ended) this.finish({ grpcStatus: undefined, reason: 'cancelled by caller' });
    });
  }

  /** Resets the upstream stream with RST_STREAM(CANCEL) alone, never END_STREAM first (reset-with-cancel.ts). */
  private cancelUpstream(): void {
    if (this.upstream) resetWithCancel(this.upstream);
  }

  private tooLarge(problem: string): false {
    this.fail(Status.RESOURCE_EXHAUSTED, this.generic(Status.RESOURCE_EXHAUSTED), problem, 'refused');
    return false;
  }

  private truncated(): void {
    this.fail(Status.INTERNAL, this.generic(Status.INTERNAL), 'request stream ended inside a message', 'refused');
  }

  /** Opens the upstream stream; undefined (and the call failed) when that is impossible. */
  private open(): ClientHttp2Stream | undefined {
    let up: ClientHttp2Stream;
    let session: ClientHttp2Session;
    try {
      session = this.channel.session();
      up = session.request(this.headers());
    } catch (err) {
      this.fail(Status.UNAVAILABLE, this.generic(Status.UNAVAILABLE), `upstream request failed: ${errorMessage(err)}`, 'upstream');
      return undefined;
    }
    this.upstream = up;
    up.on('response', (responseHeaders, flags) => this.onResponse(up, responseHeaders, flags));
    up.on('trailers', (trailers) => (this.trailers = withoutPseudo(trailers)));
    up.on('drain', () => this.downstream.resume());
    up.on('error', () => {}); // reported through 'close' below
    up.on('close', () => this.onUpstreamClose(up, session));
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
    if (this.idle) up.on('data', () => this.idle?.touch());
  }

  /** Ends the call once no byte has moved either way for `idleMs` (see `endIdle`). */
  private watchIdle(): void {
    const ms = this.options.idleMs;
    if (ms === undefined) return;
    const idle = (this.idle = new IdleTimer(ms, () => this.endIdle(ms)));
    this.downstream.on('data', () => idle.touch());
  }

  /**
   * An idle call ends with UNAVAILABLE (a server-side limit, not the caller's deadline or
   * cancel; the caller may open it again) and a cancel upstream. A caller that stopped
   * reading would never take the trailers and keep its stream: it is reset after a grace.
   */
  private endIdle(ms: number): void {
    const down = this.downstream;
    this.fail(Status.UNAVAILABLE, this.generic(Status.UNAVAILABLE), `idle: no byte either way for ${ms / 1000} s`, 'refused');
    setTimeout(() => {
      if (!down.closed && !down.destroyed) down.close(NGHTTP2_CANCEL);
    }, IDLE_RESET_GRACE_MS).unref();
  }

  private sendTrailers(): void {
    const missing = this.trailers === undefined;
    const trailers = this.trailers ?? {
      'grpc-status': String(Status.INTERNAL),
      'grpc-message': encodeGrpcMessage(this.generic(Status.INTERNAL)),
    };
    this.downstream.sendTrailers(trailers);
    closeUnfinishedRequest(this.downstream);
    this.finish({ grpcStatus: Number(trailers['grpc-status']), ...(missing && { reason: 'upstream ended the call without a status', upstreamError: true }) });
  }

  /**
   * The upstream stream closed before its trailers. The tool resetting the stream with CANCEL
   * is a cancellation (CANCELLED, as gRPC maps RST_STREAM CANCEL); anything else, and above
   * all the connection lost (the tool crashed or was killed: Node then closes every stream
   * with CANCEL too, and the session is gone), is UNAVAILABLE, which clients' retry policies
   * retry and CANCELLED never is.
   */
  private onUpstreamClose(up: ClientHttp2Stream, session: ClientHttp2Session): void {
    if (this.ended || this.downstream.closed) return;
    if (this.downstream.headersSent && up.rstCode === NGHTTP2_NO_ERROR) return; // trailers path
    const connectionLost = session.destroyed || session.closed;
    const reason = connectionLost ? `upstream connection lost (rst code ${up.rstCode})` : `upstream stream closed (rst code ${up.rstCode})`;
    const code = up.rstCode === NGHTTP2_CANCEL && !connectionLost ? Status.CANCELLED : Status.UNAVAILABLE;
    this.fail(code, this.generic(code), reason, 'upstream');
  }

  private finish(outcome: RelayOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.idle?.stop();
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
