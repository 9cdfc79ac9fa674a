import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '../config/gateway-config';
import { IdentityMapper } from '../identity/identity-mapper';
import { AdminServer } from '../observability/admin-server';
import { createLogger, type Logger } from '../observability/logger';
import { GatewayMetrics } from '../observability/metrics';
import { loadPolicies, policyFolders } from '../policy/policy-store';
import { ReloadWatcher } from '../policy/reload-watcher';
import { CallerSlots } from '../limits/caller-slots';
import { upstreamCatalog } from '../relay/upstream-catalog';
import { UpstreamChannel } from '../relay/upstream-channel';
import type { TrustDomain } from '../spiffe/id/trust-domain';
import type { X509Svid } from '../spiffe/x509/x509-svid';
import { authorizeMemberOf } from '../spiffe/tls/authorizer';
import { X509Source } from '../spiffe/workload/x509-source';
import { jwksHandler, JWKS_PATH } from '../credentials/jwks-route';
import { KeyRing } from '../credentials/key-ring';
import { WorkloadTokenAuthenticator } from '../identity/workload-token-authenticator';
import { JwtSource } from '../spiffe/workload/jwt-source';
import { TokenListener } from './token-listener';
import { CallPipeline, type GatewayState } from './call-pipeline';
import { openSharedState, type SharedState } from './shared-state';
import { taskPipelineOptions } from './task-services';
import type { OpenTaskCalls } from './open-task-calls';
import { decisionIdGenerator } from './decision-id';
import { ConnectionLimitError } from '../spiffe/tls/tls-server';
import { GatewayListener } from './gateway-listener';
import { GatewayReloader, watchPlan, type ReloadOutcome } from './gateway-reloader';
import { shadowReporting } from './shadow-disagreements';
import { SVID_EXPIRED_REASON, SvidExpiry } from './svid-expiry';
import { isOutage, WorkloadApiOutageLog } from './workload-api-outage';
import { ConfigError } from '../config/config-error';

export interface StartOptions {
  /** Operational log (not the decision log). Default: pino on stderr at the config's level. */
  logger?: Logger;
  /** Decision log. Default: pino on `config.decisionLog.destination`. */
  decisionLog?: Logger;
  /** How long to wait for the first SVID; default: for ever (readiness says why). */
  svidTimeoutMs?: number;
  /** Aborts a start that is still waiting for the first SVID. */
  signal?: AbortSignal;
  /**
   * The file `config` was loaded from: a reload re-reads it, and it is watched. Without it
   * the config is fixed and a reload re-reads the policy folders only.
   */
  configFile?: string;
}

/**
 * A running gateway: the Workload API source, the gRPC listener, the upstream
 * connections and the admin endpoint, assembled from a validated config; and the reload
 * of its config and policies, on `reload()` and, when `reload.watch` is on, on changes to
 * their files.
 */
export class Gateway {
  private constructor(
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
    private readonly reloader: GatewayReloader,
    private readonly watcher: ReloadWatcher,
    private readonly credentials: Credentials,
  ) {}

