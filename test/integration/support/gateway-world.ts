import * as grpc from '@grpc/grpc-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../../src/config/load-config';
import { filesServiceImplementation } from '../../../src/examples/files-service';
import { FILES_PROTO_PATH, FilesClient, filesService } from '../../../src/examples/files-proto';
import { ToolServer } from '../../../src/examples/tool-server';
import { createCallTokenVerifier, type CallTokenVerifier, type VerifiedCallClaims } from '../../../src/credentials/call-token-verifier';
import { JWKS_PATH } from '../../../src/credentials/jwks-route';
import { Gateway } from '../../../src/server/gateway';
import type { DevWorkloadApi } from '../../../src/spiffe/dev/workload-api-server';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../../src/spiffe/tls/grpc-credentials';
import type { X509Source } from '../../../src/spiffe/workload/x509-source';
import { ConfigMapVolume } from './config-map-volume';
import { SpiffeWorld } from './spiffe-world';
import { waitUntil } from './workload-fixtures';

export const GATEWAY_ID = 'spiffe://example.org/toolgate';
export const FILES_ID = 'spiffe://example.org/tools/files';
export const RESEARCH_BOT = 'spiffe://example.org/agents/research-bot';
export const CI_BUILDER = 'spiffe://example.org/agents/ci/builder-7';
export const STRANGER = 'spiffe://example.org/agents/stranger';

export const POLICIES = {
  'agents.cedar': `
@id("researchers-read-files")
permit (
  principal in AgentGroup::"researchers",
  action in [Action::"tools.files.v1.Files/ReadFile", Action::"tools.files.v1.Files/ListDir", Action::"tools.files.v1.Files/Sync"],
  resource == Tool::"files"
);

@id("ci-writes-files")
permit (principal in AgentGroup::"ci", action in Action::"tools.files.v1.Files", resource == Tool::"files");
`,
};

/** Log lines, parsed, as the gateway wrote them. */
export class CapturedLog {
  /** The lines; of the decision log, its records only (not its chain's genesis and checkpoint lines). */
  readonly lines: Array<Record<string, unknown>> = [];
  /** Every line as written (the decision log's whole chain), for `audit verify`. */
  readonly text: string[] = [];
  readonly logger;
  /** For the decision log, which writes its own lines. */
  readonly sink = { write: (text: string) => this.take(text) };

  /** `echo` also writes each line to stderr, to watch a test run. */
  constructor(
    level = 'info',
    private readonly echo = false,
  ) {
    this.logger = pino(
      { base: null, level },
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          this.take(chunk.toString());
          done();
        },
      }),
    );
  }

  private take(text: string): void {
    if (this.echo) process.stderr.write(text);
    for (const line of text.split('\n')) {
      if (!line) continue;
      this.text.push(line);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (!('origin' in parsed) || 'decisionId' in parsed) this.lines.push(parsed);
    }
  }

  byDecisionId(id: string): Record<string, unknown> | undefined {
    return this.lines.find((l) => l.decisionId === id);
  }
}

export interface GatewayWorldOptions {
  policies?: Record<string, string>;
  /** Extra YAML appended to the generated config. */
  extraConfig?: string;
  /** Extra identity rules (YAML list items, indented two spaces) after the generated ones. */
  extraIdentities?: string;
  /** The SPIFFE ID the files upstream must present, per the config. */
  filesUpstreamId?: string;
  /** Give the files upstream its protos, turning on payload-aware policy. */
  protos?: boolean;
  /** Set `reflection: true` on the files upstream: its descriptors come from its server reflection. */
  reflection?: boolean;
  /** Services the files tool also serves but the gateway does not route (server reflection). */
  unroutedServices?: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;
  /** .proto files of the `upstreamServices`, added to the files upstream's protos (with `protos`). */
  extraProtos?: string[];
  /** Services added to the files upstream beside tools.files.v1.Files. */
  upstreamServices?: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation, string]>;
  /** Mount the policies as a Kubernetes ConfigMap volume does (see ConfigMapVolume), not as plain files. */
  configMapPolicies?: boolean;
  /** Leave `spiffe.trustDomains` out: callers are accepted from the gateway's own trust domain, read from its SVID. */
  ownTrustDomainOnly?: boolean;
  /** The files tool verifies the gateway's per-call JWT against the gateway's JWKS (admin port) and refuses calls without one. */
  verifyCallTokens?: boolean;
  /** Fixed loopback ports for the gRPC and admin listeners (default: any free one), to reach them before the start resolves. */
  ports?: { listen: number; admin: number };
  /** The gateway writes its decision log where its config says (`decisionLog` in `extraConfig`), not into `decisions`. */
  ownDecisionLog?: boolean;
  /** Passed to Gateway.start: production node flags this process is said to run without. */
  missingNodeFlags?: string[];
}

