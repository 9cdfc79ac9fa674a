import * as grpc from '@grpc/grpc-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../../src/config/load-config';
import { filesServiceImplementation } from '../../../src/examples/files-service';
import { FilesClient, filesService } from '../../../src/examples/files-proto';
import { ToolServer } from '../../../src/examples/tool-server';
import { Gateway } from '../../../src/server/gateway';
import type { DevWorkloadApi } from '../../../src/spiffe/dev/workload-api-server';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../../src/spiffe/tls/grpc-credentials';
import type { X509Source } from '../../../src/spiffe/workload/x509-source';
import { SpiffeWorld } from './spiffe-world';

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

/** Decision log lines, parsed, as the gateway wrote them. */
export class CapturedLog {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly logger = pino(
    { base: null },
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line));
        done();
      },
    }),
  );

  byDecisionId(id: string): Record<string, unknown> | undefined {
    return this.lines.find((l) => l.decisionId === id);
  }
}

export interface GatewayWorldOptions {
  policies?: Record<string, string>;
  /** Extra YAML appended to the generated config. */
  extraConfig?: string;
  /** The SPIFFE ID the files upstream must present, per the config. */
  filesUpstreamId?: string;
  /** Services added to the files upstream beside tools.files.v1.Files. */
  upstreamServices?: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation, string]>;
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
  ) {}

  static async start(options: GatewayWorldOptions = {}): Promise<GatewayWorld> {
    const spiffe = await SpiffeWorld.create({ federatedTrustDomains: ['partner.test'] });
    const dir = spiffe.tempDir;
    const files = new Map<string, Buffer>();
    const toolSource = await spiffe.workload(FILES_ID);
    const services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [
      [filesService, filesServiceImplementation(files)],
      ...(options.upstreamServices ?? []).map(([d, i]) => [d, i] as [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]),
    ];
    const tool = await ToolServer.start(toolSource, authorizeId(GATEWAY_ID), services);

    const policyDir = join(dir, 'policies');
    mkdirSync(policyDir);
    for (const [name, text] of Object.entries(options.policies ?? POLICIES)) writeFileSync(join(policyDir, name), text);
    const gatewayApi = await spiffe.provider.serve(GATEWAY_ID, `unix://${join(dir, 'gateway.sock')}`);
    const extraServices = (options.upstreamServices ?? []).map(([, , name]) => `, ${name}`).join('');
    const yaml = `
spiffe:
  endpointSocket: ${gatewayApi.address}
  trustDomains: [example.org]
listen: 127.0.0.1:0
admin: 127.0.0.1:0
policies: ./policies
identities:
  - spiffeId: ${RESEARCH_BOT}
    agent: research-bot
    groups: [researchers]
    attributes: { team: research, tier: standard }
  - spiffeIdPrefix: spiffe://example.org/agents/ci/
    groups: [ci]
upstreams:
  - name: files
    services: [tools.files.v1.Files${extraServices}]
    address: ${tool.target}
    spiffeId: ${options.filesUpstreamId ?? FILES_ID}
${options.extraConfig ?? ''}`;
    const config = parseConfig(yaml, dir, 'toolgate.yaml');
    const capture = new CapturedLog();
    const logger = pino({ level: process.env.TOOLGATE_TEST_LOG ?? 'silent' });
    const gateway = await Gateway.start(config, { logger, decisionLog: capture.logger, svidTimeoutMs: 5000 });
    return new GatewayWorld(spiffe, tool, gateway, capture, files, gatewayApi);
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
