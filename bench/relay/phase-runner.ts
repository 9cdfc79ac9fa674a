import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchChild } from './bench-child';
import type { ProcessSample } from './child-probe';
import { TASK_HEADER, TASK_TOKEN_HEADER } from './deployment';
import { payload, raw, UNARY_PATH } from './echo-service';
import { LatencyRecorder } from './latency-recorder';
import { LoadRun, type LoadOptions, type UnaryCall, type Workload } from './load-generator';
import { CostAccumulator, machineBusyMicros, median, selfSample, type PhaseResult } from './phase-result';
import type { BenchSettings } from './settings';

export interface Topology {
  name: string;
  client: grpc.Client;
  /** The forwarder or gateway process; none for direct. */
  middle: BenchChild | undefined;
  taskId: () => string;
  /** Only meaningful for unary calls (a stream is authorized once). */
  unaryOnly: boolean;
  /** toolgate+task: the token (from BeginTask at setup) every call carries as x-toolgate-task. */
  taskToken?: string;
  /** Unary calls to another method than Echo's Unary, each with its own request (toolgate-args). */
  unary?: UnaryCall;
  /** Another process of this topology whose CPU counts per call (the redis-server behind toolgate+task (redis)): CPU µs so far. */
  sideCpuMicros?: () => number;
}

/** Everything measured for one workload against one topology, over its rounds. */
export class Phase {
  readonly recorder = new LatencyRecorder();
  private readonly middle = new CostAccumulator();
  private readonly upstream = new CostAccumulator();
  private readonly client = new CostAccumulator();
  private seconds = 0;
  private calls = 0;
  private foreignMicros = 0;
  private sideMicros = 0;
  private readonly sideRounds: number[] = [];
  /** The middle's policy fast path over the windows: decisions it answered, decisions left to cedar-wasm; 'off'; undefined when not a toolgate. */
  private fastPath: { answered: number; leftToCedar: number } | 'off' | undefined;
  /** Open loop: calls (or messages) per second. */
  readonly rate: number;

  constructor(
    readonly workload: Workload,
    readonly topology: Topology,
    settings: Pick<BenchSettings, 'rate'>,
  ) {
    this.rate = workload.rate ?? settings.rate;
  }

  /**
   * One round: warm up, then measure one window. CPU of the middle and the upstream is read
   * over IPC at the window's edges; the client's (this process) directly.
   */
  async round(upstream: BenchChild, s: BenchSettings, warmupSeconds: number, profileFile?: string): Promise<void> {
    const t = this.topology;
    const before = this.recorder.count;
    const run = new LoadRun(t.client, this.workload, loadOptions(t, s, this.rate), this.recorder);
    await sleep(warmupSeconds * 1000);
    if (profileFile) await t.middle!.startProfile(s.profileIntervalMicros);
    const [m0, u0] = await Promise.all([t.middle?.sample(), upstream.sample()]);
    const c0 = selfSample();
    const side0 = t.sideCpuMicros?.() ?? 0;
    const busy0 = machineBusyMicros();
    const t0 = performance.now();
    run.measuring = true;
    await sleep(s.durationSeconds * 1000);
    run.measuring = false;
    const t1 = performance.now();
    run.answeredBy = t1 + s.shedGraceMs;
    const seconds = (t1 - t0) / 1000;
    const busy1 = machineBusyMicros();
    const side = (t.sideCpuMicros?.() ?? 0) - side0;
    const c1 = selfSample();
    const [m1, u1] = await Promise.all([t.middle?.sample(), upstream.sample()]);
    if (profileFile) await t.middle!.stopProfile(profileFile);
    // Open-loop unary: calls scheduled late in the window get the grace to be answered, under the same load.
    if (this.workload.mode === 'open' && this.workload.kind === 'unary') await sleep(Math.max(0, run.answeredBy - performance.now()));
    await run.stop();

    const calls = this.recorder.count - before;
    this.calls += calls;
    this.seconds += seconds;
    const ours0 = this.middle.cpuMicros + this.upstream.cpuMicros + this.client.cpuMicros;
    if (m0 && m1) this.middle.add(m0, m1, calls, seconds);
    if (m0?.fastPath !== undefined && m1?.fastPath !== undefined) this.addFastPath(m0.fastPath, m1.fastPath);
    this.upstream.add(u0, u1, calls, seconds);
    this.client.add(c0, c1, calls, seconds);
    const ours = this.middle.cpuMicros + this.upstream.cpuMicros + this.client.cpuMicros - ours0 + side;
    this.sideMicros += side;
    if (t.sideCpuMicros) this.sideRounds.push(calls === 0 ? NaN : side / calls);
    this.foreignMicros += Math.max(0, busy1 - busy0 - ours);
  }