/**
 * A whole deployment on loopback: a dev identity provider, the example files tool
 * (mTLS, accepting only the gateway), and a gateway configured through the config file
 * contract, with its decision log captured.
 */
export class GatewayWorld {
  private readonly clients: grpc.Client[] = [];

  private constructor(
    readonly spiffe: SpiffeWorld,
    readonly tool: ToolServer,
    readonly gateway: Gateway,
    /** The decision log, parsed. */
    readonly decisions: CapturedLog,
    /** The files tool's store: tests seed and inspect it. */
    readonly files: Map<string, Buffer>,
    /** The gateway's own Workload API endpoint, to script its identity. */
    readonly gatewayApi: DevWorkloadApi,
    /** The operational log (reloads, upstream failures), parsed; echoed when $TOOLGATE_TEST_LOG is set. */
    readonly operations: CapturedLog,
    /** The policy folder as a ConfigMap volume, with `configMapPolicies`. */
    readonly policyVolume: ConfigMapVolume | undefined,
    /** With `verifyCallTokens`: the claims of every call token the tool verified. */
    readonly verifiedCalls: VerifiedCallClaims[],
  ) {}

  static async start(options: GatewayWorldOptions = {}): Promise<GatewayWorld> {
    const spiffe = await SpiffeWorld.create({ federatedTrustDomains: ['partner.test'] });
    const dir = spiffe.tempDir;
    const files = new Map<string, Buffer>();
    const toolSource = await spiffe.workload(FILES_ID);
    const verifiedCalls: VerifiedCallClaims[] = [];
    // The JWKS URL is known once the gateway's admin port is: the tool verifies through this indirection.
    let verify: CallTokenVerifier = () => Promise.reject(new Error('gateway not started'));
    const callTokens = options.verifyCallTokens ? { callTokens: (token: string) => verify(token), verified: verifiedCalls } : {};
    const services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [
      [filesService, filesServiceImplementation(files, callTokens)],
      ...(options.upstreamServices ?? []).map(([d, i]) => [d, i] as [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]),
      ...(options.unroutedServices ?? []),
    ];
    const tool = await ToolServer.start(toolSource, authorizeId(GATEWAY_ID), services);

    const policyDir = join(dir, 'policies');
    const policies = options.policies ?? POLICIES;
    const policyVolume = options.configMapPolicies ? ConfigMapVolume.create(policyDir, policies) : undefined;
    if (!policyVolume) {
      mkdirSync(policyDir);
      for (const [name, text] of Object.entries(policies)) {
        // A name may have a folder: `shadow/candidate.cedar`.
        mkdirSync(dirname(join(policyDir, name)), { recursive: true });
        writeFileSync(join(policyDir, name), text);
      }
    }
    const gatewayApi = await spiffe.provider.serve(GATEWAY_ID, `unix://${join(dir, 'gateway.sock')}`);
    const extraServices = (options.upstreamServices ?? []).map(([, , name]) => `, ${name}`).join('');
    const yaml = `
spiffe:
  endpointSocket: ${gatewayApi.address}
${options.ownTrustDomainOnly ? '' : '  trustDomains: [example.org]\n'}listen: 127.0.0.1:${options.ports?.listen ?? 0}
admin: 127.0.0.1:${options.ports?.admin ?? 0}
policies: ./policies
identities:
  - spiffeId: ${RESEARCH_BOT}
    agent: research-bot
    groups: [researchers]
    attributes: { team: research, tier: standard }
  - spiffeIdPrefix: spiffe://example.org/agents/ci/
    groups: [ci]
${options.extraIdentities ?? ''}upstreams:
  - name: files
    services: [tools.files.v1.Files${extraServices}]
    address: ${tool.target}
    spiffeId: ${options.filesUpstreamId ?? FILES_ID}
${options.protos ? `    protos: [${[FILES_PROTO_PATH, ...(options.extraProtos ?? [])].join(', ')}]\n` : ''}${options.reflection ? '    reflection: true\n' : ''}${options.extraConfig ?? ''}`;
    // Through a file, as `toolgate run` does, so that the gateway can reload it.
    const configFile = join(dir, 'toolgate.yaml');
    writeFileSync(configFile, yaml);
    const config = loadConfig(configFile);
    const capture = new CapturedLog();
    const operations = new CapturedLog(process.env.TOOLGATE_TEST_LOG ?? 'info', process.env.TOOLGATE_TEST_LOG !== undefined);
    let gateway: Gateway;
    try {
      gateway = await Gateway.start(config, {
        logger: operations.logger,
        ...(!options.ownDecisionLog && { decisionLog: capture.sink }),
        svidTimeoutMs: 5000,
        configFile,
        missingNodeFlags: options.missingNodeFlags,
      });
    } catch (err) {
      // A test of a refused start must not leak the world it built.
      await tool.close();
      await spiffe.close();
      throw err;
    }
    const jwksUrl = `http://127.0.0.1:${gateway.adminAddress!.port}${JWKS_PATH}`;
    verify = createCallTokenVerifier({ jwksUrl, issuer: GATEWAY_ID, audience: options.filesUpstreamId ?? FILES_ID });
    return new GatewayWorld(spiffe, tool, gateway, capture, files, gatewayApi, operations, policyVolume, verifiedCalls);
  }