  static async start(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? createLogger({ destination: 'stderr', level: config.logLevel, base: { service: 'toolgate' } });
    const decisionLog = options.decisionLog ?? createLogger({ destination: config.decisionLog.destination, base: { log: 'decision' } });
    const metrics = new GatewayMetrics({ defaultMetrics: true });

    // Policies first: a bad set (live or shadow) must stop the start before anything listens.
    const shadow = shadowReporting(logger, metrics);
    const policies = loadPolicies(policyFolders(config.policies, config.shadowPolicies), shadow);
    // Watching starts now, so that a change while waiting for the SVID below is not missed:
    // it is remembered and reloaded once the gateway is up.
    let gateway: Gateway | undefined;
    let changedDuringStart = false;
    const watcher = new ReloadWatcher({
      onChange: () => (gateway ? gateway.reload('files changed') : (changedDuringStart = true)),
      onError: (folder, err) => logger.warn({ folder, err: err.message }, 'cannot watch for changes; SIGHUP still reloads'),
    });
    watcher.update(watchPlan(options.configFile, config, policies.folders));

    let source: X509Source | undefined;
    // Ready only while serving: `gateway` is set once every listener accepts connections, and
    // a drain ends readiness at once (a probe must not send calls to a gateway that is leaving).
    const ready = (): string | undefined => {
      if (source === undefined) return 'waiting for the first X.509-SVID';
      if (gateway === undefined) return 'starting: not yet accepting connections';
      if (gateway.closing) return 'shutting down';
      return readiness(source);
    };
    const admin = config.admin ? new AdminServer(metrics.registry, ready) : undefined;
    const adminAddress = admin ? await admin.listen(config.admin!.port, config.admin!.host) : undefined;

    let catalogs;
    let shared: SharedState | undefined;
    let ring: KeyRing | undefined;
    let jwtSource: JwtSource | undefined;
    /** Releases what a start that fails before listening has opened. */
    const abandon = async () => {
      watcher.close();
      await admin?.close();
      source?.close();
      jwtSource?.close();
      ring?.close();
      await shared?.close();
    };
    try {
      // Keys and task state before the SVID wait: a bad key file or an unreachable Redis stops the start.
      ring = await KeyRing.create({
        ...(config.credentials.signingKeyFile !== undefined && { signingKeyFile: config.credentials.signingKeyFile }),
        rotateSeconds: config.credentials.rotateSeconds,
        // A retired key verifies what it signed for as long as that can live: a task token.
        retainSeconds: config.tasks.maxTtlSeconds + KEY_RETAIN_MARGIN_SECONDS,
      });
      shared = await openSharedState(config);
      source = await X509Source.create({ address: config.spiffe.endpointSocket, timeoutMs: options.svidTimeoutMs ?? Infinity, signal: options.signal });
      // JWT-SVID callers are validated against the Workload API's JWT bundles.
      if (config.workloadTokens?.jwtSvid) jwtSource = await JwtSource.create({ address: config.spiffe.endpointSocket, timeoutMs: options.svidTimeoutMs ?? Infinity, signal: options.signal });
      // Before anything listens: an upstream whose reflection fails stops the start (fail closed).
      catalogs = await Promise.all(config.upstreams.map((u) => upstreamCatalog(u, source!)));
    } catch (err) {
      await abandon();
      throw err;
    }
    const keys = ring.keys;
    admin?.route(JWKS_PATH, jwksHandler(keys));
    // A failing Workload API is logged by the outage log, rate-limited; anything else here.
    source.on('error', (err) => isOutage(err) || logger.warn({ err: err.message }, 'workload API'));
    const expiry = new SvidExpiry(source);
    new WorkloadApiOutageLog(source, expiry, logger);
    source.on('withdrawn', (err) => logger.error({ err: err.message }, 'X.509-SVID withdrawn: refusing new connections'));
    metrics.watchSvidExpiry(() => svidExpirySeconds(source!));

    const own = source.getX509Svid().id.trustDomain;
    const spiffeDomains: TrustDomain[] = config.spiffe.trustDomains ?? [own];
    // The config check cannot know the gateway's own trust domain: checked here, before listening.
    const clash = config.workloadTokens?.oidc.find((o) => spiffeDomains.some((td) => td.equals(o.trustDomain)));
    if (clash) {
      await abandon();
      const message = `trust domain "${clash.trustDomain.name}" of ${clash.issuer} is the gateway's own: an OIDC issuer could mint the identities of SPIFFE callers`;
      throw new ConfigError('', [{ path: 'workloadTokens.oidc', message }]);
    }
    // Callers with OIDC workload tokens (token listener only) are named in their issuer's trust domain.
    const trustDomains = [...spiffeDomains, ...(config.workloadTokens?.oidc.map((o) => o.trustDomain) ?? [])];
    const onUpstreamError = (name: string) => (err: Error) => logger.warn({ upstream: name, err: err.message }, 'upstream connection failed');
    const channels = config.upstreams.map((u, i) => new UpstreamChannel(u, catalogs[i], source!, onUpstreamError(u.name)));
    // A rotated SVID is used by new upstream connections; old ones finish their calls.
    source.on('update', () => channels.forEach((c) => c.retire()));
    // Past notAfter nothing goes on with the expired SVID: the upstream connections made with it
    // are cut (their calls end UNAVAILABLE), no new one presents it (SecureContextCache), no new
    // caller connection is accepted, every call is refused (`unavailable`), until a new one comes.
    expiry.on('expired', (expiresAt) => {
      logger.error({ expiresAt: expiresAt.toISOString() }, 'X.509-SVID expired: not ready, refusing new connections and every call until the Workload API delivers a new one');
      channels.forEach((c) => c.close(new Error(SVID_EXPIRED_REASON)));
    });

    const state: GatewayState = {
      identities: new IdentityMapper(config.identities, { trustDomains }),
      engine: policies.engine,
      policyHash: policies.live.hash,
      routes: new Map(config.upstreams.flatMap((u, i) => u.services.map((service) => [service, channels[i]] as const))),
    };
    // The gateway's SPIFFE ID, for every call token's `iss` and every JWT-SVID's audience; a
    // withdrawn SVID leaves the last one (no call is relayed without an SVID anyway).
    let gatewayId = source.getX509Svid().id.toString();
    source.on('update', () => {
      try {
        gatewayId = source!.getX509Svid().id.toString();
      } catch {
        // withdrawn: readiness reports it
      }
    });
    const taskOptions = taskPipelineOptions(config, keys, shared, () => gatewayId, logger);
    const nextDecisionId = decisionIdGenerator();
    const pipeline = new CallPipeline(state, {
      decisionLog,
      logger,
      metrics,
      nextDecisionId,
      metadataAllow: config.metadata.allow,
      maxMessageBytes: config.limits.maxMessageBytes,
      callerSlots: new CallerSlots(config.limits.perCaller.maxConcurrentCalls),
      streamIdleMs: config.limits.streamIdleSeconds * 1000,
      isReady: () => ready() === undefined,
      unavailable: () => expiry.reason(),
      ...taskOptions,
      gatewayId: () => gatewayId,
    });
    const onRejectedConnection = (listenerName: string) => (err: Error, remote: string | undefined) => {
      metrics.rejectedConnections.inc();
      if (err instanceof ConnectionLimitError) metrics.connectionsOverLimit.labels(listenerName, err.limit).inc();
      logger.info({ remote, listener: listenerName, reason: err.message }, 'connection refused');
    };
    const connectionLimits = {
      maxConnections: config.limits.maxConnections,
      handshakesPerTurn: config.limits.handshakesPerTurn,
      idleTimeoutMs: config.limits.connectionIdleSeconds * 1000,
    };
    const listener = new GatewayListener(source, authorizeMemberOf(...spiffeDomains), pipeline, {
      maxConcurrentStreams: config.limits.maxConcurrentStreams,
      ...connectionLimits,
      maxConnectionsPerCaller: config.limits.perCaller.maxConnections,
      onRejectedConnection: onRejectedConnection('mtls'),
    });
    const reloader = new GatewayReloader(config, policies, {
      configFile: options.configFile,
      pipeline,
      trustDomains,
      logger,
      metrics,
      shadow,
      // A logger passed in is the caller's: its level is theirs to set.
      ...(options.logger === undefined && { setLogLevel: (level: string) => (logger.level = level) }),
    });
    const tokens = config.workloadTokens;
    let tokenListener: TokenListener | undefined;
    if (tokens) {
      const accepted = new Set(trustDomains.map((td) => td.name));
      const authenticator = new WorkloadTokenAuthenticator({
        ...(jwtSource && { jwtSvid: { bundles: jwtSource, audience: () => gatewayId } }),
        oidc: tokens.oidc,
        acceptTrustDomain: (td) => accepted.has(td.name),
      });
      tokenListener = new TokenListener(source, authenticator, pipeline, {
        ...(config.limits.maxConcurrentStreams !== undefined && { maxConcurrentStreams: config.limits.maxConcurrentStreams }),
        ...connectionLimits,
        onRejectedConnection: onRejectedConnection('token'),
        nextDecisionId,
        onRejectedCall: (reason, code, decisionId) => {
          metrics.denied.inc();
          decisionLog.info({ decisionId, decision: 'deny', reason, code, listener: 'token' }, 'bearer token refused');
        },
      });
    }
    metrics.watchListeners(() => ({ mtls: listener, ...(tokenListener && { token: tokenListener }) }));
    const address = await listener.listen(config.listen.port, config.listen.host);
    const tokenAddress = await tokenListener?.listen(tokens!.listen.port, tokens!.listen.host);
    logger.info(
      {
        listen: address,
        admin: adminAddress,
        spiffeId: source.getX509Svid().id.toString(),
        trustDomains: trustDomains.map(String),
        tokenListen: tokenAddress,
        policySet: policies.live.hash,
        policies: policies.live.size,
        taskState: shared.kind,
        signingKey: keys.currentKid,
        shadowSet: policies.shadow?.hash,
        watching: watcher.folders,
      },
      'toolgate is serving',
    );
    const credentials: Credentials = { ring, shared, openTasks: taskOptions.openTasks, ...(tokenListener && { tokenListener, tokenAddress }), ...(jwtSource && { jwtSource }) };
    gateway = new Gateway(source, pipeline, metrics, listener, admin, channels, logger, decisionLog, address, adminAddress, reloader, watcher, credentials);
    if (changedDuringStart) gateway.reload('files changed during start');
    return gateway;
  }

