import type { Socket } from 'node:net';

/** Handshakes started per turn of the event loop when the caller does not say. */
export const DEFAULT_HANDSHAKES_PER_TURN = 8;

/**
 * Accepted connections waiting, unread, for their TLS handshake to start: a few start on each
 * turn of the event loop, the rest on the next turns.
 *
 * Why: a server's side of a TLS 1.3 handshake (an ECDHE key, a signature, then the client's
 * chain checked) is about half a millisecond of the one thread that also relays every call.
 * Connections arrive in crowds (an agent fleet restarting, a client opening fifty at once, a
 * flood), and Node starts every accepted connection's handshake in the same turn: fifty
 * ClientHellos read at once stall every call in flight for ~25 ms, 2,000 for a second. A few
 * per turn, with the calls' I/O served between turns, keeps that stall to a few milliseconds
 * while handshakes still complete at nearly the CPU's rate. Counting per turn rather than
 * handshakes in flight keeps the rate independent of the clients' round-trip time (a handshake
 * in flight mostly waits for the network).
 *
 * A connection waits at most `maxWaitMs` (the handshake timeout) and is then closed; the
 * listener's connection limit bounds how many wait.
 */
export class HandshakeQueue {
  private readonly waiting: Array<{ socket: Socket; since: number }> = [];
  private head = 0;
  private scheduled = false;

  constructor(
    /** Starts the handshake of a connection (hands it to the TLS server). */
    private readonly start: (socket: Socket) => void,
    /** Called with a connection that waited too long, just closed. */
    private readonly expired: (socket: Socket) => void,
    private readonly perTurn: number = DEFAULT_HANDSHAKES_PER_TURN,
    private readonly maxWaitMs: number = 10_000,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new RangeError(`handshakes per turn must be a positive integer, not ${perTurn}`);
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
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const now = this.now();
    let started = 0;
    while (started < this.perTurn && this.head < this.waiting.length) {
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
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  };
}
