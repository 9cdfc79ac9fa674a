import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { RunInfo } from './report';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileInput {
  file: string;
  /** Calls answered in the profiled window. */
  calls: number;
  /** The process's measured CPU (process.cpuUsage) per call over the same window, µs. */
  cpuMicrosPerCall: number;
  /** Cores busy outside the bench's processes during the window. */
  foreignCores: number;
  label: string;
}

interface Analysis {
  input: ProfileInput;
  busyMicros: number;
  idleMicros: number;
  selfByFunction: Map<string, number>;
  inclusiveByFunction: Map<string, number>;
  byCategory: Map<string, number>;
}

const TOP = 25;

/** Where a frame's code lives, coarse enough to compare two processes. */
function category(frame: CallFrame): string | undefined {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8/native (program)';
    if (functionName === '(idle)' || functionName === '(root)') return functionName;
    return undefined; // a builtin: charged to its caller's category
  }
  if (url.startsWith('wasm://')) return 'cedar-wasm: wasm code';
  if (url.includes('cedar-wasm')) return 'cedar-wasm: JS glue';
  if (/\/node_modules\/(pino|sonic-boom|thread-stream|on-exit-leak-free|fast-redact|quick-format-unescaped|safe-stable-stringify)/.test(url)) return 'pino (decision log)';
  if (url.includes('/node_modules/prom-client/')) return 'prom-client (metrics)';
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return `npm: ${m[1]}`;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `toolgate src/${src[1]}`;
  if (url.includes('/bench/')) return 'bench probe';
  const node = /^node:(?:internal\/)?([a-z0-9_]+)/.exec(url);
  if (node) {
    const mod = node[1]!;
    if (mod === 'http2') return 'node: http2';
    if (mod === 'tls' || mod === '_tls_wrap' || mod === '_tls_common') return 'node: tls';
    if (mod === 'streams' || mod === 'stream' || mod === '_stream_readable' || mod === '_stream_writable') return 'node: streams';
    if (mod === 'net' || mod === 'stream_base_commons') return 'node: net';
    if (mod === 'timers' || mod === 'process' || mod === 'events' || mod === 'async_hooks') return 'node: events/timers/ticks';
    return `node: ${mod}`;
  }
  return 'other';
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const url = frame.url.replace(/^file:\/\//, '');
  const short = url.includes('/node_modules/')
    ? url.slice(url.lastIndexOf('/node_modules/') + 14)
    : url.includes('/src/')
      ? url.slice(url.lastIndexOf('/src/') + 1)
      : basename(url);
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

function analyze(input: ProfileInput): Analysis {
  const profile = JSON.parse(readFileSync(input.file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i + 1]!);
  }
  const a: Analysis = { input, busyMicros: 0, idleMicros: 0, selfByFunction: new Map(), inclusiveByFunction: new Map(), byCategory: new Map() };
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      a.idleMicros += micros;
      continue;
    }
    a.busyMicros += micros;
    add(a.selfByFunction, functionKey(node.callFrame), micros);
    // Category: the frame's own, or for a builtin its nearest caller's.
    let cat: string | undefined;
    for (let n: number | undefined = id; n !== undefined && cat === undefined; n = parent.get(n)) cat = category(byId.get(n)!.callFrame);
    add(a.byCategory, cat ?? 'other', micros);
    // Inclusive: each distinct function on the stack once (recursion counted once).
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const frame = byId.get(n)!.callFrame;
      if (frame.url === '' && frame.functionName.startsWith('(')) continue;
      const key = functionKey(frame);
      if (!seen.has(key)) {
        seen.add(key);
        add(a.inclusiveByFunction, key, micros);
      }
    }
  }
  return a;
}

const us = (micros: number, calls: number) => (micros / calls).toFixed(1);
/** A sampled share of the busy time, scaled to the measured CPU per call. */
const est = (micros: number, a: Analysis) => ((micros / a.busyMicros) * a.input.cpuMicrosPerCall).toFixed(1);
const pct = (micros: number, total: number) => `${((100 * micros) / total).toFixed(1)}%`;

function sorted(m: Map<string, number>): Array<[string, number]> {
  return [...m].sort((x, y) => y[1] - x[1]);
}

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Interesting inclusive entries: toolgate's own code and the libraries it calls per request. */
function isInteresting(key: string): boolean {
  return /\ssrc\/|cedar-wasm|pino|sonic-boom|prom-client/.test(key);
}

