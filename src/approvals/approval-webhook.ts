import { errorCode, errorMessage } from '../errors/unknown-error';
import { exponentialBackoff, type Backoff, type BackoffStrategy } from '../spiffe/workload/backoff';
import type { Approval } from './approval';
import { approvalNoticeBody } from './approval-notice';
import type { WebhookSecrets } from './webhook-secrets';

/** How a notice ended: delivered (a 2xx), given up (attempts or the request's expiry reached, or 410 Gone), or dropped from a full queue. */
export type WebhookOutcome = 'sent' | 'failed' | 'dropped';

export interface ApprovalWebhookOptions {
  /** https, or http to a loopback host (checked by the config). */
  readonly url: URL;
  /** The keys every message is signed with; read again on reload (`useSecrets`). */
  readonly secrets: WebhookSecrets;
  /** One attempt's limit, connecting to reading the status. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts per notice, the first included. Default 10. */
  readonly maxAttempts?: number;
  /** Notices waiting, being sent or between attempts; one more drops the oldest. Default 1000. */
  readonly maxQueued?: number;
  /** Attempts in flight at once. Default 4. */
  readonly concurrency?: number;
  /** The wait between attempts. Default: exponential from 1 s, doubling, capped at 60 s, equal jitter. */
  readonly backoff?: BackoffStrategy;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
  /** Told each notice's end (metrics, the operational log): never the body nor a key. */
  readonly onOutcome?: (outcome: WebhookOutcome, approvalId: string, detail: string) => void;
  /** The HTTP client. Default: Node's `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * Why these defaults: an approval request lives minutes (600 s unless its policy says), so
 * Standard Webhooks' schedule over days does not fit; 1 s doubling to a 60 s cap, 10
 * attempts, spans about 4 minutes, and a notice is given up anyway once its request has
 * expired (nobody can approve it any more). The jitter (each wait drawn in [d/2, d]) keeps a
 * replica's retries from arriving in step after a receiver's outage. 10 s per attempt is
 * ample for a receiver that answers first and works after; 4 in flight keep one slow
 * receiver from tying up sockets; 1000 queued notices of ~1 KB bound the memory.
 */
export const WEBHOOK_BACKOFF = exponentialBackoff({ initialMs: 1000, maxMs: 60_000 });

interface Notice {
  readonly approvalId: string;
  readonly expiresAt: number;
  readonly body: Buffer;
  readonly backoff: Backoff;
  attempts: number;
  /** Waiting for a slot (`ready`), sending, or between attempts (`timer`). */
  state: 'ready' | 'sending' | 'waiting';
  timer?: NodeJS.Timeout;
  abort?: AbortController;
}

/**
 * Approval webhooks: each new request is POSTed as JSON, signed per Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), and
 * retried with backoff on anything but a 2xx. `notify` only queues: it never waits, never
 * throws, and nothing the receiver does (an error, a hang, a flood of failures) reaches the
 * call that made the request. The queue is bounded: when full, the oldest notice is dropped.
 */
export class ApprovalWebhook {
  readonly #queue: Notice[] = [];
  #secrets: WebhookSecrets;
  #sending = 0;
  #closed = false;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #maxQueued: number;
  readonly #concurrency: number;
  readonly #backoff: BackoffStrategy;
  readonly #clock: () => number;
  readonly #fetch: typeof fetch;

