import * as grpc from '@grpc/grpc-js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const APPENDIX_MARKER = '<!-- appendix: kept when the relay bench rewrites this file -->';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { TasksClient, type BeginTaskReply } from '../../src/tasks/tasks-client';
import { BenchChild } from './bench-child';
import { CLIENT_ID, FORWARDER_ID, GATEWAY_ID, MCP_UPSTREAM, MCP_UPSTREAM_ID, TRUST_DOMAIN, UPSTREAM_ID, writeGatewayDeployment } from './deployment';
import { ECHO_SERVICE, SERVER_STREAM_MESSAGES } from './echo-service';
import { callRequestPool, TOOL_CALL_PATH } from './tool-service';
import type { Workload } from './load-generator';
import { MCP_WORKLOAD, mcpConsoleLines, mcpMarkdown, runMcpWorkload, type McpResult } from './mcp-workload';
import { runMicroBench, type MicroResult } from './micro-runner';
import { median, procCpuMicros, type PhaseResult } from './phase-result';
import { checkCall, idleCost, Phase, warmUp, type Topology } from './phase-runner';
import { middleNodeFlags } from './node-flags';
import { summarizeProfiles, type ProfileInput } from './profile-summary';
import { type MiddleMemory } from './headline';
import { consoleReport, headlineConsole, markdownReport } from './report';
import { redisServerAvailable, startDevRedisServer, type DevRedisServer } from '../../test/support/dev-redis-server';
import { readSettings, type BenchSettings } from './settings';

/** bench/, from bench/dist/bench/relay. */
const BENCH_DIR = resolve(__dirname, '../../..');
const TASK_TOPOLOGY = 'toolgate+task';
const REDIS_TOPOLOGY = 'toolgate+task (redis)';
/** The bench's tasks: an hour (the default tasks.maxTtlSeconds), a call budget no run spends. */
const TASK_TTL_SECONDS = 3600;
const TASK_CALL_BUDGET = 1_000_000_000;

/** The fast-path-off variant: every uncached decision through cedar-wasm, on a second toolgate process. */
const WASM_TOPOLOGY = 'toolgate-uncached-wasm';
/** The payload-aware route: Tool/Call on the main toolgate, decided on each call's own arguments. */
const ARGS_TOPOLOGY = 'toolgate-args';
/** The same Tool/Call requests through the bare forwarder (a byte pipe whatever the method): toolgate-args's like-for-like baseline. */
const FORWARDER_ARGS_TOPOLOGY = 'forwarder-args';

/** The workloads, in run order (BENCH_WORKLOADS picks by name). */
function allWorkloads(s: BenchSettings): Workload[] {
  return [
    { name: 'unary-closed', title: 'Unary 1 KB ↔ 1 KB, closed loop', kind: 'unary', mode: 'closed' },
    { name: 'unary-open', title: `Unary 1 KB ↔ 1 KB, open loop (${s.rate} calls/s)`, kind: 'unary', mode: 'open' },
    {
      name: 'unary-open-1000',
      title: `Unary 1 KB ↔ 1 KB, open loop (${s.rateHigh} calls/s, every toolgate call a Cedar evaluation)`,
      kind: 'unary',
      mode: 'open',
      rate: s.rateHigh,
      topologies: ['direct', 'forwarder', 'toolgate-uncached', WASM_TOPOLOGY, ARGS_TOPOLOGY],
    },
    {
      name: 'server-stream-closed',
      title: `Server stream, 1 KB request → ${SERVER_STREAM_MESSAGES} × 1 KB, closed loop (per stream)`,
      kind: 'server-stream',
      mode: 'closed',
    },
    { name: 'stream-closed', title: 'Bidi stream ping-pong 1 KB, closed loop (per message)', kind: 'stream', mode: 'closed' },
    { name: 'stream-open', title: `Bidi stream ping-pong 1 KB, open loop (${s.rate} messages/s)`, kind: 'stream', mode: 'open' },
  ];
}

