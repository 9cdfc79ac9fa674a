import { microMarkdown, type MicroReport } from '../micro/credentials.bench';
import { SERVER_STREAM_MESSAGES } from './echo-service';
import { decidedEveryCall, fastPathNote, heapNote, issueFigures, shedReasonsText, type MiddleMemory } from './headline';
import type { Workload } from './load-generator';
import type { PhaseResult } from './phase-result';
import type { IdleCost } from './phase-runner';
import type { BenchSettings } from './settings';

export interface RunInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  node: string;
  loadAverage: readonly number[];
  totalSeconds: number;
  policies: number;
  decisionLog: string;
  settings: BenchSettings;
  /** The node flags every middle process ran with (node-flags.ts). */
  nodeFlags: readonly string[];
  /** Each middle's CPU and RSS with no load, after the warm-up. */
  idle: ReadonlyMap<string, IdleCost>;
  /** Each middle's memory: idle, peak, V8 heap at the end. */
  memory: readonly MiddleMemory[];
  /** The credentials micro-benchmark, when it ran. */
  micro?: MicroReport | undefined;
}

export const TOPOLOGY_NOTES: Record<string, string> = {
  direct: 'client → upstream (mTLS)',
  forwarder: 'client → bare node:http2 forwarder → upstream (mTLS both sides, bytes piped, no auth)',
  'forwarder-args':
    'as forwarder (same process and connection), with the unary calls of toolgate-args (the same Tool/Call requests, which it pipes as bytes): its like-for-like baseline',
  toolgate: 'client → toolgate → upstream (Cedar + decision log on; same principal/action/context on every call, so decisions come from the decision cache after the first)',
  'toolgate-uncached':
    'as toolgate (same process, its config setting no policyEngine.fastPath, so the fast path is as the default has it), but every unary call carries a new x-task-id, which a policy reads: every decision is a Cedar evaluation (cache miss), by the fast path when it is on and sure of the answer, else by cedar-wasm',
  'toolgate-uncached-wasm': 'as toolgate-uncached, on a second toolgate process whose config says policyEngine.fastPath: false (same policies): every decision through cedar-wasm',
  'toolgate-args':
    'issue 15\'s "every call a Cedar evaluation (arguments vary)" on a payload-aware route: the same toolgate process, unary calls to a second service of the same upstream, `bench.v1.Tool/Call`, whose upstream entry has `protos`. ' +
    'The gateway decodes each request (a CallRequest `{ path, size, data }`) exactly, decides on `context.request` (a permit reads `path` and `size`, a forbid checked against every call reads `path`) and relays its own re-encoding of the message (docs/payload-exactness.md). ' +
    'The load client cycles through 20 000 pre-built, hand-encoded requests (path `/data/<n>`, size n, `data` padding the message to the payload size; no protobuf library in the client or the upstream), more than the decision cache holds (10 000): every decision misses the cache and is evaluated on the arguments. ' +
    "Such a unary call is decided on its one message before the upstream call opens, and its half-close is relayed as soon as it arrives: it skips the barrier a header-only unary call pays (a PING round trip on the caller's connection, shared by the calls waiting on it, before the half-close is relayed: src/relay/relay-call.ts `forwardRequest`, `singleRequest`). " +
    'Its headline baselines are the Echo Unary calls of the same size and workload, as for the other topologies; forwarder-args sends the bare forwarder the same Tool/Call requests (a byte pipe whatever the method), and the ratios list toolgate-args against it too',
  'toolgate+task':
    "as toolgate (same process), but every unary call carries a task token (x-toolgate-task) from one task begun at setup with BeginTask over the load client's own mTLS identity (tools: the echo service, TTL 1 h, budget 10⁹ calls, no concurrency cap): each call is verified (cached token), counted in the memory task store and released; no policy reads context.task, so decisions stay cached",
  'toolgate+task (redis)':
    "as toolgate+task, in a second toolgate process whose task store is a redis-server (Unix socket, started by the bench): consume is a Lua script round trip, release a ZREM; the redis-server's own CPU is reported separately",
};
/** The toolgate topologies, in report order. */
const GATEWAY_TOPOLOGIES = ['toolgate', 'toolgate-uncached', 'toolgate-uncached-wasm', 'toolgate-args', 'toolgate+task', 'toolgate+task (redis)'];
const TASK_TOPOLOGIES = ['toolgate+task', 'toolgate+task (redis)'];
/** Issue 15's CPU goals, where it sets one (headline.ts judges them). */
const CPU_TARGETS: Record<string, string> = { toolgate: ' (target ≤ 1.30×)', 'toolgate-uncached': ' (target ≤ 1.60×)', 'toolgate-args': ' (target ≤ 1.60×)' };

