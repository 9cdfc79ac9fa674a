/**
 * Concurrent calls per caller SPIFFE ID, on this replica (in memory, not shared through
 * Redis: the streams a caller holds are held here, on this replica's upstream connections).
 * Every call through the gateway takes one slot, tasks or not, so that one permitted caller
 * cannot hold every stream an upstream connection allows and starve the other callers.
 */
export class CallerSlots {
  readonly #held = new Map<string, number>();

  constructor(readonly maxPerCaller: number) {}

  /**
   * Takes a slot for `caller`. Returns the function that gives it back, which counts once
   * however often it is called, or undefined (nothing taken) when the caller already holds
   * `maxPerCaller` calls.
   */
  take(caller: string): (() => void) | undefined {
    const held = this.#held.get(caller) ?? 0;
    if (held >= this.maxPerCaller) return undefined;
    this.#held.set(caller, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(caller) ?? 1) - 1;
      if (left === 0) this.#held.delete(caller);
      else this.#held.set(caller, left);
    };
  }

  /** Calls `caller` holds now. */
  heldBy(caller: string): number {
    return this.#held.get(caller) ?? 0;
  }
}
