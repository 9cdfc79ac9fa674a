/**
 * Fires `onIdle` once nothing has `touch`ed it for `ms`. A touch costs a clock read, not a
 * timer reset: the one timer, when it fires early, is re-armed for what is left.
 */
export class IdleTimer {
  private last = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.arm(ms);
  }

  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      const left = this.last + this.ms - performance.now();
      if (left > 0) return this.arm(left);
      this.timer = undefined;
      this.onIdle();
    }, delay);
    // A call's sockets keep the process alive while it runs; its idle timer need not.
    this.timer.unref();
  }
}