  /** The gateway's config file. */
  get configFile(): string {
    return join(this.spiffe.tempDir, 'toolgate.yaml');
  }

  /** The gateway's policy folder (`policies: ./policies`). */
  get policyDir(): string {
    return join(this.spiffe.tempDir, 'policies');
  }

  /**
   * Resolves with the operational log line of the first reload (done or refused) logged
   * after this call; call it before making the change.
   */
  async nextReload(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const seen = this.reloadLines().length;
    await waitUntil(() => this.reloadLines().length > seen, timeoutMs);
    return this.reloadLines()[seen]!;
  }

  private reloadLines(): Array<Record<string, unknown>> {
    return this.operations.lines.filter((l) => typeof l.msg === 'string' && /^(reloaded|reload refused)/.test(l.msg));
  }

  /** The value of one series of a counter or gauge of the gateway, e.g. `toolgate_policy_reload_total`, `{ result: 'failure' }`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.gateway.metrics.registry.getSingleMetric(name);
    if (metric === undefined) throw new Error(`no metric ${name}`);
    const { values } = await metric.get();
    const series = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return series?.value ?? 0;
  }

  get target(): string {
    return `127.0.0.1:${this.gateway.address.port}`;
  }

  /** A client of the Files service through the gateway, as the agent `id`. */
  async agent(id: string): Promise<grpc.Client & Record<string, (...args: unknown[]) => unknown>> {
    const source: X509Source = await this.spiffe.workload(id);
    return this.client(FilesClient, source) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  client<T extends grpc.Client>(ctor: new (target: string, creds: grpc.ChannelCredentials) => T, source: X509Source): T {
    const client = new ctor(this.target, grpcChannelCredentials(source, authorizeId(GATEWAY_ID)));
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.gateway.close(1000);
    await this.tool.close();
    await this.spiffe.close();
  }
}

/** A unary call through a dynamic client, as a promise. */
export function unaryCall<T>(client: grpc.Client, method: string, request: object, options: grpc.CallOptions = {}): Promise<T> {
  const fn = (client as unknown as Record<string, (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: T) => void) => void>)[method];
  return new Promise((resolve, reject) => fn.call(client, request, options, (err, reply) => (err ? reject(err) : resolve(reply))));
}