  private addFastPath(before: NonNullable<ProcessSample['fastPath']>, after: NonNullable<ProcessSample['fastPath']>): void {
    if (before === 'off' || after === 'off') {
      this.fastPath = 'off';
      return;
    }
    const sum = this.fastPath === 'off' || this.fastPath === undefined ? { answered: 0, leftToCedar: 0 } : this.fastPath;
    this.fastPath = { answered: sum.answered + after.answered - before.answered, leftToCedar: sum.leftToCedar + after.leftToCedar - before.leftToCedar };
  }

  result(): PhaseResult {
    return {
      workload: this.workload,
      topology: this.topology.name,
      seconds: this.seconds,
      calls: this.calls,
      callsPerSecond: this.calls / this.seconds,
      rate: this.rate,
      latency: this.recorder.summary(),
      errors: this.recorder.errors,
      dropped: this.recorder.dropped,
      ...(this.recorder.scheduled > 0 && {
        scheduled: this.recorder.scheduled,
        shed: this.recorder.scheduled - this.recorder.answeredInTime,
        shedReasons: Object.fromEntries(this.recorder.shedReasons),
      }),
      ...(this.fastPath !== undefined && { fastPath: this.fastPath }),
      middle: this.topology.middle ? this.middle.cost() : undefined,
      upstream: this.upstream.cost(),
      client: this.client.cost(),
      foreignCores: this.foreignMicros / 1e6 / this.seconds,
      ...(this.topology.sideCpuMicros && { sideCpuMicrosPerCall: median(this.sideRounds), sidePooledMicrosPerCall: this.sideMicros / this.calls }),
    };
  }
}

function loadOptions(t: Topology, s: BenchSettings, rate: number): LoadOptions {
  return {
    request: payload(s.payloadBytes),
    concurrency: s.concurrency,
    rate,
    taskId: t.taskId,
    ...(t.taskToken !== undefined && { taskToken: t.taskToken }),
    ...(t.unary !== undefined && { unary: t.unary }),
  };
}

/** Waits for the connection, then one call must succeed (e.g. toolgate must allow it). */
export async function checkCall(t: Topology): Promise<void> {
  await new Promise<void>((resolve, reject) => t.client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  const md = new grpc.Metadata();
  md.set(TASK_HEADER, t.taskId());
  if (t.taskToken !== undefined) md.set(TASK_TOKEN_HEADER, t.taskToken);
  await new Promise<void>((resolve, reject) =>
    t.client.makeUnaryRequest(t.unary?.path ?? UNARY_PATH, raw, raw, t.unary?.request() ?? payload(16), md, (err) =>
      err ? reject(new Error(`${t.name}: the check call failed: ${err.message}`)) : resolve(),
    ),
  );
}

/** Unmeasured closed-loop unary load, so that the first measured phase does not pay for JIT and lazy setup. */
export async function warmUp(t: Topology, s: BenchSettings, seconds: number): Promise<void> {
  const workload: Workload = { name: 'warm-up', title: 'warm-up', kind: 'unary', mode: 'closed' };
  const run = new LoadRun(t.client, workload, loadOptions(t, s, s.rate), new LatencyRecorder());
  await sleep(seconds * 1000);
  await run.stop();
}

export interface IdleCost {
  /** CPU with no load at all (timers, metrics collection, the probe), µs per second. */
  microsPerSecond: number;
  rssMb: number;
}

/** What each child costs with no load, after the warm-up. */
export async function idleCost(children: readonly BenchChild[], seconds: number): Promise<Map<string, IdleCost>> {
  const before = await Promise.all(children.map((c) => c.sample()));
  await sleep(seconds * 1000);
  const after = await Promise.all(children.map((c) => c.sample()));
  return new Map(
    children.map((c, i) => {
      const used = after[i]!.cpu.user + after[i]!.cpu.system - before[i]!.cpu.user - before[i]!.cpu.system;
      return [c.name, { microsPerSecond: used / seconds, rssMb: after[i]!.rss / 2 ** 20 }];
    }),
  );
}