const f = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;

const COLUMNS = [
  'topology',
  'calls/s',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'middle CPU µs/call (median)',
  '(rounds)',
  '(pooled)',
  '(user/sys)',
  'middle cores',
  'middle RSS MB (peak)',
  'upstream CPU µs/call',
  'client CPU µs/call',
  'other load (cores)',
  'errors',
];

function row(r: PhaseResult): string[] {
  const m = r.middle;
  return [
    r.topology,
    r.workload.mode === 'open' && r.callsPerSecond < 0.95 * r.rate ? `${f(r.callsPerSecond)} (saturated)` : f(r.callsPerSecond),
    f(r.latency.p50, 2),
    f(r.latency.p90, 2),
    f(r.latency.p99, 2),
    m ? f(m.cpuMicrosPerCall) : '–',
    m ? m.roundMicrosPerCall.map((v) => f(v)).join(', ') : '–',
    m ? f(m.pooledMicrosPerCall) : '–',
    m ? `${f(m.userMicrosPerCall)}/${f(m.systemMicrosPerCall)}` : '–',
    m ? f(m.cores, 2) : '–',
    m ? `${f(m.rssMb)} (${f(m.peakRssMb)})` : '–',
    f(r.upstream.cpuMicrosPerCall),
    f(r.client.cpuMicrosPerCall),
    f(r.foreignCores, 2),
    r.dropped > 0 ? `${r.errors} (+${r.dropped} not sent)` : String(r.errors),
  ];
}

/**
 * "Tasks and call credentials": the toolgate topologies side by side for the unary workloads
 * (every toolgate call mints a call token; the task topologies add the task checks), as
 * differences from toolgate and ratios against direct and the forwarder of the same run.
 */
