import { EventEmitter } from 'node:events';
import type { X509Svid } from '../spiffe/x509/x509-svid';

/** What is watched: an `X509Source`. */
export interface SvidSource {
  /** Throws while there is none (withdrawn, closed). */
  getX509Svid(): Pick<X509Svid, 'expiresAt'>;
  readonly closed: boolean;
  on(event: 'update', listener: () => void): unknown;
}

/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why the gateway refuses calls and is not ready while its own SVID is past its notAfter. */
export const SVID_EXPIRED_REASON = 'gateway SVID expired';

export interface SvidExpiryEvents {
  /** The last SVID received is past its notAfter and no new one has come. */
  expired: [expiresAt: Date];
}

/**
 * The gateway's own X.509-SVID against the clock. Nothing comes from the Workload API when
 * the last SVID it sent runs out (its silence is why it runs out), so a timer says when.
 * The last notAfter is kept while the SVID is withdrawn: connections made with it hold it
 * still. An SVID is valid through its notAfter, as X.509 has it.
 */
export class SvidExpiry extends EventEmitter<SvidExpiryEvents> {
  #notAfter: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly source: SvidSource) {
    super();
    source.on('update', () => this.#track());
    this.#track();
  }

  /** When the last SVID received expires (or expired); undefined before the first. */
  get expiresAt(): Date | undefined {
    return this.#notAfter === undefined ? undefined : new Date(this.#notAfter);
  }

  /** Seconds left on the last SVID received, negative once it has expired; undefined before the first. */
  secondsLeft(now = Date.now()): number | undefined {
    return this.#notAfter === undefined ? undefined : (this.#notAfter - now) / 1000;
  }

  isExpired(now = Date.now()): boolean {
    return this.#notAfter !== undefined && now > this.#notAfter;
  }

  /** Why the gateway must not serve: `SVID_EXPIRED_REASON` past notAfter, else undefined. */
  reason(now = Date.now()): string | undefined {
    return this.isExpired(now) ? SVID_EXPIRED_REASON : undefined;
  }

  #track(): void {
    let notAfter: number;
    try {
      notAfter = this.source.getX509Svid().expiresAt.getTime();
    } catch {
      return; // withdrawn or closed: the last one stands
    }
    if (notAfter === this.#notAfter) return;
    this.#notAfter = notAfter;
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const delay = Math.min(Math.max(this.#notAfter! - Date.now() + 1, 0), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      if (this.source.closed) return;
      // Early only when the delay was cut to the timer's maximum.
      if (this.isExpired()) this.emit('expired', new Date(this.#notAfter!));
      else this.#arm();
    }, delay);
    // It must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }
}
