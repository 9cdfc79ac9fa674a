import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentFetch } from '../../src/server/mtls-fetch';
import { McpUpstreamAgent } from '../../src/server/mcp-upstream-agent';
import { SpiffeId } from '../../src/spiffe/id';
import type { X509TlsSource } from '../../src/spiffe/tls/secure-context-cache';
import type { BenchChild } from './bench-child';
import { MCP_ECHO_TOOL } from './deployment';
import { LatencyRecorder, type LatencySummary } from './latency-recorder';
import { CostAccumulator, type ProcessCost } from './phase-result';
import type { BenchSettings } from './settings';

/** One way to reach the MCP upstream: direct (client → server) or through toolgate's /mcp/<upstream>. */
export interface McpTopology {
  readonly name: 'direct' | 'toolgate';
  /** The Streamable HTTP endpoint the client posts to. */
  readonly url: URL;
  /** The SPIFFE ID the client accepts at that endpoint. */
  readonly serverId: string;
  /** The process between client and server (toolgate), undefined for direct. */
  readonly middle: BenchChild | undefined;
}

export interface McpResult {
  readonly topology: string;
  readonly calls: number;
  readonly callsPerSecond: number;
  readonly errors: number;
  readonly latency: LatencySummary;
  readonly middle: ProcessCost | undefined;
  readonly upstream: ProcessCost;
}

export const MCP_WORKLOAD = 'mcp-closed';
export const MCP_WORKLOAD_TITLE = 'MCP tools/call, 1 KB text ↔ 1 KB text, closed loop';

/**
 * The MCP workload: the official SDK client calling one tool of an SDK `McpServer`, direct
 * and through toolgate, in the same run, rounds interleaved as the gRPC workloads are. Each
 * call is one HTTP/1.1 POST over mTLS (keep-alive connections, as many as calls in flight);
 * through toolgate it is parsed strictly, decided by Cedar (cached after the first), logged,
 * re-serialized and relayed over the gateway's own mTLS connection to the server.
 */
export async function runMcpWorkload(source: X509TlsSource, topologies: McpTopology[], upstream: BenchChild, settings: BenchSettings): Promise<McpResult[]> {
  const argument = 'x'.repeat(settings.payloadBytes);
  const connected = await Promise.all(topologies.map(async (t) => ({ t, ...(await connect(source, t)) })));
  try {
    for (const c of connected) {
      const check = await c.client.callTool({ name: MCP_ECHO_TOOL, arguments: { text: argument } });
      if ((check.content as Array<{ text?: string }>)[0]?.text?.length !== settings.payloadBytes) throw new Error(`mcp ${c.t.name}: unexpected answer to the check call`);
    }
    const acc = new Map(topologies.map((t) => [t.name, { latency: new LatencyRecorder(), middle: new CostAccumulator(), upstream: new CostAccumulator(), seconds: 0 }]));
    for (const c of connected) await load(c.client, argument, settings.concurrency, 3 * settings.warmupSeconds * 1000, new LatencyRecorder());
    for (let round = 1; round <= settings.rounds; round++) {
      for (const c of connected) {
        const a = acc.get(c.t.name)!;
        await load(c.client, argument, settings.concurrency, (round === 1 ? settings.warmupSeconds : settings.warmupSeconds / 2) * 1000, new LatencyRecorder());
        const before = { upstream: await upstream.sample(), middle: await c.t.middle?.sample() };
        const countBefore = a.latency.count;
        const started = performance.now();
        await load(c.client, argument, settings.concurrency, settings.durationSeconds * 1000, a.latency);
        const seconds = (performance.now() - started) / 1000;
        const calls = a.latency.count - countBefore;
        a.seconds += seconds;
        a.upstream.add(before.upstream, await upstream.sample(), calls, seconds);
        if (c.t.middle && before.middle) a.middle.add(before.middle, await c.t.middle.sample(), calls, seconds);
      }
    }
    return topologies.map((t) => {
      const a = acc.get(t.name)!;
      const latency = a.latency.summary();
      return {
        topology: t.name,
        calls: latency.count,
        callsPerSecond: latency.count / a.seconds,
        errors: a.latency.errors,
        latency,
        middle: t.middle ? a.middle.cost() : undefined,
        upstream: a.upstream.cost(),
      };
    });
  } finally {
    for (const c of connected) {
      await c.client.close().catch(() => {});
      c.agent.destroy();
    }
  }
}

