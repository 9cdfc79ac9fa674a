/**
 * `new Date(ms).toISOString()`, cheaper for times that follow one another: the text up to
 * the seconds is kept from the last call and only the milliseconds are written, so a busy
 * gateway formats a date once a second rather than once a decision (the ISO time was ~10 %
 * of a decision record's cost; bench/RESULTS.md). Same text as toISOString for every time.
 */
export class IsoTime {
  #second = Number.NaN;
  /** toISOString of the cached second, less its `sssZ`. */
  #prefix = '';

  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#second || !Number.isInteger(ms)) {
      const iso = new Date(ms).toISOString();
      // A fractional ms (a clock that is not Date.now) is formatted in full, and not cached.
      if (!Number.isInteger(ms)) return iso;
      this.#second = second;
      this.#prefix = iso.slice(0, -4);
    }
    const milli = ms - second * 1000;
    return `${this.#prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}
