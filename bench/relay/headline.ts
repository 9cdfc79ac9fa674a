import { SERVER_STREAM_MESSAGES } from './echo-service';
import type { PhaseResult } from './phase-result';
import type { BenchSettings } from './settings';

/** One middle process's memory: RSS with no load after the warm-up, its RSS high-water mark after all the load, and V8's heap then. */
export interface MiddleMemory {
  /** The child's name: forwarder, toolgate, toolgate-redis, toolgate-wasm. */
  name: string;
  idleRssMb: number;
  /** ru_maxrss at the end of the load (the kernel's high-water mark over the process's life). */
  peakRssMb: number;
  /** process.memoryUsage() at the end of the load, bytes, no GC forced. */
  end: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

/** One figure of issue 15, as this run measured it. */
export interface Figure {
  figure: string;
  goal: string;
  value: string;
  /** met / missed against the goal; reported when the figure has no goal; not run; inconclusive. */
  verdict: string;
}

const RSS_GOAL_MB = 120;
/** What each middle process is, in the memory rows. */
const MIDDLE_LABELS: Record<string, string> = {
  forwarder: 'bare forwarder',
  toolgate: 'toolgate (default config)',
  'toolgate-redis': 'toolgate, Redis task store',
  'toolgate-wasm': 'toolgate, fastPath: false',
};

/** What sets each topology of the high-rate shed rows apart from toolgate-uncached. */
const SHED_NOTES: Record<string, string> = { 'toolgate-uncached-wasm': ' (fast path off)', 'toolgate-args': ' (payload-aware, decided on its arguments)' };
/** toolgate-args calls Tool/Call; its baselines (direct, forwarder) call Echo Unary of the same size. */
const echoBaseline = (topology: string): string => (topology === 'toolgate-args' ? ' (Echo Unary)' : '');
const f = (n: number | undefined, digits = 0): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '–');
const quotient = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
const times = (q: number | undefined): string => (q !== undefined && Number.isFinite(q) ? `${q.toFixed(2)}×` : '–');

function judge(value: number | undefined, goal: { atMost?: number; atLeast?: number }): string {
  if (value === undefined || !Number.isFinite(value)) return 'not run';
  if (goal.atMost !== undefined) return value <= goal.atMost ? 'met' : 'missed';
  return value >= goal.atLeast! ? 'met' : 'missed';
}

/** "RESOURCE_EXHAUSTED 17, late 2" (why the calls were shed), or "" when none was. */
export function shedReasonsText(r: PhaseResult): string {
  const reasons = Object.entries(r.shedReasons ?? {}).map(([reason, n]) => `${reason} ${n}`);
  const rest = (r.shed ?? 0) - Object.values(r.shedReasons ?? {}).reduce((a, b) => a + b, 0);
  if (rest > 0) reasons.push(`unanswered at the end ${rest}`);
  return reasons.join(', ');
}

/** The topologies whose every call is a Cedar evaluation (a cache miss): the fast path's counters say who made it. */
export function decidedEveryCall(topology: string): boolean {
  return topology.includes('uncached') || topology === 'toolgate-args';
}

/** "the fast path answered N of M cache misses", from the middle's counters over the windows. */
export function fastPathNote(r: PhaseResult | undefined): string {
  const fp = r?.fastPath;
  if (fp === undefined) return '';
  if (fp === 'off') return 'fast path off';
  const misses = fp.answered + fp.leftToCedar;
  return `fast path answered ${fp.answered} of ${misses} cache misses`;
}

/**
 * The figures issue 15 asks for, each beside the bare forwarder (or direct) of the same run,
 * with its goal: CPU per call of the middle process (median over rounds), latency and
 * throughput ratios, calls shed at the high rate, and each middle's memory.
 */