async function connect(source: X509TlsSource, t: McpTopology): Promise<{ client: Client; agent: McpUpstreamAgent }> {
  // The agent the gateway itself reaches https MCP upstreams with: keep-alive, SVID presented, the server's SPIFFE ID checked.
  const agent = new McpUpstreamAgent(source, SpiffeId.parse(t.serverId));
  const client = new Client({ name: `bench-${t.name}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(t.url, { fetch: agentFetch(agent) }));
  return { client, agent };
}

/** `concurrency` callers, each calling the tool back to back until `ms` have passed; latencies into `recorder`. */
async function load(client: Client, text: string, concurrency: number, ms: number, recorder: LatencyRecorder): Promise<void> {
  const end = performance.now() + ms;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await client.callTool({ name: MCP_ECHO_TOOL, arguments: { text } });
        if (performance.now() <= end) recorder.record(performance.now() - t0);
      } catch {
        recorder.errors++;
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
}

/** The console lines of the MCP workload. */
export function mcpConsoleLines(results: McpResult[]): string[] {
  return results.map(
    (r) =>
      `  ${MCP_WORKLOAD.padEnd(13)} ${r.topology.padEnd(17)} ${r.callsPerSecond.toFixed(0).padStart(6)} calls/s  p50 ${r.latency.p50.toFixed(2)} ms  p99 ${r.latency.p99.toFixed(2)} ms` +
      (r.middle ? `  middle ${r.middle.cpuMicrosPerCall.toFixed(0)} µs/call` : '') +
      `  upstream ${r.upstream.cpuMicrosPerCall.toFixed(0)} µs/call` +
      (r.errors ? `  ${r.errors} errors` : ''),
  );
}

/** The RESULTS.md section of the MCP workload. */
export function mcpMarkdown(results: McpResult[], settings: BenchSettings): string {
  const direct = results.find((r) => r.topology === 'direct');
  const gateway = results.find((r) => r.topology === 'toolgate');
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
  const f = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
  const rows = results.map(
    (r) =>
      `| ${r.topology} | ${f(r.callsPerSecond, 0)} | ${f(r.latency.p50)} | ${f(r.latency.p99)} | ${r.middle ? f(r.middle.cpuMicrosPerCall, 0) : '–'} | ${f(r.upstream.cpuMicrosPerCall, 0)} | ${r.errors} |`,
  );
  return [
    `## MCP: a tool call direct vs through toolgate`,
    '',
    `${MCP_WORKLOAD_TITLE}, measured in the same run as the gRPC workloads (bench/relay/mcp-workload.ts). The official`,
    'MCP SDK client (in the parent) calls the one tool of an SDK `McpServer` (its own child process, Streamable HTTP,',
    'stateless, JSON answers, over SPIFFE mTLS and HTTP/1.1), each call one POST on keep-alive connections,',
    `${settings.concurrency} calls in flight, ${settings.rounds} rounds of ${settings.durationSeconds} s interleaved between the topologies:`,
    '',
    '- **direct**: client → MCP server (mTLS)',
    "- **toolgate**: client → toolgate `/mcp/echo-mcp` (mTLS) → MCP server (mTLS, the gateway's SVID, the server's SPIFFE ID checked):",
    '  the body parsed strictly, a Cedar decision (cached after the first) and a decision log line per call,',
    '  the canonical re-serialization relayed',
    '',
    '| topology | calls/s | p50 ms | p99 ms | toolgate CPU µs/call | MCP server CPU µs/call | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `toolgate p50 ÷ direct: ${ratio(gateway?.latency.p50, direct?.latency.p50)}; p99 ÷ direct: ${ratio(gateway?.latency.p99, direct?.latency.p99)};` +
      ` throughput ÷ direct: ${ratio(gateway?.callsPerSecond, direct?.callsPerSecond)}. The MCP server's own cost per call (an SDK server built per request) is in both.`,
  ].join('\n');
}