  /** The token listener's address, when `workloadTokens` is configured. */
  get tokenAddress(): AddressInfo | undefined {
    return this.credentials.tokenAddress;
  }

  /** The config in force: the last one loaded without error, restart-only keys as at start. */
  get config(): GatewayConfig {
    return this.reloader.config;
  }

  /**
   * Re-reads the config file (when the gateway has one) and the policy folders, and puts
   * them in force between calls if all of it is valid; otherwise logs and counts the
   * failure and keeps serving the last good. SIGHUP calls this. Never throws.
   */
  reload(reason = 'requested'): ReloadOutcome {
    const outcome = this.reloader.reload(reason);
    // A mounted key Secret may have been rotated: follow it (a bad file keeps the current key).
    this.credentials.ring.reloadFile().then(
      (rotated) => rotated && this.logger.info({ signingKey: this.credentials.ring.keys.currentKid }, 'signing key rotated from its file'),
      (err: Error) => this.logger.error({ err: err.message }, 'signing key file not reloaded; keeping the current key'),
    );
    // Folders, their targets (a ConfigMap swap) or the watch settings may have changed.
    if (!this.closing) this.watcher.update(this.reloader.watchPlan());
    return outcome;
  }

  private closing: Promise<void> | undefined;

  /** Drains in-flight calls for up to `graceMs`, then releases everything. Idempotent. */
  close(graceMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.watcher.close();
    this.logger.info({ graceMs }, 'draining');
    await Promise.all([this.listener.drain(graceMs), this.credentials.tokenListener?.drain(graceMs)]);
    for (const channel of this.channels) channel.close();
    this.credentials.openTasks.close();
    this.credentials.ring.close();
    await this.credentials.shared.close();
    await this.admin?.close();
    this.source.close();
    this.credentials.jwtSource?.close();
    this.decisionLog.flush();
    this.logger.flush();
  }
}

