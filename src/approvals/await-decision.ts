import type { ApprovalStore } from './approval-store';

/** How a held call's wait for its approval request ended. */
export type HoldEnd =
  | { readonly end: 'approved' }
  | { readonly end: 'denied' | 'consumed' | 'expired' }
  /** The hold ran out with the request still pending. */
  | { readonly end: 'hold-over' }
  /** The caller went away (or its task ended) while held: `why` says which. */
  | { readonly end: 'gone'; readonly why: string };

export interface AwaitDecisionOptions {
  /** How long to wait at most, ms (> 0). */
  readonly holdMs: number;
  /** How often to re-read the request besides hearing decisions published (a missed message). */
  readonly pollMs: number;
  readonly now: () => Date;
  /** Registers `listener` for the caller going away; may return its removal. */
  readonly onGone: (listener: (why: string) => void) => (() => void) | void;
}

/**
 * Waits for approval request `id` to be decided: woken by the store's decision notices (from
 * any replica), re-read every `pollMs` in case a notice was missed, ended by the hold running
 * out or the caller going away, whichever comes first. The one wait of every held call, gRPC
 * and MCP alike. Never rejects: a store that fails while the call is held is tried again at the
 * next poll, until the hold ends.
 */
export function awaitDecision(store: ApprovalStore, id: string, options: AwaitDecisionOptions): Promise<HoldEnd> {
  return new Promise<HoldEnd>((resolve) => {
    let done = false;
    let reading = false;
    let again = false;
    const cleanups: (() => void)[] = [];
    const finish = (end: HoldEnd): void => {
      if (done) return;
      done = true;
      for (const cleanup of cleanups) cleanup();
      resolve(end);
    };
    const check = (): void => {
      if (done) return;
      // One read at a time; a notice during a read asks for one more after it.
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      store.get(id, options.now()).then(
        (request) => {
          reading = false;
          if (done) return;
          const state = request?.state ?? 'expired';
          if (state !== 'pending') return finish({ end: state });
          if (again) {
            again = false;
            check();
          }
        },
        () => (reading = false),
      );
    };
    cleanups.push(store.onDecided((decided) => decided === id && check()));
    const poll = setInterval(check, options.pollMs);
    const timer = setTimeout(() => finish({ end: 'hold-over' }), options.holdMs);
    cleanups.push(
      () => clearInterval(poll),
      () => clearTimeout(timer),
    );
    const removeGone = options.onGone((why) => finish({ end: 'gone', why }));
    // A caller already gone is told at once, before there was a removal to keep.
    if (removeGone) {
      if (done) removeGone();
      else cleanups.push(removeGone);
    }
    check();
  });
}
