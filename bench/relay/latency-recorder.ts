/** Per-call latencies of one measured window, kept as samples and sorted once at the end. */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 14);
  private n = 0;
  errors = 0;
  /** Open-loop calls not sent because too many were already outstanding. */
  dropped = 0;
  /** Open-loop unary: calls scheduled in the windows (sent or not). */
  scheduled = 0;
  /** Open-loop unary: of those, the ones answered OK by the window's end plus a grace (load-generator.ts, `answeredBy`). */
  answeredInTime = 0;
  /** Open-loop unary: why the others were not: a gRPC status name, 'late' (answered OK after the grace) or 'not sent'. */
  readonly shedReasons = new Map<string, number>();

  shedFor(reason: string): void {
    this.shedReasons.set(reason, (this.shedReasons.get(reason) ?? 0) + 1);
  }

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.n).sort();
    const at = (q: number): number => (this.n === 0 ? NaN : sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))]!);
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i]!;
    return { count: this.n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), mean: this.n === 0 ? NaN : sum / this.n };
  }
}

/** Milliseconds; nearest-rank percentiles. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}