  constructor(private readonly options: ApprovalWebhookOptions) {
    this.#secrets = options.secrets;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#concurrency = options.concurrency ?? 4;
    this.#backoff = options.backoff ?? WEBHOOK_BACKOFF;
    this.#clock = options.clock ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Notices not yet ended. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Signs with these keys from the next attempt on (a reload read the secret file again). */
  useSecrets(secrets: WebhookSecrets): void {
    this.#secrets = secrets;
  }

  /** Queues the notice of a new request, dropping the oldest queued one when full. Returns at once. */
  notify(approval: Approval): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxQueued) this.#end(this.#queue[0]!, 'dropped', `the queue holds ${this.#maxQueued} notices`);
    this.#queue.push({
      approvalId: approval.id,
      expiresAt: approval.expiresAt.getTime(),
      body: approvalNoticeBody(approval),
      backoff: this.#backoff.newBackoff(),
      attempts: 0,
      state: 'ready',
    });
    this.#pump();
  }

  /** Stops: attempts in flight are aborted, nothing more is sent (what is queued is lost with the process anyway). */
  close(): void {
    this.#closed = true;
    for (const notice of this.#queue.splice(0)) {
      clearTimeout(notice.timer);
      notice.abort?.abort();
    }
  }

  #pump(): void {
    for (const notice of this.#queue) {
      if (this.#sending >= this.#concurrency) return;
      if (notice.state === 'ready') this.#send(notice);
    }
  }

  #send(notice: Notice): void {
    notice.state = 'sending';
    notice.attempts++;
    this.#sending++;
    const abort = new AbortController();
    notice.abort = abort;
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    timeout.unref();
    this.#attempt(notice, abort.signal)
      .then(
        (status) => this.#after(notice, status, `HTTP ${status}`),
        (err: unknown) => this.#after(notice, undefined, abort.signal.aborted ? errorMessage(abort.signal.reason) : errorText(err)),
      )
      .finally(() => {
        clearTimeout(timeout);
        this.#sending--;
        this.#pump();
      });
  }

  async #attempt(notice: Notice, signal: AbortSignal): Promise<number> {
    const timestamp = Math.floor(this.#clock() / 1000);
    const response = await this.#fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'toolgate-approvals',
        'webhook-id': notice.approvalId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': this.#secrets.sign(notice.approvalId, timestamp, notice.body),
      },
      body: notice.body,
      // A redirect is a failure (Standard Webhooks): the configured URL is the only one posted to.
      redirect: 'manual',
      signal,
    });
    // The answer's body is not wanted: released so that the connection can be reused.
    await response.body?.cancel().catch(() => undefined);
    return response.status;
  }

  #after(notice: Notice, status: number | undefined, detail: string): void {
    notice.abort = undefined;
    // Dropped, or closed, while in flight: already ended.
    if (!this.#queue.includes(notice)) return;
    if (status !== undefined && status >= 200 && status < 300) return this.#end(notice, 'sent', detail);
    // 410 Gone: the receiver wants no more of this (Standard Webhooks); not retried.
    if (status === 410) return this.#end(notice, 'failed', detail);
    if (notice.attempts >= this.#maxAttempts) return this.#end(notice, 'failed', `${detail}; ${notice.attempts} attempts made`);
    const delay = notice.backoff.next();
    if (this.#clock() + delay >= notice.expiresAt) return this.#end(notice, 'failed', `${detail}; the request expires before the next attempt`);
    notice.state = 'waiting';
    notice.timer = setTimeout(() => {
      notice.timer = undefined;
      notice.state = 'ready';
      this.#pump();
    }, delay);
    notice.timer.unref();
  }

  #end(notice: Notice, outcome: WebhookOutcome, detail: string): void {
    const at = this.#queue.indexOf(notice);
    if (at >= 0) this.#queue.splice(at, 1);
    clearTimeout(notice.timer);
    notice.abort?.abort(new Error('dropped'));
    try {
      this.options.onOutcome?.(outcome, notice.approvalId, detail);
    } catch {
      // A failing observer must not leave a delivery's promise rejected (nor stop the queue).
    }
  }
}

function errorText(err: unknown): string {
  // fetch's TypeError("fetch failed") hides the reason in `cause` (ECONNREFUSED, …).
  const cause = err instanceof Error ? err.cause : undefined;
  return cause === undefined ? errorMessage(err) : (errorCode(cause) ?? errorMessage(cause));
}
