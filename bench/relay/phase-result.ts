import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { ProcessSample } from './child-probe';
import type { LatencySummary } from './latency-recorder';
import type { Workload } from './load-generator';

/** One process's cost over the measured windows of one workload and topology. */
export interface ProcessCost {
  /** Median over rounds of each round's (user + system CPU) / calls, µs. */
  cpuMicrosPerCall: number;
  /** All rounds pooled: total CPU / total calls, µs. */
  pooledMicrosPerCall: number;
  userMicrosPerCall: number;
  systemMicrosPerCall: number;
  /** CPU µs/call of each round, to show the spread. */
  roundMicrosPerCall: number[];
  /** Share of one core used over the windows. */
  cores: number;
  /** RSS at the end of the last window, MB. */
  rssMb: number;
  /** Highest RSS seen during the windows, MB. */
  peakRssMb: number;
}

/** One workload against one topology, all rounds pooled. */
export interface PhaseResult {
  workload: Workload;
  topology: string;
  seconds: number;
  /** Calls (unary) or messages answered (stream) in the windows. */
  calls: number;
  callsPerSecond: number;
  /** Open loop: the target rate. */
  rate: number;
  latency: LatencySummary;
  errors: number;
  dropped: number;
  /** Open-loop unary: calls scheduled in the windows (sent or not). */
  scheduled?: number;
  /** Open-loop unary: of those, the ones not answered OK by the window's end plus BENCH_SHED_GRACE_MS (errors, not sent, late). */
  shed?: number;
  /** Open-loop unary: the shed calls by reason (a gRPC status name, 'late', 'not sent'); any rest was still unanswered when the run stopped. */
  shedReasons?: Record<string, number>;
  /** toolgate: what its policy fast path did during the windows (cache misses only), or 'off'. */
  fastPath?: { answered: number; leftToCedar: number } | 'off';
  middle: ProcessCost | undefined;
  upstream: ProcessCost;
  client: ProcessCost;
  /** Cores busy on the machine outside the bench's processes during the windows (other work: noise). */
  foreignCores: number;
  /** toolgate+task (redis): the redis-server's CPU per call, median over rounds, µs. */
  sideCpuMicrosPerCall?: number;
  sidePooledMicrosPerCall?: number;
}

/** Adds up one process's samples over rounds. */
export class CostAccumulator {
  private user = 0;
  private system = 0;
  private calls = 0;
  private seconds = 0;
  private rss = 0;
  private peak = 0;
  private readonly rounds: number[] = [];

  add(before: ProcessSample, after: ProcessSample, calls: number, seconds: number): void {
    const user = after.cpu.user - before.cpu.user;
    const system = after.cpu.system - before.cpu.system;
    this.user += user;
    this.system += system;
    this.calls += calls;
    this.seconds += seconds;
    this.rss = after.rss;
    this.peak = Math.max(this.peak, after.peakRss);
    this.rounds.push(calls === 0 ? NaN : (user + system) / calls);
  }

  get cpuMicros(): number {
    return this.user + this.system;
  }

  cost(): ProcessCost {
    const per = (us: number) => (this.calls === 0 ? NaN : us / this.calls);
    return {
      cpuMicrosPerCall: median(this.rounds),
      pooledMicrosPerCall: per(this.user + this.system),
      userMicrosPerCall: per(this.user),
      systemMicrosPerCall: per(this.system),
      roundMicrosPerCall: this.rounds,
      cores: (this.user + this.system) / 1e6 / this.seconds,
      rssMb: this.rss / 2 ** 20,
      peakRssMb: this.peak / 2 ** 20,
    };
  }
}

/** The parent's own sample (the load client runs in the parent). */
export function selfSample(): ProcessSample {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { cpu: process.cpuUsage(), rss, peakRss: rss, maxRss: process.resourceUsage().maxRSS * 1024, memory: { heapTotal, heapUsed, external, arrayBuffers } };
}

/** CPU time used by the whole machine so far (all cores, not idle), µs. */
export function machineBusyMicros(): number {
  let ms = 0;
  for (const c of cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms * 1000;
}

export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** CPU (user + system) a process has used so far, µs, from /proc/<pid>/stat (Linux; NaN elsewhere). */
export function procCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses; utime, stime are fields 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;
