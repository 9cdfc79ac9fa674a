import { Readable, addAbortSignal } from 'node:stream';
import type { ClientHttp2Stream } from 'node:http2';

/**
 * Node's own `AbortError` class, which it does not export. Node's http2 resets a stream
 * destroyed with one with RST_STREAM(CANCEL) (`Http2Stream._destroy`: `err instanceof
 * AbortError`), and one destroyed with any other error with INTERNAL_ERROR. Destroying a
 * stream through an aborted signal hands it an instance synchronously: it is read off that,
 * once, at load.
 */
const NodeAbortError: new () => Error = (() => {
  const probe = new Readable({ read() {} });
  probe.on('error', () => {});
  addAbortSignal(AbortSignal.abort(), probe);
  // Not `instanceof Error`: under jest, Node's own errors come from another realm.
  const err = probe.errored as { name?: unknown; constructor: unknown } | null;
  if (err === null || err.name !== 'AbortError' || typeof err.constructor !== 'function')
    throw new Error('node:stream no longer destroys with an AbortError: reset-with-cancel.ts must change');
  return err.constructor as new () => Error;
})();

/**
 * Resets an upstream request stream with RST_STREAM(CANCEL) alone. `close(NGHTTP2_CANCEL)`
 * would first end the request side (END_STREAM), and a tool would take the messages it got
 * so far for the whole request. Passing an AbortSignal to `session.request` makes the same
 * reset, but costs every call an AbortController, an abort listener and a 'close' listener
 * (~8 µs a call in the relay bench's profile, bench/PROFILE.md) for the rare call that is
 * cancelled; this costs nothing until a call is.
 */
export function resetWithCancel(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.destroy(new NodeAbortError());
}
