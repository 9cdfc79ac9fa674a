import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { BenchChild } from '../../../bench/relay/bench-child';
import { UPSTREAM_ID } from '../../../bench/relay/deployment';
import { payload } from '../../../bench/relay/echo-service';
import { LatencyRecorder } from '../../../bench/relay/latency-recorder';
import { LoadRun } from '../../../bench/relay/load-generator';
import { loadConfig } from '../../../src/config/load-config';
import { generateSchema } from '../../../src/policy/schema-generator';
import { DevIdentityProvider } from '../../../src/spiffe/dev/identity-provider';
import type { DevWorkloadApi } from '../../../src/spiffe/dev/workload-api-server';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../../src/spiffe/tls/grpc-credentials';
import { SecureContextCache } from '../../../src/spiffe/tls/secure-context-cache';
import { X509Source } from '../../../src/spiffe/workload/x509-source';
import { TasksClient, type BeginTaskReply } from '../../../src/tasks/tasks-client';
import { rawSvid, sleep, waitUntil } from '../../integration/support/workload-fixtures';
import { GatewayProcess, REGISTER_TS } from './gateway-process';
import { Outcomes } from './outcomes';

export const GATEWAY_ID = 'spiffe://example.org/toolgate';
export { UPSTREAM_ID };
/** Agents under this prefix are "loaders": policy lets them call the echo tool with any tag but "secret". */
export const LOADERS = 'spiffe://example.org/agents/load/';
/** Agents under this prefix are mapped (group "others") but no policy permits them anything. */
export const OTHERS = 'spiffe://example.org/agents/other/';
const ECHO_PROTO = join(__dirname, 'echo.proto');
const UNARY = 'bench.v1.Echo/Unary';
const PING_PONG = 'bench.v1.Echo/PingPong';
/** Bytes of each request's payload field and of each response. */
const PAYLOAD_BYTES = 256;

/**
 * The good policy set: loaders may call the echo tool and begin tasks on it; a request
 * tagged "secret" is forbidden to everyone; everyone else is denied by default. The fault
 * suite knows what each of its callers must get, so any decision taken by something else
 * than this set shows as a wrong answer.
 */
export const GOOD_POLICIES: Record<string, string> = {
  'echo.cedar': `@id("loaders-use-echo")
permit (principal in AgentGroup::"loaders", action in [Action::"${UNARY}", Action::"${PING_PONG}"], resource == Tool::"echo");

@id("never-secret")
forbid (principal, action in [Action::"${UNARY}", Action::"${PING_PONG}"], resource == Tool::"echo")
when { context.request.tag == "secret" };
`,
  'tasks.cedar': `@id("loaders-begin-tasks")
permit (principal in AgentGroup::"loaders", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");
`,
};

export interface FaultDeploymentOptions {
  /** YAML appended to the gateway's config (limits, state, …). */
  extraConfig?: string;
}

/** An agent: its Workload API endpoint (to rotate its SVID alone) and its X509Source. */
export interface Agent {
  id: string;
  api: DevWorkloadApi;
  source: X509Source;
}

export interface LoadSpec {
  kind: 'unary' | 'stream';
  /** Calls (unary) or stream messages per second, open loop. */
  rate: number;
  /** Streams the messages are spread over (stream), default 4. */
  streams?: number;
  /** The request's `tag`: "ok" is allowed to loaders, "secret" never. Default "ok". */
  tag?: string;
  /** A task token every call carries (x-toolgate-task). */
  taskToken?: string;
}

/** A load run and what came of each of its calls. */
export interface Load {
  run: LoadRun;
  outcomes: Outcomes;
  recorder: LatencyRecorder;
}

/**
 * A deployment of real processes on loopback, the one the fault suite breaks: the dev
 * identity provider serving the Workload API (in this process: the suite rotates SVIDs and
 * stops endpoints through it), the bench's echo upstream (bench/relay/upstream-process.ts,
 * a child process) described by test/faults/support/echo.proto, and the gateway as a
 * `toolgate run` child process with a generated schema and the good policy set. Load comes
 * from the bench's load generator (bench/relay/load-generator.ts) in this process.
 */
export class FaultDeployment {
  private readonly agents: Agent[] = [];
  private readonly clients: grpc.Client[] = [];

  private constructor(
    readonly dir: string,
    readonly provider: DevIdentityProvider,
    readonly gatewayApi: DevWorkloadApi,
    readonly upstreamApi: DevWorkloadApi,
    public upstream: BenchChild,
    readonly upstreamPort: number,
    public gateway: GatewayProcess,
  ) {}

