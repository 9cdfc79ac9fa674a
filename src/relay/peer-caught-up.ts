import type { Http2Session } from 'node:http2';

/**
 * Calls `done(true)` once the peer of `session` has acknowledged a PING sent after this
 * call: by then the gateway has processed every frame the peer sent before it saw that
 * PING. `done(false)` when no PING can be sent or answered (the session is going away).
 *
 * It also proves that what the gateway wrote before the PING has been sent: nghttp2 writes
 * out every frame queued with it.
 *
 * Why: Node's server may process two frames a caller sent together in different turns of
 * the event loop (it pauses reading while a write is pending). A Node caller (grpc-js
 * `cancel()`, `stream.close(code)`) cancels a stream it has not half-closed with END_STREAM
 * then RST_STREAM, so a clean half-close cannot be told from a cancellation until the
 * caller has caught up; and after a refusal, a request whose END_STREAM is on its way
 * cannot be told from one still being sent. PINGs of one session are shared: one in
 * flight at a time, answering every wait begun before it was sent.
 */
export function afterPeerCatchesUp(session: Http2Session, done: (caughtUp: boolean) => void): void {
  let barrier = barriers.get(session);
  if (barrier === undefined) barriers.set(session, (barrier = new PingBarrier(session)));
  barrier.wait(done);
}

const barriers = new WeakMap<Http2Session, PingBarrier>();

class PingBarrier {
  /** Waits begun since the PING in flight was sent: they need the next one. */
  private waiting: Array<(caughtUp: boolean) => void> = [];
  private inFlight = false;

  constructor(private readonly session: Http2Session) {}

  wait(done: (caughtUp: boolean) => void): void {
    this.waiting.push(done);
    if (!this.inFlight) this.send();
  }

  private send(): void {
    const answered = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    const settle = (caughtUp: boolean) => {
      this.inFlight = false;
      for (const done of answered) done(caughtUp);
      if (this.waiting.length > 0) this.send();
    };
    let sent = false;
    try {
      sent = !this.session.destroyed && this.session.ping((err) => settle(!err));
    } catch {
      // a session being destroyed refuses PINGs
    }
    if (!sent) process.nextTick(settle, false);
  }
}
