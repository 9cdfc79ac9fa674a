import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '../config/gateway-config';
import { IdentityMapper } from '../identity/identity-mapper';
import { AdminServer } from '../observability/admin-server';
import { createLogger, type Logger } from '../observability/logger';
import { GatewayMetrics } from '../observability/metrics';
import { PolicyEngine } from '../policy/policy-engine';
import { PolicySet } from '../policy/policy-set';
import { UpstreamChannel } from '../relay/upstream-channel';
import type { TrustDomain } from '../spiffe/id/trust-domain';
import { authorizeMemberOf } from '../spiffe/tls/authorizer';
import { X509Source } from '../spiffe/workload/x509-source';
import { CallPipeline, type GatewayState } from './call-pipeline';
import { decisionIdGenerator } from './decision-id';
import { GatewayListener } from './gateway-listener';

export interface StartOptions {
  /** Operational log (not the decision log). Default: pino on stderr at the config's level. */
  logger?: Logger;
  /** Decision log. Default: pino on `config.decisionLog.destination`. */
  decisionLog?: Logger;
  /** How long to wait for the first SVID; default: for ever (readiness says why). */
  svidTimeoutMs?: number;
  /** Aborts a start that is still waiting for the first SVID. */
  signal?: AbortSignal;
}

/**
 * A running gateway: the Workload API source, the gRPC listener, the upstream
 * connections and the admin endpoint, assembled from a validated config.
 */
export class Gateway {
  private constructor(
    readonly config: GatewayConfig,
    readonly source: X509Source,
    readonly pipeline: CallPipeline,
    readonly metrics: GatewayMetrics,
    private readonly listener: GatewayListener,
    private readonly admin: AdminServer | undefined,
    private readonly channels: UpstreamChannel[],
    private readonly logger: Logger,
    private readonly decisionLog: Logger,
    readonly address: AddressInfo,
    readonly adminAddress: AddressInfo | undefined,
  ) {}

  static async start(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? createLogger({ destination: 'stderr', level: config.logLevel, base: { service: 'toolgate' } });
    const decisionLog = options.decisionLog ?? createLogger({ destination: config.decisionLog.destination, base: { log: 'decision' } });
    const metrics = new GatewayMetrics({ defaultMetrics: true });

    // Policies first: a bad set must stop the start before anything listens.
    const policies = PolicySet.loadDirectory(config.policies);
    let source: X509Source | undefined;
    const admin = config.admin ? new AdminServer(metrics.registry, () => (source ? readiness(source) : 'waiting for the first X.509-SVID')) : undefined;
    const adminAddress = admin ? await admin.listen(config.admin!.port, config.admin!.host) : undefined;

    try {
      source = await X509Source.create({ address: config.spiffe.endpointSocket, timeoutMs: options.svidTimeoutMs ?? Infinity, signal: options.signal });
    } catch (err) {
      await admin?.close();
      throw err;
    }
    source.on('error', (err) => logger.warn({ err: err.message }, 'workload API'));
    source.on('withdrawn', (err) => logger.error({ err: err.message }, 'X.509-SVID withdrawn: refusing new connections'));
    metrics.watchSvidExpiry(() => svidExpirySeconds(source!));

    const own = source.getX509Svid().id.trustDomain;
    const trustDomains: TrustDomain[] = config.spiffe.trustDomains ?? [own];
    const onUpstreamError = (name: string) => (err: Error) => logger.warn({ upstream: name, err: err.message }, 'upstream connection failed');
    const channels = config.upstreams.map((u) => new UpstreamChannel(u, source!, onUpstreamError(u.name)));
    // A rotated SVID is used by new upstream connections; old ones finish their calls.
    source.on('update', () => channels.forEach((c) => c.retire()));

    const state: GatewayState = {
      identities: new IdentityMapper(config.identities, { trustDomains }),
      engine: new PolicyEngine(policies),
      policyHash: policies.hash,
      routes: new Map(config.upstreams.flatMap((u, i) => u.services.map((service) => [service, channels[i]] as const))),
    };
    const pipeline = new CallPipeline(state, {
      decisionLog,
      logger,
      metrics,
      nextDecisionId: decisionIdGenerator(),
      metadataAllow: config.metadata.allow,
      maxMessageBytes: config.limits.maxMessageBytes,
      isReady: () => readiness(source!) === undefined,
    });
    const listener = new GatewayListener(source, authorizeMemberOf(...trustDomains), pipeline, {
      maxConcurrentStreams: config.limits.maxConcurrentStreams,
      onRejectedConnection: (err, remote) => {
        metrics.rejectedConnections.inc();
        logger.info({ remote, reason: err.message }, 'connection refused');
      },
    });
    const address = await listener.listen(config.listen.port, config.listen.host);
    logger.info(
      { listen: address, admin: adminAddress, spiffeId: source.getX509Svid().id.toString(), trustDomains: trustDomains.map(String), policySet: policies.hash, policies: policies.size },
      'toolgate is serving',
    );
    return new Gateway(config, source, pipeline, metrics, listener, admin, channels, logger, decisionLog, address, adminAddress);
  }

  private closing: Promise<void> | undefined;

  /** Drains in-flight calls for up to `graceMs`, then releases everything. Idempotent. */
  close(graceMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.logger.info({ graceMs }, 'draining');
    await this.listener.drain(graceMs);
    for (const channel of this.channels) channel.close();
    await this.admin?.close();
    this.source.close();
    this.decisionLog.flush();
    this.logger.flush();
  }
}

/** Why the gateway cannot serve right now, or undefined when it can. */
function readiness(source: X509Source): string | undefined {
  if (source.closed) return 'shutting down';
  try {
    source.getX509Svid();
    return undefined;
  } catch {
    return 'no X.509-SVID (withdrawn by the Workload API)';
  }
}

function svidExpirySeconds(source: X509Source): number | undefined {
  try {
    return (source.getX509Svid().expiresAt.getTime() - Date.now()) / 1000;
  } catch {
    return undefined;
  }
}