  static async start(options: FaultDeploymentOptions = {}): Promise<FaultDeployment> {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-faults-'));
    const provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    let upstream: BenchChild | undefined;
    try {
      const gatewayApi = await provider.serve(GATEWAY_ID, `unix://${join(dir, 'gateway.sock')}`);
      const upstreamApi = await provider.serve(UPSTREAM_ID, `unix://${join(dir, 'upstream.sock')}`);
      upstream = await startUpstream(upstreamApi.address, 0);
      const configFile = join(dir, 'toolgate.yaml');
      const policyDir = join(dir, 'policies');
      mkdirSync(policyDir);
      writeFileSync(configFile, gatewayConfig(gatewayApi.address, upstream.port, options.extraConfig ?? ''));
      // The schema the operator would generate (`toolgate policy schema`): every policy is validated against it.
      writeFileSync(join(policyDir, 'schema.cedarschema'), generateSchema(loadConfig(configFile)));
      for (const [name, text] of Object.entries(GOOD_POLICIES)) writeFileSync(join(policyDir, name), text);
      const gateway = await GatewayProcess.start(configFile);
      return new FaultDeployment(dir, provider, gatewayApi, upstreamApi, upstream, upstream.port, gateway);
    } catch (err) {
      await upstream?.stop();
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get policyDir(): string {
    return join(this.dir, 'policies');
  }

  /** The good set's files as they are on disk (the schema included). */
  goodFiles(): Record<string, string> {
    return { 'schema.cedarschema': readFileSync(join(this.policyDir, 'schema.cedarschema'), 'utf8'), ...GOOD_POLICIES };
  }

  /** The decision log's records, parsed (the gateway writes it to a file beside its config; its chain's genesis and checkpoint lines are left out). */
  decisions(): Array<Record<string, unknown>> {
    return readFileSync(join(this.dir, 'decisions.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => typeof l.decisionId === 'string');
  }

  /** A workload `id` with a Workload API endpoint of its own. */
  async agent(id: string): Promise<Agent> {
    const api = await this.provider.serve(id, `unix://${join(this.dir, `agent-${this.agents.length}.sock`)}`);
    const source = await X509Source.create({ address: api.address, timeoutMs: 10_000 });
    const agent = { id, api, source };
    this.agents.push(agent);
    return agent;
  }

  /**
   * A gRPC client of the gateway as `agent`, on a connection of its own (grpc-js otherwise
   * shares one between clients of the same target and credentials).
   */
  client(agent: Agent): grpc.Client {
    const client = new grpc.Client(this.gateway.target, grpcChannelCredentials(agent.source, authorizeId(GATEWAY_ID)), { 'grpc.use_local_subchannel_pool': 1 });
    this.clients.push(client);
    return client;
  }

  /** Begins a task of the echo tool as `agent` (no budget: its calls are limited by nothing but the task store). */
  async beginTask(agent: Agent): Promise<BeginTaskReply> {
    const client = new TasksClient(this.gateway.target, grpcChannelCredentials(agent.source, authorizeId(GATEWAY_ID)), { 'grpc.use_local_subchannel_pool': 1 });
    this.clients.push(client);
    return new Promise((resolve, reject) =>
      (client as unknown as Record<string, (r: object, cb: (e: grpc.ServiceError | null, r: BeginTaskReply) => void) => void>).beginTask(
        { intent: 'fault suite', tools: ['bench.v1.Echo'], ttlSeconds: 3600 },
        (err, reply) => (err ? reject(err) : resolve(reply)),
      ),
    );
  }

  /** One unary call as `agent` on a new connection (so with its current SVID); resolves with its status. */
  callOnce(agent: Agent, tag = 'ok'): Promise<grpc.status> {
    const client = new grpc.Client(this.gateway.target, grpcChannelCredentials(agent.source, authorizeId(GATEWAY_ID)), { 'grpc.use_local_subchannel_pool': 1 });
    const same = (b: Buffer): Buffer => b;
    return new Promise((resolve) =>
      client.makeUnaryRequest(`/${UNARY}`, same, same, echoRequest(tag), new grpc.Metadata(), (err) => {
        client.close();
        resolve(err ? err.code : grpc.status.OK);
      }),
    );
  }

  /** Starts open-loop load through `client`; `stopLoad()` ends it. */
  load(client: grpc.Client, spec: LoadSpec): Load {
    const outcomes = new Outcomes();
    const recorder = new LatencyRecorder();
    const run = new LoadRun(
      client,
      { name: `fault-${spec.kind}`, title: spec.kind, kind: spec.kind, mode: 'open' },
      {
        request: echoRequest(spec.tag ?? 'ok'),
        concurrency: spec.kind === 'stream' ? (spec.streams ?? 4) : 1,
        rate: spec.rate,
        taskId: () => 'fault',
        ...(spec.taskToken !== undefined && { taskToken: spec.taskToken }),
        onOutcome: outcomes.record,
      },
      recorder,
    );
    run.measuring = true;
    return { run, outcomes, recorder };
  }

  /** Issues `id` a new SVID on `api` alone (the other workloads keep theirs); returns its serial. */
  async pushSvid(api: DevWorkloadApi, id: string, ttlMs?: number): Promise<string> {
    const svid = await this.provider.issueX509(id, ttlMs === undefined ? {} : { ttlMs });
    api.setX509SvidResponse({ svids: [rawSvid(svid, this.provider.x509Bundle())], federated_bundles: {} });
    return new X509Certificate(svid.certificates[0]!).serialNumber;
  }

  /** Rotates the gateway's SVID and resolves once new connections get it; returns how long that took (ms). */
  async rotateGateway(ttlMs?: number): Promise<number> {
    const t0 = performance.now();
    const serial = await this.pushSvid(this.gatewayApi, GATEWAY_ID, ttlMs);
    await this.waitServed(this.gateway.port, serial);
    return performance.now() - t0;
  }

  /** Rotates the upstream's SVID and resolves once new connections get it. */
  async rotateUpstream(): Promise<number> {
    const t0 = performance.now();
    const serial = await this.pushSvid(this.upstreamApi, UPSTREAM_ID);
    await this.waitServed(this.upstreamPort, serial);
    return performance.now() - t0;
  }

  /** Rotates an agent's SVID and resolves once its source holds it. */
  async rotateAgent(agent: Agent): Promise<number> {
    const t0 = performance.now();
    const serial = await this.pushSvid(agent.api, agent.id);
    await waitUntil(() => agent.source.getX509Svid().certificates[0]!.serialNumber === serial, 10_000);
    return performance.now() - t0;
  }

  /** The serial of the certificate a TLS server on `port` presents now. */
  servedSerial(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      // An agent's certificate for the gateway, so that the probe is a normal caller; none for the upstream
      // (it presents its certificate before it refuses the probe).
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        servername: 'probe.invalid',
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        ...(port === this.gateway.port && this.probeContext()),
      });
      socket.once('secureConnect', () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      });
      socket.once('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('TLS probe timed out')));
    });
  }