export function summarizeProfiles(inputs: readonly ProfileInput[], info: Pick<RunInfo, 'date' | 'cpus' | 'node' | 'settings'>): { text: string; markdown: string } {
  const analyses = inputs.map(analyze);
  const md: string[] = [
    '# Where the middle process spends its CPU (sampling profiles)',
    '',
    `Generated by \`npm run bench:profile\` on ${info.date} (${info.cpus} cores, node ${info.node}): a V8 CPU profile`,
    `(in-process inspector, ${info.settings.profileIntervalMicros} µs sampling) of the middle process over exactly each measured window.`,
    'Main-thread JS and native time only: libuv worker threads (the async log writes) and',
    "V8's background GC threads are not in a profile, but are in RESULTS.md's CPU. The profiler",
    'itself adds overhead, so compare shares and differences, not absolute numbers with RESULTS.md.',
    'On a loaded machine, wall-clock sampling also charges time the process spent descheduled,',
    "so a profile's sampled total can exceed its real CPU. Hence **≈µs/call = the item's share of",
    "the sampled busy time × the process's measured CPU per call** (process.cpuUsage over the same",
    "window, all threads). Builtins (JSON.stringify, …) are charged to their caller's category.",
  ];
  const text: string[] = [];

  // Category comparison: toolgate minus forwarder for each workload profiled for both.
  const workloadOf = (a: Analysis) =>
    basename(a.input.file)
      .replace(/^(forwarder|toolgate-uncached|toolgate)-/, '')
      .replace('.cpuprofile', '');
  const topologyOf = (a: Analysis) => basename(a.input.file).replace(/-(unary|stream)-(closed|open)\.cpuprofile$/, '');
  for (const w of [...new Set(analyses.map(workloadOf))]) {
    const set = analyses.filter((a) => workloadOf(a) === w);
    if (set.length < 2) continue;
    const cats = [...new Set(set.flatMap((a) => [...a.byCategory.keys()]))];
    const total = (c: string) => Math.max(...set.map((a) => ((a.byCategory.get(c) ?? 0) / a.busyMicros) * a.input.cpuMicrosPerCall));
    cats.sort((x, y) => total(y) - total(x));
    // Deltas against the forwarder (the floor), when it was profiled too.
    const floor = set.find((a) => topologyOf(a) === 'forwarder');
    const others = floor ? set.filter((a) => a !== floor) : [];
    const perCall = (a: Analysis, c: string) => ((a.byCategory.get(c) ?? 0) / a.busyMicros) * a.input.cpuMicrosPerCall;
    const delta = (a: Analysis, c: string) => (perCall(a, c) - perCall(floor!, c)).toFixed(1);
    const rows = cats.filter((c) => total(c) >= 0.5).map((c) => [c, ...set.map((a) => est(a.byCategory.get(c) ?? 0, a)), ...others.map((a) => delta(a, c))]);
    rows.push([
      '**measured CPU/call**',
      ...set.map((a) => `**${a.input.cpuMicrosPerCall.toFixed(1)}**`),
      ...others.map((a) => `**${(a.input.cpuMicrosPerCall - floor!.input.cpuMicrosPerCall).toFixed(1)}**`),
    ]);
    rows.push(['sampled busy µs/call', ...set.map((a) => us(a.busyMicros, a.input.calls)), ...others.map(() => '')]);
    rows.push(['other load during window (cores)', ...set.map((a) => a.input.foreignCores.toFixed(2)), ...others.map(() => '')]);
    const header = ['category', ...set.map(topologyOf), ...others.map((a) => `${topologyOf(a)} − forwarder`)];
    md.push('', `## ${w}: ≈µs per call by category (categories under 0.5 µs left out)`, '', mdTable(header, rows));
    text.push('', `${w}: ≈µs/call by category (${set.map(topologyOf).join(' | ')})`);
    for (const r of rows)
      text.push(
        `  ${r[0]!.replace(/\*/g, '').padEnd(34)} ${r
          .slice(1)
          .map((v) => v.replace(/\*/g, '').padStart(8))
          .join(' ')}`,
      );
  }

  for (const a of analyses) {
    const calls = a.input.calls;
    const selfRows = sorted(a.selfByFunction)
      .slice(0, TOP)
      .map(([k, v]) => [`\`${k}\``, est(v, a), pct(v, a.busyMicros)]);
    const inclRows = sorted(a.inclusiveByFunction)
      .filter(([k]) => isInteresting(k))
      .slice(0, TOP)
      .map(([k, v]) => [`\`${k}\``, est(v, a), pct(v, a.busyMicros)]);
    md.push(
      '',
      `## ${a.input.label}`,
      '',
      `${calls} calls; measured CPU ${a.input.cpuMicrosPerCall.toFixed(1)} µs/call; sampled busy ${us(a.busyMicros, calls)} µs/call (idle ${pct(a.idleMicros, a.idleMicros + a.busyMicros)} of the window); other load ${a.input.foreignCores.toFixed(2)} cores.`,
      '',
      `Top ${TOP} functions by self time:`,
      '',
      mdTable(['function', '≈µs/call', 'share of busy'], selfRows),
    );
    if (inclRows.length > 0)
      md.push('', 'toolgate and its per-call libraries, inclusive time (callees included):', '', mdTable(['function', '≈µs/call', 'share of busy'], inclRows));
    text.push('', `${a.input.label}: measured ${a.input.cpuMicrosPerCall.toFixed(1)} µs/call; top self time (≈µs/call, share):`);
    for (const [k, v] of sorted(a.selfByFunction).slice(0, 15)) text.push(`  ${est(v, a).padStart(7)} µs  ${pct(v, a.busyMicros).padStart(6)}  ${k}`);
  }
  return { text: text.join('\n'), markdown: `${md.join('\n')}\n` };
}