/** Beyond the task TTL cap, how long a retired signing key still verifies (token leeway, clock skew). */
const KEY_RETAIN_MARGIN_SECONDS = 120;

/** The signing keys, the task state and the calls open under tasks: closed with the gateway. */
interface Credentials {
  readonly ring: KeyRing;
  readonly shared: SharedState;
  readonly openTasks: OpenTaskCalls;
  /** The listener for callers with bearer workload tokens, when configured. */
  readonly tokenListener?: TokenListener;
  readonly tokenAddress?: AddressInfo;
  readonly jwtSource?: JwtSource;
}

/** Why the gateway cannot serve right now, or undefined when it can. */
function readiness(source: X509Source): string | undefined {
  if (source.closed) return 'shutting down';
  const lapsed = svidExpired(source);
  if (lapsed !== undefined) return lapsed;
  try {
    source.getX509Svid();
    return undefined;
  } catch {
    return 'no X.509-SVID (withdrawn by the Workload API)';
  }
}

/** Why an SVID past its notAfter keeps the gateway unready (it accepts no connection and refuses every call then). */
function svidExpired(source: X509Source): string | undefined {
  let svid: X509Svid;
  try {
    svid = source.getX509Svid();
  } catch {
    return undefined; // withdrawn: readiness says so
  }
  return Date.now() > svid.expiresAt.getTime() ? `X.509-SVID expired at ${svid.expiresAt.toISOString()}` : undefined;
}

function svidExpirySeconds(source: X509Source): number | undefined {
  try {
    return (source.getX509Svid().expiresAt.getTime() - Date.now()) / 1000;
  } catch {
    return undefined;
  }
}