  private async waitServed(port: number, serial: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const served = await this.servedSerial(port).catch(() => undefined);
      if (served === serial) return;
      if (Date.now() > deadline) throw new Error(`port ${port} still serves ${served}, not ${serial}`);
      await sleep(10);
    }
  }

  private probeContext(): { secureContext: SecureContext } | undefined {
    const agent = this.agents[0];
    return agent === undefined ? undefined : { secureContext: new SecureContextCache(agent.source).get() };
  }

  /** SIGKILLs the upstream process and resolves once it is gone. */
  async killUpstream(): Promise<void> {
    const pid = this.upstream.pid!;
    process.kill(pid, 'SIGKILL');
    // Gone once reaped (its 'exit' handled): stop() then has nothing left to do.
    await waitUntil(() => !alive(pid), 10_000);
    await this.upstream.stop();
  }

  /** Starts the upstream again, on its port. */
  async restartUpstream(): Promise<void> {
    this.upstream = await startUpstream(this.upstreamApi.address, this.upstreamPort);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await this.gateway.stop();
    await this.upstream.stop();
    for (const agent of this.agents) agent.source.close();
    await this.provider.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stops the runs and resolves once every call has ended and every stream has its status. */
export async function stopLoad(...loads: Load[]): Promise<void> {
  await Promise.all(loads.map((l) => l.run.stop()));
  await waitUntil(() => loads.every((l) => l.outcomes.streamsEnded >= l.run.streamsOpened), 10_000).catch(() => undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startUpstream(endpoint: string, port: number): Promise<BenchChild> {
  return BenchChild.start('upstream', 'upstream-process.ts', {
    env: {
      SPIFFE_ENDPOINT_SOCKET: endpoint,
      BENCH_PAYLOAD_BYTES: String(PAYLOAD_BYTES),
      BENCH_UPSTREAM_PEERS: GATEWAY_ID,
      BENCH_UPSTREAM_PORT: String(port),
    },
    execArgv: ['--require', REGISTER_TS],
    readyTimeoutMs: 60_000,
  });
}

function gatewayConfig(endpoint: string, upstreamPort: number, extra: string): string {
  return `spiffe:
  endpointSocket: ${endpoint}
  trustDomains: [example.org]
listen: 127.0.0.1:0
admin: 127.0.0.1:0
policies: ./policies
identities:
  - spiffeIdPrefix: ${LOADERS}
    groups: [loaders]
  - spiffeIdPrefix: ${OTHERS}
    groups: [others]
upstreams:
  - name: echo
    services: [bench.v1.Echo]
    address: 127.0.0.1:${upstreamPort}
    spiffeId: ${UPSTREAM_ID}
    protos: [${ECHO_PROTO}]
decisionLog:
  destination: ./decisions.log
logLevel: info
reload:
  debounceMs: 50
${extra}`;
}

/** A `bench.v1.EchoRequest { tag, payload }`, encoded by hand (two length-delimited fields). */
export function echoRequest(tag: string): Buffer {
  const field = (number: number, bytes: Buffer): Buffer => Buffer.concat([Buffer.from([(number << 3) | 2]), varint(bytes.length), bytes]);
  return Buffer.concat([field(1, Buffer.from(tag)), field(2, payload(PAYLOAD_BYTES))]);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