async function main(): Promise<void> {
  const settings = readSettings();
  const nodeFlags = middleNodeFlags();
  const started = performance.now();
  const info = { date: new Date().toISOString(), cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? '?', node: process.version, loadAverage: loadavg() };
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-bench-'));
  const provider = await DevIdentityProvider.create({ trustDomain: TRUST_DOMAIN });
  const socket = async (id: string, name: string) => (await provider.serve(id, `unix://${join(dir, `${name}.sock`)}`)).address;
  const children: BenchChild[] = [];
  const sources: X509Source[] = [];
  const clients: grpc.Client[] = [];
  let redis: DevRedisServer | undefined;
  try {
    log(
      `bench: ${info.cpus} cores, node ${info.node}; ${settings.rounds} rounds of ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per topology and workload; middles run with ${nodeFlags.join(' ')}`,
    );
    const upstream = await BenchChild.start('upstream', 'upstream-process.js', {
      env: {
        SPIFFE_ENDPOINT_SOCKET: await socket(UPSTREAM_ID, 'upstream'),
        BENCH_PAYLOAD_BYTES: String(settings.payloadBytes),
        BENCH_UPSTREAM_PEERS: [CLIENT_ID, FORWARDER_ID, GATEWAY_ID].join(','),
      },
    });
    children.push(upstream);
    const upstreamAddress = `127.0.0.1:${upstream.port}`;
    // The MCP workload's upstream: an SDK McpServer over mTLS, relayed by the first toolgate process.
    const runMcp = settings.workloads?.includes(MCP_WORKLOAD) ?? true;
    const mcpUpstream = runMcp
      ? await BenchChild.start('mcp-upstream', 'mcp-upstream-process.js', {
          env: {
            SPIFFE_ENDPOINT_SOCKET: await socket(MCP_UPSTREAM_ID, 'mcp-upstream'),
            BENCH_PAYLOAD_BYTES: String(settings.payloadBytes),
            BENCH_UPSTREAM_PEERS: [CLIENT_ID, GATEWAY_ID].join(','),
          },
        })
      : undefined;
    if (mcpUpstream) children.push(mcpUpstream);
    const mcpUrl = mcpUpstream && `https://localhost:${mcpUpstream.port}/mcp`;
    // The main gateway sets no policyEngine.fastPath: it runs as the default has it.
    const deployment = writeGatewayDeployment(dir, upstreamAddress, { ...(mcpUrl !== undefined && { mcpUrl }) });
    const [forwarder, gateway] = await Promise.all([
      BenchChild.start('forwarder', 'bare-forwarder.js', {
        env: { SPIFFE_ENDPOINT_SOCKET: await socket(FORWARDER_ID, 'forwarder'), BENCH_UPSTREAM_ADDRESS: upstreamAddress, BENCH_UPSTREAM_ID: UPSTREAM_ID },
        execArgv: nodeFlags,
      }),
      BenchChild.start('toolgate', 'gateway-process.js', {
        env: { SPIFFE_ENDPOINT_SOCKET: await socket(GATEWAY_ID, 'gateway'), BENCH_GATEWAY_CONFIG: deployment.configFile },
        execArgv: nodeFlags,
      }),
    ]);
    children.push(forwarder, gateway);
    log(`upstream pid ${upstream.pid}, forwarder pid ${forwarder.pid}, toolgate pid ${gateway.pid} (${deployment.policies} policies)`);
    // toolgate+task (redis): a second toolgate process, the same config but its task store in a
    // redis-server (Unix socket) that the bench starts; skipped without redis-server on PATH.
    let redisGateway: BenchChild | undefined;
    if (settings.topologies?.includes(REDIS_TOPOLOGY) ?? true) {
      if (redisServerAvailable()) {
        redis = await startDevRedisServer();
        const redisDeployment = writeGatewayDeployment(dir, upstreamAddress, { name: 'redis', redisUrl: redis.url });
        redisGateway = await BenchChild.start('toolgate-redis', 'gateway-process.js', {
          env: { SPIFFE_ENDPOINT_SOCKET: await socket(GATEWAY_ID, 'gateway-redis'), BENCH_GATEWAY_CONFIG: redisDeployment.configFile },
          execArgv: nodeFlags,
        });
        children.push(redisGateway);
        log(`redis-server pid ${redis.pid}, toolgate (redis task store) pid ${redisGateway.pid}`);
      } else {
        log(`redis-server is not on PATH: skipping ${REDIS_TOPOLOGY}`);
      }
    }
    // toolgate-uncached-wasm: a third toolgate process, the same policies, its config saying
    // policyEngine.fastPath: false, so that every decision the cache cannot answer goes through cedar-wasm.
    let wasmGateway: BenchChild | undefined;
    let wasmDecisionLog: string | undefined;
    if (settings.topologies?.includes(WASM_TOPOLOGY) ?? true) {
      const wasmDeployment = writeGatewayDeployment(dir, upstreamAddress, { name: 'wasm', fastPath: false });
      wasmDecisionLog = wasmDeployment.decisionLog;
      wasmGateway = await BenchChild.start('toolgate-wasm', 'gateway-process.js', {
        env: { SPIFFE_ENDPOINT_SOCKET: await socket(GATEWAY_ID, 'gateway-wasm'), BENCH_GATEWAY_CONFIG: wasmDeployment.configFile },
        execArgv: nodeFlags,
      });
      children.push(wasmGateway);
      log(`toolgate (policyEngine.fastPath: false) pid ${wasmGateway.pid}`);
    }
    const middles = [forwarder, gateway, ...(redisGateway ? [redisGateway] : []), ...(wasmGateway ? [wasmGateway] : [])];

    const source = await X509Source.create({ address: await socket(CLIENT_ID, 'client'), timeoutMs: 10_000 });
    sources.push(source);
    const client = (port: number, serverId: string) => {
      const c = new grpc.Client(`127.0.0.1:${port}`, grpcChannelCredentials(source, authorizeId(serverId)));
      clients.push(c);
      return c;
    };
    const gatewayClient = client(gateway.port, GATEWAY_ID);
    let task = 0;
    // toolgate-args's requests (tool-service.ts), built once, each about BENCH_PAYLOAD_BYTES: every call takes the next.
    const wantsCalls = settings.topologies?.some((t) => t === ARGS_TOPOLOGY || t === FORWARDER_ARGS_TOPOLOGY) ?? true;
    const callRequests = wantsCalls ? callRequestPool(settings.payloadBytes) : [];
    let nextCall = 0;
    const toolCall = { path: TOOL_CALL_PATH, request: () => callRequests[nextCall++ % callRequests.length]! };
    const forwarderClient = client(forwarder.port, FORWARDER_ID);
    const all: Topology[] = [
      { name: 'direct', client: client(upstream.port, UPSTREAM_ID), middle: undefined, taskId: () => 'task-bench', unaryOnly: false },
      { name: 'forwarder', client: forwarderClient, middle: forwarder, taskId: () => 'task-bench', unaryOnly: false },
      { name: FORWARDER_ARGS_TOPOLOGY, client: forwarderClient, middle: forwarder, taskId: () => 'task-bench', unaryOnly: true, unary: toolCall },
      { name: 'toolgate', client: gatewayClient, middle: gateway, taskId: () => 'task-bench', unaryOnly: false },
      { name: 'toolgate-uncached', client: gatewayClient, middle: gateway, taskId: () => `task-${++task}`, unaryOnly: true },
      ...(wasmGateway ? [{ name: WASM_TOPOLOGY, client: client(wasmGateway.port, GATEWAY_ID), middle: wasmGateway, taskId: () => `task-${++task}`, unaryOnly: true }] : []),
      // Unary only: a stream's messages would be decided one by one, another scenario.
      { name: ARGS_TOPOLOGY, client: gatewayClient, middle: gateway, taskId: () => 'task-bench', unaryOnly: true, unary: toolCall },
      // Task topologies: unary only, since a stream's task checks run once, when it opens.
      { name: TASK_TOPOLOGY, client: gatewayClient, middle: gateway, taskId: () => 'task-bench', unaryOnly: true },
    ];
    if (redisGateway) {
      const pid = redis!.pid;
      all.push({
        name: REDIS_TOPOLOGY,
        client: client(redisGateway.port, GATEWAY_ID),
        middle: redisGateway,
        taskId: () => 'task-bench',
        unaryOnly: true,
        sideCpuMicros: () => procCpuMicros(pid),
      });
    }
    const topologies = all.filter((t) => settings.topologies?.includes(t.name) ?? true);
    // One task per task topology, begun once over the load client's own mTLS identity: the
    // echo service as its tool, a budget and TTL no run exhausts, no concurrency cap.
    for (const t of topologies) {
      if (t.name !== TASK_TOPOLOGY && t.name !== REDIS_TOPOLOGY) continue;
      const port = t.middle!.port;
      const tasks = new TasksClient(`127.0.0.1:${port}`, grpcChannelCredentials(source, authorizeId(GATEWAY_ID)));
      try {
        const reply = await new Promise<BeginTaskReply>((resolve, reject) =>
          tasks.BeginTask(
            { intent: 'relay bench', tools: [ECHO_SERVICE], ttlSeconds: TASK_TTL_SECONDS, budget: { calls: TASK_CALL_BUDGET } },
            { deadline: Date.now() + 10_000 },
            (err: grpc.ServiceError | null, r: BeginTaskReply) => (err ? reject(new Error(`${t.name}: BeginTask failed: ${err.message}`)) : resolve(r)),
          ),
        );
        t.taskToken = reply.token;
        log(`${t.name}: task ${reply.taskId} begun (token ${reply.token.length} bytes)`);
      } finally {
        tasks.close();
      }
    }
    for (const t of topologies) await checkCall(t);

    for (const t of topologies) if (t.name !== 'toolgate-uncached') await warmUp(t, settings, 3 * settings.warmupSeconds);
    const idle = await idleCost(middles, settings.idleSeconds);
    for (const [name, cost] of idle) log(`idle ${name}: ${cost.microsPerSecond.toFixed(0)} µs CPU per second, RSS ${cost.rssMb.toFixed(0)} MB`);

    const workloads = allWorkloads(settings).filter((w) => settings.workloads?.includes(w.name) ?? true);
    const profileDir = join(BENCH_DIR, 'profiles');
    if (settings.profile) mkdirSync(profileDir, { recursive: true });
    const results: PhaseResult[] = [];
    const profiles: ProfileInput[] = [];
    for (const workload of workloads) {
      const takes = (t: Topology) => (workload.topologies ? workload.topologies.includes(t.name) : !(t.unaryOnly && workload.kind !== 'unary'));
      const phases = topologies.filter(takes).map((t) => new Phase(workload, t, settings));
      for (let round = 1; round <= settings.rounds; round++) {
        for (const phase of phases) {
          const t = phase.topology;
          const file = settings.profile && t.middle ? join(profileDir, `${t.name}-${workload.name}.cpuprofile`) : undefined;
          // Later rounds find connections open and code warm: a shorter warm-up (streams are reopened).
          await phase.round(upstream, settings, round === 1 ? settings.warmupSeconds : settings.warmupSeconds / 2, file);
        }
      }
      for (const phase of phases) {
        const result = phase.result();
        results.push(result);
        const t = phase.topology;
        if (settings.profile && result.middle) {
          profiles.push({
            file: join(profileDir, `${t.name}-${workload.name}.cpuprofile`),
            calls: result.calls,
            cpuMicrosPerCall: result.middle.cpuMicrosPerCall,
            foreignCores: result.foreignCores,
            label: `${t.name}, ${workload.title}`,
          });
        }
        log(
          `  ${workload.name.padEnd(20)} ${t.name.padEnd(22)} ${result.callsPerSecond.toFixed(0).padStart(6)} calls/s  p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms` +
            (result.middle ? `  middle ${result.middle.cpuMicrosPerCall.toFixed(0)} µs/call` : '') +
            (result.errors ? `  ${result.errors} errors` : '') +
            (result.shed !== undefined ? `  shed ${result.shed} of ${result.scheduled}` : '') +
            `  (other load ${result.foreignCores.toFixed(2)} cores)`,
        );
      }
    }
    let mcp: McpResult[] = [];
    if (mcpUpstream) {
      mcp = await runMcpWorkload(
        source,
        [
          { name: 'direct', url: new URL(mcpUrl!), serverId: MCP_UPSTREAM_ID, middle: undefined },
          { name: 'toolgate', url: new URL(`https://localhost:${gateway.port}/mcp/${MCP_UPSTREAM}`), serverId: GATEWAY_ID, middle: gateway },
        ],
        mcpUpstream,
        settings,
      );
      for (const line of mcpConsoleLines(mcp)) log(line);
    }
    // Memory after all the load, read as it is (no GC forced): the kernel's RSS high-water mark, and V8's heap.
    const memory: MiddleMemory[] = [];
    for (const c of middles) {
      const end = await c.sample();
      memory.push({ name: c.name, idleRssMb: idle.get(c.name)?.rssMb ?? NaN, peakRssMb: end.maxRss / 2 ** 20, end: end.memory });
    }
    await sleep(500); // let pino's async destination flush
    const decisionSummary = [
      summarizeDecisionLog(deployment.decisionLog, 'toolgate'),
      ...(wasmDecisionLog === undefined ? [] : [summarizeDecisionLog(wasmDecisionLog, 'The fast-path-off toolgate (toolgate-uncached-wasm)')]),
    ].join(' ');
    console.log(consoleReport(results));
    console.log(`\n${decisionSummary}`);
    // The per-operation micro-benchmark (bench/micro/credentials.bench.ts), in its own process
    // after the relay phases, so that it neither disturbs them nor is disturbed by them.
    let micro: MicroResult | undefined;
    if (settings.micro) {
      for (const c of children) await c.stop();
      await redis?.stop();
      micro = await runMicroBench();
      log(`micro-benchmark: ${micro.rows.length} rows`);
    }
    const runInfo = {
      ...info,
      totalSeconds: (performance.now() - started) / 1000,
      policies: deployment.policies,
      decisionLog: deployment.decisionLog,
      settings,
      nodeFlags,
      idle,
      memory,
      micro,
    };
    console.log(`\n${headlineConsole(results, runInfo)}`);
    if (settings.writeResults) {
      // Sections after the appendix marker come from other benches (policy scale): keep them.
      const previous = existsSync(join(BENCH_DIR, 'RESULTS.md')) ? readFileSync(join(BENCH_DIR, 'RESULTS.md'), 'utf8') : '';
      const appendix = previous.includes(APPENDIX_MARKER) ? previous.slice(previous.indexOf(APPENDIX_MARKER)) : '';
      const mcpSection = mcp.length > 0 ? `${mcpMarkdown(mcp, settings)}\n\n` : '';
      writeFileSync(join(BENCH_DIR, 'RESULTS.md'), `${markdownReport(results, runInfo, decisionSummary).trimEnd()}\n\n${mcpSection}${appendix}`);
      log(`wrote ${join(BENCH_DIR, 'RESULTS.md')}`);
    }
    if (profiles.length > 0) {
      const summary = summarizeProfiles(profiles, runInfo);
      console.log(summary.text);
      writeFileSync(join(BENCH_DIR, 'PROFILE.md'), summary.markdown);
      log(`wrote ${join(BENCH_DIR, 'PROFILE.md')} (profiles in ${profileDir})`);
    }
    log(`whole bench run: ${runInfo.totalSeconds.toFixed(0)} s`);
  } finally {
    for (const c of clients) c.close();
    for (const s of sources) s.close();
    await Promise.all(children.map((c) => c.stop()));
    await redis?.stop();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One toolgate's decision log after the run, in a sentence: `who` names the gateway. */
function summarizeDecisionLog(file: string, who: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `${who}'s decision log: could not read ${file}: ${(err as Error).message}.`;
  }
  let lines = 0;
  let allow = 0;
  let deny = 0;
  const evalUs: { cached: number[]; evaluated: number[] } = { cached: [], evaluated: [] };
  // Payload-aware decisions (toolgate-args): their records carry the request's digest.
  const payloadAware = { decisions: 0, cached: 0, evaluatedUs: [] as number[] };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines++;
    const entry = JSON.parse(line) as { decision?: string; cached?: boolean; evalUs?: number; requestDigest?: string };
    if (entry.decision === 'allow') allow++;
    else if (entry.decision === 'deny') deny++;
    if (typeof entry.evalUs === 'number') (entry.cached ? evalUs.cached : evalUs.evaluated).push(entry.evalUs);
    if (entry.requestDigest !== undefined && typeof entry.evalUs === 'number') {
      payloadAware.decisions++;
      if (entry.cached) payloadAware.cached++;
      else payloadAware.evaluatedUs.push(entry.evalUs);
    }
  }
  const m = (v: number[]) => (v.length === 0 ? '–' : median(v).toFixed(0));
  return (
    `${who}'s decision log after the run: ${lines} lines (${allow} allow, ${deny} deny${lines - allow - deny > 0 ? `, ${lines - allow - deny} other events (task begun)` : ''}; ${evalUs.cached.length} served from the decision cache), ` +
    `${(text.length / lines).toFixed(0)} bytes per line; median evalUs (the engine's own wall-clock timing): ` +
    `${m(evalUs.evaluated)} µs for a cache miss (${evalUs.evaluated.length} decisions: fast path or cedar-wasm), ${m(evalUs.cached)} µs from the cache.` +
    (payloadAware.decisions === 0
      ? ''
      : ` Decided on the arguments (payload-aware, toolgate-args: records with a requestDigest): ${payloadAware.decisions} decisions, ` +
        `${payloadAware.decisions - payloadAware.cached} of them cached: false (${payloadAware.cached} from the cache), median evalUs ${m(payloadAware.evaluatedUs)} µs.`)
  );
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
