import type { Socket } from 'node:net';

/** Handshakes started per turn of the event loop when the caller does not say. */
export const DEFAULT_HANDSHAKES_PER_TURN = 8;

/**
 * How long a connection may wait for its handshake to start: past gRPC clients' usual 20 s
 * connect timeout (a client that gave up has closed its socket, and its start costs nothing),
 * and long enough for a full listener (1,024 connections) to drain at 100 handshakes a second.
 */
export const DEFAULT_MAX_WAIT_MS = 30_000;

/** When the queue runs next: on the next turn, or after a pause while it waits for its rate. */
export interface HandshakeScheduler {
  nextTurn(run: () => void): void;
  after(ms: number, run: () => void): void;
}

const REAL_SCHEDULER: HandshakeScheduler = {
  nextTurn: (run) => setImmediate(run),
  after: (ms, run) => setTimeout(run, ms).unref(),
};

export interface HandshakeQueueOptions {
  /** Handshakes started per turn of the event loop at most. Default 8. */
  perTurn?: number;
  /** Handshakes started per second at most (a token bucket holding `perTurn`); default: no rate. */
  perSecond?: number;
  /** A connection waiting longer is closed instead of started. Default 30 s. */
  maxWaitMs?: number;
  now?: () => number;
  scheduler?: HandshakeScheduler;
}

/**
 * Accepted connections waiting, unread, for their TLS handshake to start: at most `perTurn`
 * start on each turn of the event loop, and at most `perSecond` in a second; the rest wait.
 *
 * Why: the server's side of a TLS 1.3 handshake with a client certificate costs Node 20 about
 * 2.5 ms of CPU (measured: 2.6 ms for a bare Node TLS server on this project's 2-core machine,
 * most of it OpenSSL 3.0 decoding the client's certificates and building session tickets), on
 * the one thread that also relays every call. Connections arrive in crowds (an agent fleet
 * restarting, a client opening fifty at once, a flood), and Node starts every accepted
 * connection's handshake at once: the calls in flight then wait behind all of them, and a
 * crowd of thousands holds the CPU for seconds. A few per turn keep one turn's handshake work
 * to a few milliseconds; a rate keeps the share of the CPU that handshakes take bounded (100 a
 * second is about a quarter of a core), so calls in flight keep the rest. Counting starts, not
 * handshakes in flight, keeps the rate independent of the clients' round-trip time (a
 * handshake in flight mostly waits for the network).
 *
 * A connection waits at most `maxWaitMs` and is then closed; the listener's connection limit
 * bounds how many wait.
 */
export class HandshakeQueue {
  private readonly waiting: Array<{ socket: Socket; since: number }> = [];
  private head = 0;
  private scheduled = false;
  private readonly perTurn: number;
  private readonly perSecond: number | undefined;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly scheduler: HandshakeScheduler;
  private tokens: number;
  private refilledAt: number;

  constructor(
    /** Starts the handshake of a connection (hands it to the TLS server). */
    private readonly start: (socket: Socket) => void,
    /** Called with a connection that waited too long, just closed. */
    private readonly expired: (socket: Socket) => void,
    options: HandshakeQueueOptions = {},
  ) {
    this.perTurn = options.perTurn ?? DEFAULT_HANDSHAKES_PER_TURN;
    if (!Number.isInteger(this.perTurn) || this.perTurn < 1) throw new RangeError(`handshakes per turn must be a positive integer, not ${this.perTurn}`);
    this.perSecond = options.perSecond;
    if (this.perSecond !== undefined && !(this.perSecond > 0 && Number.isFinite(this.perSecond))) {
      throw new RangeError(`handshakes per second must be a positive number, not ${this.perSecond}`);
    }
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.now = options.now ?? performance.now.bind(performance);
    this.scheduler = options.scheduler ?? REAL_SCHEDULER;
    this.tokens = this.perTurn;
    this.refilledAt = this.now();
  }

  /** Connections accepted whose handshake has not started yet. */
  get length(): number {
    return this.waiting.length - this.head;
  }

  /** Queues a connection accepted paused (`pauseOnConnect`): nothing of it is read until it starts. */
  push(socket: Socket): void {
    this.waiting.push({ socket, since: this.now() });
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.nextTurn(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const now = this.now();
    this.refill(now);
    let started = 0;
    while (started < this.perTurn && this.tokens >= 1 && this.head < this.waiting.length) {
      const { socket, since } = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined!;
      if (socket.destroyed) continue;
      if (now - since > this.maxWaitMs) {
        socket.destroy();
        this.expired(socket);
        continue;
      }
      this.start(socket);
      started++;
      if (this.perSecond !== undefined) this.tokens--;
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
      return;
    }
    this.scheduled = true;
    if (this.tokens >= 1) this.scheduler.nextTurn(this.drain);
    else this.scheduler.after(Math.ceil(((1 - this.tokens) / this.perSecond!) * 1000), this.drain);
  };

  private refill(now: number): void {
    if (this.perSecond === undefined) return;
    this.tokens = Math.min(this.perTurn, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
  }
}