function tasksSection(results: readonly PhaseResult[], info: RunInfo): string {
  const header = [
    'workload',
    'topology',
    'middle CPU µs/call',
    '− toolgate µs',
    '− forwarder µs',
    'CPU ÷ forwarder',
    'p50 ms',
    'p50 − toolgate ms',
    'p50 ÷ direct',
    'p99 ÷ direct',
    'calls/s ÷ direct',
    'redis-server CPU µs/call',
    'errors',
  ];
  const rows: string[][] = [];
  for (const w of workloadsOf(results)) {
    if (w.kind !== 'unary') continue;
    const rs = results.filter((r) => r.workload.name === w.name);
    const by = (t: string) => rs.find((r) => r.topology === t);
    const d = by('direct');
    const fw = by('forwarder');
    const tg = by('toolgate');
    for (const t of ['toolgate', ...TASK_TOPOLOGIES]) {
      const g = by(t);
      if (!g) continue;
      const cpu = g.middle?.cpuMicrosPerCall;
      rows.push([
        w.title,
        t,
        f(cpu ?? NaN),
        t === 'toolgate' ? '–' : f((cpu ?? NaN) - (tg?.middle?.cpuMicrosPerCall ?? NaN)),
        f((cpu ?? NaN) - (fw?.middle?.cpuMicrosPerCall ?? NaN)),
        ratio(cpu, fw?.middle?.cpuMicrosPerCall),
        f(g.latency.p50, 2),
        t === 'toolgate' ? '–' : f(g.latency.p50 - (tg?.latency.p50 ?? NaN), 2),
        ratio(g.latency.p50, d?.latency.p50),
        ratio(g.latency.p99, d?.latency.p99),
        w.mode === 'closed' ? ratio(g.callsPerSecond, d?.callsPerSecond) : '–',
        g.sideCpuMicrosPerCall === undefined ? '–' : f(g.sideCpuMicrosPerCall),
        String(g.errors),
      ]);
    }
  }
  const micro = info.micro;
  return `## Tasks and call credentials

Every relayed call carries a per-call ES256 JWT (src/credentials/call-token.ts), signed once per
claim set every \`credentials.upstreamTokenReuseSeconds\` (5 s by default) and reused in between
(src/credentials/call-token-cache.ts), so **every toolgate column above includes it**; the
micro-benchmark below isolates a signature and a reuse.
The task topologies add, per call, the task-token check (cached after the first call), the
store's consume (the bench's task has no concurrency cap, so no release after the call), on the same gateway and policies, unary only (a
stream's task checks run once, when it opens). Measured in the same run and rounds as the rest;
the noise caveats above apply (differences of a few tens of µs per call are within the
round-to-round spread: see each topology's "(rounds)" column in Results).

${rows.length ? mdTable(header, rows) : '(no task topology was run)'}

### Per operation (micro-benchmark)

${
  micro
    ? `bench/micro/credentials.bench.ts, in its own process after the relay phases (node ${micro.node}; ${micro.rounds} rounds, each
operation alternating with its baseline, ~${micro.roundMs} ms per side and round; µs/op is the median over
rounds of wall time ÷ operations, one operation at a time unless stated; CPU columns are pooled
over rounds; the redis-server is a fresh one on a Unix socket). Run alone with
\`npm run bench:build && node bench/dist/bench/micro/credentials.bench.js\`.

${microMarkdown(micro)}`
    : '(not run: BENCH_MICRO=0)'
}`;
}

export function workloadsOf(results: readonly PhaseResult[]): Workload[] {
  return [...new Map(results.map((r) => [r.workload.name, r.workload])).values()];
}

/** The ratios the issue asks for, per workload. */
export function ratios(rs: readonly PhaseResult[]): Array<[string, string]> {
  const by = (t: string) => rs.find((r) => r.topology === t);
  const d = by('direct');
  const fw = by('forwarder');
  const out: Array<[string, string]> = [];
  for (const t of GATEWAY_TOPOLOGIES) {
    const g = by(t);
    if (!g) continue;
    out.push([`${t} CPU/call ÷ forwarder CPU/call${CPU_TARGETS[t] ?? ''}`, ratio(g.middle?.cpuMicrosPerCall, fw?.middle?.cpuMicrosPerCall)]);
    if (g.middle && fw?.middle) out.push([`${t} CPU/call − forwarder CPU/call`, `${f(g.middle.cpuMicrosPerCall - fw.middle.cpuMicrosPerCall)} µs`]);
    out.push([`${t} p50 ÷ direct p50`, ratio(g.latency.p50, d?.latency.p50)]);
    out.push([`${t} p99 ÷ direct p99`, ratio(g.latency.p99, d?.latency.p99)]);
    out.push([`${t} p50 ÷ forwarder p50`, ratio(g.latency.p50, fw?.latency.p50)]);
    if (g.workload.mode === 'closed') out.push([`${t} calls/s ÷ direct calls/s`, ratio(g.callsPerSecond, d?.callsPerSecond)]);
    const fa = t === 'toolgate-args' ? by('forwarder-args') : undefined;
    if (fa) out.push([`${t} CPU/call ÷ forwarder-args CPU/call (the same Tool/Call requests)`, ratio(g.middle?.cpuMicrosPerCall, fa.middle?.cpuMicrosPerCall)]);
    if (decidedEveryCall(t) && fastPathNote(g) !== '') out.push([`${t} policy engine`, fastPathNote(g)]);
  }
  for (const r of rs)
    if (r.shed !== undefined)
      out.push([
        `${r.topology} calls shed (scheduled in a window, not answered OK by its end + grace)`,
        `${r.shed} of ${r.scheduled}${r.shed! > 0 ? ` (${shedReasonsText(r)})` : ''}`,
      ]);
  if (rs[0]?.workload.kind === 'server-stream') {
    for (const r of rs) if (r.middle) out.push([`${r.topology} CPU per message (÷ ${SERVER_STREAM_MESSAGES})`, `${f(r.middle.cpuMicrosPerCall / SERVER_STREAM_MESSAGES)} µs`]);
  }
  out.push(['forwarder p50 ÷ direct p50', ratio(fw?.latency.p50, d?.latency.p50)]);
  out.push(['forwarder p99 ÷ direct p99', ratio(fw?.latency.p99, d?.latency.p99)]);
  if (fw?.workload.mode === 'closed') out.push(['forwarder calls/s ÷ direct calls/s', ratio(fw.callsPerSecond, d?.callsPerSecond)]);
  return out;
}

export function consoleReport(results: readonly PhaseResult[]): string {
  const lines: string[] = [];
  for (const w of workloadsOf(results)) {
    const rs = results.filter((r) => r.workload.name === w.name);
    lines.push('', `${w.title}`);
    const table = [COLUMNS, ...rs.map(row)];
    const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table) lines.push('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    for (const [k, v] of ratios(rs)) lines.push(`    ${k}: ${v}`);
  }
  return lines.join('\n');
}

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const FIGURE_COLUMNS = ['figure (issue 15)', 'goal', 'this run', 'verdict'];

/** Issue 15's figures, for the console. */
export function headlineConsole(results: readonly PhaseResult[], info: RunInfo): string {
  const figures = issueFigures(results, info.memory, info.settings);
  const heap = heapNote(info.memory);
  return ['Issue 15 figures (this run):', ...figures.map((x) => `  [${x.verdict}] ${x.figure} (goal ${x.goal}): ${x.value}`), ...(heap === '' ? [] : [`  ${heap}`])].join('\n');
}

export function markdownReport(results: readonly PhaseResult[], info: RunInfo, decisionLogSummary: string): string {
  const s = info.settings;
  const idle = (name: string) => info.idle.get(name)?.microsPerSecond ?? NaN;
  const idleRss = (name: string) => info.idle.get(name)?.rssMb ?? NaN;
  const workloads = workloadsOf(results);
  const foreign = results.reduce((sum, r) => sum + r.foreignCores * r.seconds, 0) / results.reduce((sum, r) => sum + r.seconds, 0);
  const headline = workloads.map((w) => {
    const rs = results.filter((r) => r.workload.name === w.name);
    const get = (label: string) => ratios(rs).find(([k]) => k.startsWith(label))?.[1] ?? '–';
    return [
      w.title,
      get('toolgate CPU/call ÷'),
      get('toolgate-uncached CPU/call ÷'),
      get('toolgate-uncached-wasm CPU/call ÷'),
      get('toolgate-args CPU/call ÷'),
      get('toolgate p50 ÷ direct'),
      get('toolgate p99 ÷ direct'),
      get('forwarder p50 ÷ direct'),
    ];
  });
  const figures = issueFigures(results, info.memory, s);
  const sections = workloads.map((w) => {
    const rs = results.filter((r) => r.workload.name === w.name);
    return `### ${w.title}

