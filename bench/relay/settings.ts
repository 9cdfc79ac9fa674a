/** Bench knobs, from environment variables (all optional). */
export interface BenchSettings {
  /** Seconds of load before each measured window (not counted). BENCH_WARMUP_S, default 1. */
  warmupSeconds: number;
  /** Seconds of each measured window. BENCH_DURATION_S, default 2. */
  durationSeconds: number;
  /**
   * Rounds per workload: each round measures every topology once, one after the other, so
   * a burst of foreign load is spread over topologies instead of hitting one. Results pool
   * the rounds. BENCH_ROUNDS, default 3; always 1 when profiling (one profile per window).
   */
  rounds: number;
  /** Seconds of no load over which the middles' idle CPU is measured. BENCH_IDLE_S, default 2. */
  idleSeconds: number;
  /** Calls (or streams) in flight for closed-loop workloads. BENCH_CONCURRENCY, default 32. */
  concurrency: number;
  /** Calls (or stream messages) per second for open-loop workloads. BENCH_RATE, default 500. */
  rate: number;
  /** Calls per second of the unary-open-1000 workload (every call a Cedar evaluation). BENCH_RATE_HIGH, default 1000. */
  rateHigh: number;
  /**
   * Open-loop unary: a call scheduled in a window is shed unless answered OK by the window's
   * end plus this many ms (so that the calls in flight when the window ends are not). BENCH_SHED_GRACE_MS, default 250.
   */
  shedGraceMs: number;
  /** Request and response message size in bytes. BENCH_PAYLOAD_BYTES, default 1024. */
  payloadBytes: number;
  /** Comma-separated workload names to run (default: all; when profiling unary-closed, unary-open, stream-closed). BENCH_WORKLOADS. */
  workloads: string[] | undefined;
  /** Comma-separated topology names to run (default: all; when profiling all but direct). BENCH_TOPOLOGIES. */
  topologies: string[] | undefined;
  /** Profile the middle processes during each measured window (--profile or BENCH_PROFILE=1). */
  profile: boolean;
  /** V8 CPU profiler sampling interval in µs when profiling. BENCH_PROFILE_INTERVAL_US, default 200. */
  profileIntervalMicros: number;
  /** Write bench/RESULTS.md (default yes, except when profiling). BENCH_WRITE_RESULTS=0 turns it off. */
  writeResults: boolean;
  /** Run the credentials micro-benchmark (bench/micro/) after the relay phases (default yes, except when profiling). BENCH_MICRO=0 turns it off. */
  micro: boolean;
}

export function readSettings(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const profile = argv.includes('--profile') || env.BENCH_PROFILE === '1';
  return {
    warmupSeconds: num(env, 'BENCH_WARMUP_S', 1),
    // A profile covers one window: one longer round.
    durationSeconds: num(env, 'BENCH_DURATION_S', profile ? 5 : 2),
    rounds: profile ? 1 : int(env, 'BENCH_ROUNDS', 3),
    idleSeconds: num(env, 'BENCH_IDLE_S', 2),
    concurrency: int(env, 'BENCH_CONCURRENCY', 32),
    rate: num(env, 'BENCH_RATE', 500),
    rateHigh: num(env, 'BENCH_RATE_HIGH', 1000),
    shedGraceMs: num(env, 'BENCH_SHED_GRACE_MS', 250),
    payloadBytes: int(env, 'BENCH_PAYLOAD_BYTES', 1024),
    // Profiling looks at the middles: no need for the direct topology or every workload.
    workloads: list(env.BENCH_WORKLOADS) ?? (profile ? ['unary-closed', 'unary-open', 'stream-closed'] : undefined),
    topologies: list(env.BENCH_TOPOLOGIES) ?? (profile ? ['forwarder', 'toolgate', 'toolgate-uncached'] : undefined),
    profile,
    profileIntervalMicros: int(env, 'BENCH_PROFILE_INTERVAL_US', 200),
    writeResults: env.BENCH_WRITE_RESULTS === undefined ? !profile : env.BENCH_WRITE_RESULTS !== '0',
    micro: env.BENCH_MICRO === undefined ? !profile : env.BENCH_MICRO !== '0',
  };
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = num(env, name, fallback);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got "${env[name]}"`);
  return value;
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