export function issueFigures(results: readonly PhaseResult[], memory: readonly MiddleMemory[], s: BenchSettings): Figure[] {
  const get = (workload: string, topology: string) => results.find((r) => r.workload.name === workload && r.topology === topology);
  const cpu = (r: PhaseResult | undefined) => r?.middle?.cpuMicrosPerCall;
  const figures: Figure[] = [];

  const cpuFigure = (workload: string, topology: string, figure: string, goal: number | undefined, unit = 'µs/call', extra = ''): void => {
    const g = get(workload, topology);
    const fw = get(workload, 'forwarder');
    const q = quotient(cpu(g), cpu(fw));
    const note = [extra, decidedEveryCall(topology) ? fastPathNote(g) : ''].filter((n) => n !== '').join('; ');
    figures.push({
      figure,
      goal: goal === undefined ? '(reported)' : `≤ ${goal.toFixed(2)}×`,
      value: `${times(q)} (${f(cpu(g))} vs ${f(cpu(fw))} ${unit}${note === '' ? '' : `; ${note}`})`,
      verdict: goal === undefined ? (q === undefined ? 'not run' : 'reported') : judge(q, { atMost: goal }),
    });
  };
  const fastPathDefault = (r: PhaseResult | undefined) => (r?.fastPath === 'off' ? 'fast path off by default' : 'fast path on by default');

  cpuFigure('unary-closed', 'toolgate', `Unary, ${s.concurrency} in flight, cached decisions: toolgate CPU/call ÷ forwarder`, 1.3);
  cpuFigure(
    'unary-closed',
    'toolgate-uncached',
    `Unary, ${s.concurrency} in flight, every call a Cedar evaluation (x-task-id varies; ${fastPathDefault(get('unary-closed', 'toolgate-uncached'))}): toolgate-uncached CPU/call ÷ forwarder`,
    1.6,
  );
  {
    // The forwarder on the very same Tool/Call requests, when that topology ran: like for like.
    const g = cpu(get('unary-closed', 'toolgate-args'));
    const fa = cpu(get('unary-closed', 'forwarder-args'));
    cpuFigure(
      'unary-closed',
      'toolgate-args',
      `Unary, ${s.concurrency} in flight, every call decided on its arguments (payload-aware route: Tool/Call, path and size vary): toolgate-args CPU/call ÷ forwarder (Echo Unary)`,
      1.6,
      'µs/call',
      fa === undefined ? '' : `÷ forwarder-args (the same Tool/Call requests, ${f(fa)} µs/call): ${times(quotient(g, fa))}`,
    );
  }
  cpuFigure(
    'unary-closed',
    'toolgate-uncached-wasm',
    `… the same with policyEngine.fastPath: false (every evaluation in cedar-wasm): toolgate-uncached-wasm ÷ forwarder`,
    undefined,
  );
  cpuFigure('unary-open', 'toolgate', `Unary at ${s.rate} calls/s (open loop), cached decisions: toolgate CPU/call ÷ forwarder`, undefined);

  for (const topology of ['toolgate', 'toolgate-uncached', 'toolgate-args']) {
    const g = get('unary-open', topology);
    const d = get('unary-open', 'direct');
    const q = quotient(g?.latency.p50, d?.latency.p50);
    figures.push({
      figure: `Unary at ${s.rate} calls/s (open loop): ${topology} p50 ÷ direct p50${echoBaseline(topology)}`,
      goal: '≤ 1.70×',
      value: `${times(q)} (${f(g?.latency.p50, 2)} vs ${f(d?.latency.p50, 2)} ms)`,
      verdict: judge(q, { atMost: 1.7 }),
    });
  }

  {
    const g = cpu(get('server-stream-closed', 'toolgate'));
    const fw = cpu(get('server-stream-closed', 'forwarder'));
    const n = SERVER_STREAM_MESSAGES;
    cpuFigure(
      'server-stream-closed',
      'toolgate',
      `Server streaming (1 KB → ${n} × 1 KB), ${s.concurrency} in flight: toolgate CPU/stream ÷ forwarder`,
      undefined,
      'µs per stream',
      `per message ${f(g === undefined ? undefined : g / n)} vs ${f(fw === undefined ? undefined : fw / n)} µs`,
    );
  }

  for (const topology of ['toolgate', 'toolgate-uncached', 'toolgate-args']) {
    const g = get('unary-closed', topology);
    const d = get('unary-closed', 'direct');
    const q = quotient(g?.callsPerSecond, d?.callsPerSecond);
    figures.push({
      figure: `Throughput, unary, ${s.concurrency} in flight: ${topology} calls/s ÷ direct${echoBaseline(topology)}`,
      goal: '≥ 0.40×',
      value: `${times(q)} (${f(g?.callsPerSecond)} vs ${f(d?.callsPerSecond)} calls/s)`,
      verdict: judge(q, { atLeast: 0.4 }),
    });
  }

  const shedOf = (topology: string) => get('unary-open-1000', topology);
  const fwShed = shedOf('forwarder')?.shed;
  for (const topology of ['toolgate-uncached', 'toolgate-uncached-wasm', 'toolgate-args']) {
    const g = shedOf(topology);
    const others = ['direct', 'forwarder']
      .map((t) => [t, shedOf(t)?.shed] as const)
      .filter(([, shed]) => shed !== undefined)
      .map(([t, shed]) => `${t} ${shed}`);
    let verdict = 'not run';
    if (g?.shed !== undefined) {
      if (topology !== 'toolgate-uncached') verdict = 'reported';
      else if (fwShed === undefined) verdict = g.shed === 0 ? 'met (forwarder not run)' : 'missed (forwarder not run)';
      else if (fwShed > 0) verdict = `inconclusive: the forwarder shed ${fwShed}`;
      else verdict = g.shed === 0 ? 'met' : 'missed';
    }
    figures.push({
      figure: `Unary at ${s.rateHigh} calls/s, every call a Cedar evaluation: calls shed by ${topology}${SHED_NOTES[topology] ?? ''}`,
      goal: topology === 'toolgate-uncached' ? 'none shed (where the forwarder sheds none)' : '(reported)',
      value:
        g?.shed === undefined
          ? '–'
          : `${g.shed} of ${g.scheduled} shed${g.shed > 0 ? ` (${shedReasonsText(g)})` : ''}, ${f(g.callsPerSecond)} calls/s answered, p50 ${f(g.latency.p50, 2)} ms, p99 ${f(g.latency.p99, 2)} ms` +
            (others.length > 0 ? `; shed by ${others.join(', ')}` : '') +
            (fastPathNote(g) === '' ? '' : `; ${fastPathNote(g)}`),
      verdict,
    });
  }

  for (const m of memory) {
    const reference = m.name === 'forwarder';
    figures.push({
      figure: `Peak RSS under load: ${MIDDLE_LABELS[m.name] ?? m.name}`,
      goal: reference ? '(reference)' : `≤ ${RSS_GOAL_MB} MB`,
      value: `${f(m.peakRssMb)} MB (idle ${f(m.idleRssMb)} MB)`,
      verdict: reference ? 'reported' : judge(m.peakRssMb, { atMost: RSS_GOAL_MB }),
    });
  }
  return figures;
}

/** V8's heap in each toolgate at the end of the load, in a sentence. */
export function heapNote(memory: readonly MiddleMemory[]): string {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const parts = memory
    .filter((m) => m.name !== 'forwarder')
    .map(
      (m) =>
        `${m.name}: heapUsed ${mb(m.end.heapUsed)} MB of heapTotal ${mb(m.end.heapTotal)} MB, external ${mb(m.end.external)} MB (of which arrayBuffers ${mb(m.end.arrayBuffers)} MB)`,
    );
  return parts.length === 0 ? '' : `V8 memory at the end of the load (process.memoryUsage(), no GC forced): ${parts.join('; ')}.`;
}