${mdTable(COLUMNS, rs.map(row))}

${ratios(rs)
  .map(([k, v]) => `- ${k}: **${v}**`)
  .join('\n')}`;
  });
  return `# Relay overhead: direct vs bare forwarder vs toolgate

Generated by \`npm run bench\` (bench/relay/). **One run on a noisy ${info.cpus}-core machine**: the
load client, the middle process and the upstream share ${info.cpus} cores, so treat differences under
~10–15% as noise and rerun before drawing conclusions. Ratios are computed within this run, where
all topologies saw the same machine state (the phases of each workload run back to back).

## Headline

Issue 15's figures, each beside the bare forwarder (or direct) of this run. CPU is the middle
process's CPU per call (median over rounds); "met"/"missed" compares this run's value with the goal.

${mdTable(
  FIGURE_COLUMNS,
  figures.map((x) => [x.figure, x.goal, x.value, x.verdict]),
)}

${heapNote(info.memory)}

## Machine

- date: ${info.date}
- cores (nproc): ${info.cpus} × ${info.cpuModel}
- node: ${info.node}
- load average at start: ${info.loadAverage.map((l) => l.toFixed(2)).join(', ')}
- other work on the machine during the measured windows: ${f(foreign, 2)} cores on average (of ${info.cpus})
- whole bench run: ${f(info.totalSeconds)} s

## Ratios per workload

${mdTable(
  [
    'workload',
    'toolgate CPU ÷ forwarder',
    'uncached CPU ÷ forwarder',
    'uncached, fastPath: false, CPU ÷ forwarder',
    'args (payload-aware) CPU ÷ forwarder',
    'toolgate p50 ÷ direct',
    'toolgate p99 ÷ direct',
    'forwarder p50 ÷ direct',
  ],
  headline,
)}

## Method

- Topologies, measured in the same run:
${Object.entries(TOPOLOGY_NOTES)
  .map(([k, v]) => `  - **${k}**: ${v}`)
  .join('\n')}
- Processes: a dev SPIFFE identity provider in the parent serves each process its own Workload API
  socket (real X.509-SVIDs, trust domain example.org). The upstream (grpc-js server, raw Buffer
  (de)serializers, fixed ${s.payloadBytes}-byte answer) and each middle process (the bare forwarder,
  bench/relay/bare-forwarder.ts, and toolgate, started as \`toolgate run\` does: loadConfig +
  Gateway.start) run in their own child processes (child_process.fork). Every middle (forwarder
  and toolgate alike) runs with the node flags \`${info.nodeFlags.join(' ')}\` (bench/relay/node-flags.ts: production's,
  src/cli/node-flags.ts, then BENCH_MIDDLE_NODE_FLAGS). The load client (grpc-js, raw Buffer (de)serializers, one
  HTTP/2 connection per topology) runs in the parent.
- toolgate: ${info.policies} Cedar policies (permits for groups, agents and actions; forbids that
  every call is checked against; policies read principal attributes, \`context.peer\`,
  \`context.metadata["x-task-id"]\` and, for bench.v1.Tool/Call, \`context.request.path\` and \`.size\`; one permits BeginTask for the bench's agents, none reads
  \`context.task\`), an ES256 call token for the upstream on every call (the default
  \`credentials.upstreamTokenReuseSeconds\` 5: signed once per 5 s per claim set, reused in between), identity mapping with 10 rules, metadata allow-list
  [x-task-id], admin/metrics listener on, decision log ON to a file (pino, async), log level warn.
  ${decisionLogSummary}
- Workloads: ${s.payloadBytes}-byte requests and responses. Unary = one call; stream = bidi
  ping-pong, each answered message counted as a call; server stream = one request answered by
  ${SERVER_STREAM_MESSAGES} messages, each whole stream counted as a call (its latency runs to the final status; CPU
  per message is CPU per stream ÷ ${SERVER_STREAM_MESSAGES}). Closed loop: ${s.concurrency} calls (or
  ${s.concurrency} streams with one message each) in flight. Open loop: ${s.rate} calls (messages)/s on
  schedule, spread over ${s.concurrency} streams for the stream workload; the high-rate workload
  ${s.rateHigh} calls/s against direct, the forwarder, the two uncached toolgate topologies and toolgate-args.
- Shed (open-loop unary): of the calls scheduled in a measured window (sent or, with 2000 already
  outstanding, not), those not answered OK by the window's end + ${s.shedGraceMs} ms (the load goes on
  meanwhile), so that calls in flight at the window's edges do not count: errors, calls not sent,
  and the backlog of a target that cannot keep the rate. A toolgate that falls behind sheds by
  itself: past its default \`limits.perCaller.maxConcurrentCalls\` (64 open calls per caller) it
  answers RESOURCE_EXHAUSTED at once; the headline names each shed call's reason.
- Fast path: the policy engine's counters (\`fastPathStats\`: decisions the fast path answered,
  decisions left to cedar-wasm), read from each toolgate over the bench's IPC at the window's
  edges; "fast path off" when the engine has none.
- Memory: idle RSS after the warm-up, before any measured load; peak RSS is the kernel's
  high-water mark (\`process.resourceUsage().maxRSS\`) at the end of all the load (gRPC and MCP
  workloads); V8's heap from \`process.memoryUsage()\` then.
- Rounds: for each workload, ${s.rounds} rounds; each round runs every topology once, one after
  the other (${s.warmupSeconds} s of load to warm up in the first round, ${s.warmupSeconds / 2} s in later
  ones — connections, streams opened — then a ${s.durationSeconds} s measured window). CPU/call is the
  **median over rounds** of each round's CPU/call (the "(rounds)" column lists them, which shows the
  noise; "(pooled)" is total CPU ÷ total calls); throughput and latency percentiles pool the rounds.
  Before the first workload every topology got ${3 * s.warmupSeconds} s of unmeasured unary load (JIT,
  lazy setup).
- Latency: per call, from write to answer, in the parent, for calls completing in a window (sorted
  samples, nearest-rank percentiles). In the open loop it is measured from the actual write (the
  client timer's lateness is not included). CPU: the middle process's \`process.cpuUsage()\`
  (user + system, all threads) read over IPC at the window's edges, divided by the calls answered
  in the window; RSS from \`process.memoryUsage.rss()\` at the end of the last window (peak of a
  100 ms poll during the windows in parentheses). Upstream and client CPU likewise. "other load":
  cores busy on the machine outside the bench's processes during the windows (/proc/stat via
  os.cpus()) — other work on this shared machine, i.e. noise.
- Idle CPU with no load: forwarder ${f(idle('forwarder'))} µs/s, toolgate ${f(idle('toolgate'))} µs/s${info.idle.has('toolgate-redis') ? `, toolgate with the Redis task store ${f(idle('toolgate-redis'))} µs/s` : ''}${info.idle.has('toolgate-wasm') ? `, toolgate with fastPath: false ${f(idle('toolgate-wasm'))} µs/s` : ''} (timers,
  prom-client default metrics, the bench probe's 100 ms RSS poll). At ${s.rate} calls/s that is
  ${f(idle('forwarder') / s.rate)} and ${f(idle('toolgate') / s.rate)} µs of each open-loop call's CPU. At low rates each call
  also pays for its own event-loop wake-ups and syscalls, which closed-loop load batches, so
  open-loop CPU/call is higher than closed-loop CPU/call for every topology. RSS with no load after
  the warm-up: ${info.memory.map((m) => `${m.name} ${f(idleRss(m.name))} MB`).join(', ')}.
- An open-loop cell marked "saturated" did not reach 95% of the target rate: the machine could not
  keep up, and its latencies are queueing, not service time.
- Env knobs: BENCH_WARMUP_S, BENCH_DURATION_S, BENCH_CONCURRENCY, BENCH_RATE, BENCH_RATE_HIGH, BENCH_SHED_GRACE_MS,
  BENCH_MIDDLE_NODE_FLAGS, BENCH_PAYLOAD_BYTES,
  BENCH_WORKLOADS, BENCH_TOPOLOGIES, BENCH_ROUNDS, BENCH_IDLE_S, BENCH_MICRO=0 (skip the micro-benchmark),
  BENCH_MICRO_ROUNDS, BENCH_MICRO_ROUND_MS. \`npm run bench:profile\` profiles the middles instead
  (bench/PROFILE.md).

## Results

${sections.join('\n\n')}

${tasksSection(results, info)}
`;
}
