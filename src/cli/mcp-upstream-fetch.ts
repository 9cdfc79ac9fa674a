import type * as https from 'node:https';
import { agentFetch, type FetchLike } from '../server/mtls-fetch';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { AuthorizationError } from '../spiffe/errors';

export interface UpstreamFetchOptions {
  /** For an https upstream: the gateway's own upstream agent (mTLS with its SVID, the upstream's SPIFFE ID checked). */
  readonly agent?: https.Agent;
  /** Headers for one request, from its body (the per-call JWT); none without. */
  readonly headers?: (body: string | undefined) => Readonly<Record<string, string>>;
  /** Ends every request, and every answer being read, when it fires (the deadline, or an interrupt). */
  readonly signal: AbortSignal;
  /** Largest answer read, in bytes; past it the answer is cut, `tooLarge` set and `onTooLarge` called. */
  readonly maxAnswerBytes: number;
  /** Stops the fetch: the SDK would otherwise wait for the rest of a cut SSE answer until the timeout. */
  readonly onTooLarge?: () => void;
}

/**
 * The fetch the SDK client's transport reaches an MCP upstream with, as the gateway reaches it:
 * an https upstream through the gateway's upstream agent (Node's own fetch cannot present a
 * client certificate), a loopback http one through Node's fetch. It remembers what went wrong
 * below the MCP layer, which the SDK's own errors blur: a connection that could not be made
 * (TLS and the SPIFFE ID check included), an answer over the size limit.
 */
export class UpstreamFetch {
  /** Why the last POST could not connect, when it could not. */
  connectError: string | undefined;
  /** True once an answer went past `maxAnswerBytes`. */
  tooLarge = false;
  /** The status of the last POST's answer when it was an HTTP error (the SDK's error leaves it out). */
  httpError: number | undefined;
  readonly fetch: FetchLike;

  constructor(private readonly options: UpstreamFetchOptions) {
    const base = options.agent === undefined ? (url: string | URL, init?: RequestInit) => globalThis.fetch(url, init) : agentFetch(options.agent);
    this.fetch = async (url, init) => {
      const headers = new Headers(init?.headers);
      const body = typeof init?.body === 'string' ? init.body : undefined;
      for (const [name, value] of Object.entries(options.headers?.(body) ?? {})) headers.set(name, value);
      const signal = init?.signal ? AbortSignal.any([init.signal, options.signal]) : options.signal;
      // What the POSTs (the client's messages) met; the SDK's optional GET stream may fail on its own without harm.
      const post = init?.method === 'POST';
      let response: Response;
      try {
        response = await base(url, { ...init, headers, signal });
      } catch (err) {
        if (post && !signal.aborted) this.connectError = connectionProblem(err);
        throw err;
      }
      if (post) {
        this.connectError = undefined;
        this.httpError = response.status >= 400 ? response.status : undefined;
      }
      return this.capped(response);
    };
  }

  /** `response` with a body that errors once more than `maxAnswerBytes` came: a hostile server cannot fill memory. */
  private capped(response: Response): Response {
    if (response.body === null) return response;
    const max = this.options.maxAnswerBytes;
    let seen = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        seen += chunk.byteLength;
        if (seen > max) {
          this.tooLarge = true;
          controller.error(new RangeError(`answer over ${max} bytes`));
          this.options.onTooLarge?.();
          return;
        }
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(counter), { status: response.status, statusText: response.statusText, headers: response.headers });
  }
}

/** What a failed connection says: the SPIFFE ID check's refusal as such, Node fetch's `fetch failed` by its cause. */
function connectionProblem(err: unknown): string {
  if (err instanceof AuthorizationError) return `TLS: the server's SPIFFE ID is refused: ${err.message}`;
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  const tls = /TLS|SSL|CERT/.test(errorCode(err) ?? errorCode(cause) ?? '') ? 'TLS: ' : '';
  return `${tls}${errorMessage(cause ?? err)}`;
}
