import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config/config-error';
import type { GatewayConfig } from '../config/gateway-config';
import { IdentityMapper } from '../identity/identity-mapper';
import { AdminServer } from '../observability/admin-server';
import { checkpointKeysHandler, CHECKPOINT_KEYS_PATH, readCheckpointKeyFile } from '../observability/checkpoint-key';
import { DecisionLog, type DecisionSink } from '../observability/decision-log';
import { createLogger, createRecordDestination, type Logger } from '../observability/logger';
import { previousOrigin } from '../observability/previous-origin';
import { GatewayMetrics } from '../observability/metrics';
import { parseTraceSpec, Tracing, type TraceComponent } from '../observability/trace';
import { loadPolicies, policyFolders, type LoadedPolicies } from '../policy/policy-store';
import { ReloadWatcher } from '../policy/reload-watcher';
import { CallerSlots } from '../limits/caller-slots';
import { upstreamCatalog } from '../relay/upstream-catalog';
import { UpstreamChannel } from '../relay/upstream-channel';
import type { TrustDomain } from '../spiffe/id/trust-domain';
import { authorizeMemberOf } from '../spiffe/tls/authorizer';
import { X509Source } from '../spiffe/workload/x509-source';
import { jwksHandler, JWKS_PATH } from '../credentials/jwks-route';
import { KeyRing } from '../credentials/key-ring';
import { WorkloadTokenAuthenticator } from '../identity/workload-token-authenticator';
import { JwtSource } from '../spiffe/workload/jwt-source';
import { TokenListener } from './token-listener';
import { McpBearerRoutes } from './mcp-bearer-routes';
import type { GatewayState } from './call-context';
import { CallPipeline } from './call-pipeline';
import { openSharedState, type SharedState } from './shared-state';
import { ApprovalActions } from './approval-actions';
import { openApprovalsConsole } from './approvals-console-listener';
import { ApprovalExpirySweep } from './approval-expiry-sweep';
import { ApprovalNotices } from './approval-notices';
import { NotifyingApprovalStore } from '../approvals/notifying-approval-store';
import { taskPipelineOptions } from './task-services';
import { decisionIdGenerator } from './decision-id';
import { ConnectionLimitError } from '../spiffe/tls/tls-server';
import { GatewayListener } from './gateway-listener';
import { GatewayReloader, watchPlan, type ReloadOutcome } from './gateway-reloader';
import { ResourceStack } from './resource-stack';
import { fastPathReporting, shadowReporting } from './shadow-disagreements';
import { SVID_EXPIRED_REASON, SvidExpiry } from './svid-expiry';
import type { TlsHttp2Listener } from './tls-http2-listener';
import { isOutage, WorkloadApiOutageLog } from './workload-api-outage';
import { openMcpUpstreams, type McpUpstreams } from './mcp-upstreams';

export interface StartOptions {
  /** Operational log (not the decision log). Default: pino on stderr at the config's level. */
  logger?: Logger;
  /** Where decision log lines go. Default: `config.decisionLog.destination`, written asynchronously in batches. */
  decisionLog?: DecisionSink;
  /** How long to wait for the first SVID; default: for ever (readiness says why). */
  svidTimeoutMs?: number;
  /** Aborts a start that is still waiting for the first SVID. */
  signal?: AbortSignal;
  /**
   * The file `config` was loaded from: a reload re-reads it, and it is watched. Without it
   * the config is fixed and a reload re-reads the policy folders only.
   */
  configFile?: string;
  /** Components to trace at debug level; default: those `$TOOLGATE_TRACE` names (docs/config.md, "Debug tracing"). */
  trace?: readonly TraceComponent[];
  /** Node flags of the production list (src/cli/node-flags.ts) this process runs without: logged once at `warn`. */
  missingNodeFlags?: readonly string[];
}

/** What a release needs to know of the moment: how long the listeners may drain calls in flight (0 for a failed start). */
interface Release {
  readonly graceMs: number;
}

/** The parts of a running gateway that outlive its start: what reload, readiness and the accessors use. */
interface Running {
  readonly source: X509Source;
  readonly pipeline: CallPipeline;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly reloader: GatewayReloader;
  readonly watcher: ReloadWatcher;
  readonly ring: KeyRing;
  readonly decisionLog: DecisionLog;
  readonly address: AddressInfo;
  readonly adminAddress: AddressInfo | undefined;
  readonly tokenAddress: AddressInfo | undefined;
  readonly approvals: ApprovalActions;
  readonly consoleAddress: AddressInfo | undefined;
  /** `approvals.webhook`, when configured: its secret file is read again on reload. */
  readonly approvalNotices: ApprovalNotices | undefined;
}

/**
 * A running gateway: the Workload API source, the gRPC listeners, the upstream
 * connections and the admin endpoint, assembled from a validated config; and the reload
 * of its config and policies, on `reload()` and, when `reload.watch` is on, on changes to
 * their files. Everything it opens is held on one resource stack, released in reverse
 * order by a start that fails and by `close()` alike.
 */
export class Gateway {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly running: Running,
    private readonly resources: ResourceStack<Release>,
  ) {}

  static async start(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
    const logs = openLogs(config, options);
    if (options.missingNodeFlags?.length) {
      logs.logger.warn(
        { missing: options.missingNodeFlags },
        'node runs without the production flags (README, "Node flags"): the gateway decides and relays the same, with more memory and a slower first burst after an idle spell',
      );
    }
    const trace = logs.tracing.for('gateway');
    const resources = new ResourceStack<Release>(
      (name, err) => logs.logger.warn({ resource: name, err: err instanceof Error ? err.message : String(err) }, 'release failed'),
      trace && ((event, name) => trace.debug({ resource: name }, event)),
    );
    // Flushed last, whatever else is released.
    resources.add('logs', () => {
      // The closing checkpoint: an auditor sees the log end here, not cut short.
      logs.decisionLog.close();
      logs.logger.flush();
    });
    const lifecycle: Lifecycle = { gateway: undefined, changedDuringStart: false };
    try {
      const gateway = new Gateway(await assemble(config, options, logs, resources, lifecycle), resources);
      lifecycle.gateway = gateway;
      if (lifecycle.changedDuringStart) gateway.reload('files changed during start');
      return gateway;
    } catch (err) {
      await resources.release({ graceMs: 0 });
      throw err;
    }
  }

  get source(): X509Source {
    return this.running.source;
  }

  get pipeline(): CallPipeline {
    return this.running.pipeline;
  }

  get metrics(): GatewayMetrics {
    return this.running.metrics;
  }

  get address(): AddressInfo {
    return this.running.address;
  }

  get adminAddress(): AddressInfo | undefined {
    return this.running.adminAddress;
  }

  /** Approve or deny escalated calls' approval requests, each a decision record naming who acted (docs/approvals.md). */
  get approvals(): ApprovalActions {
    return this.running.approvals;
  }

  /** The approvers' console's address, when `approvals.console` is configured. */
  get consoleAddress(): AddressInfo | undefined {
    return this.running.consoleAddress;
  }

  /** The token listener's address, when `workloadTokens` is configured. */
  get tokenAddress(): AddressInfo | undefined {
    return this.running.tokenAddress;
  }

  /** The config in force: the last one loaded without error, restart-only keys as at start. */
  get config(): GatewayConfig {
    return this.running.reloader.config;
  }

  /** Whether a drain has begun (readiness ends at once). */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Re-reads the config file (when the gateway has one) and the policy folders, and puts
   * them in force between calls if all of it is valid; otherwise logs and counts the
   * failure and keeps serving the last good. SIGHUP calls this. Never throws.
   */
  reload(reason = 'requested'): ReloadOutcome {
    const { reloader, ring, logger, watcher, decisionLog, approvalNotices } = this.running;
    const outcome = reloader.reload(reason);
    // A rotated decision log file (logrotate renames it, then sends SIGHUP): the chain continues in a new one.
    decisionLog.reopen();
    // A mounted key Secret may have been rotated: follow it (a bad file keeps the current key).
    ring.reloadFile().then(
      (rotated) => rotated && logger.info({ signingKey: ring.keys.currentKid }, 'signing key rotated from its file'),
      (err: Error) => logger.error({ err: err.message }, 'signing key file not reloaded; keeping the current key'),
    );
    // A rotated webhook secret (a new whsec_ line) signs from now on.
    approvalNotices?.reloadSecrets();
    // Folders, their targets (a ConfigMap swap) or the watch settings may have changed.
    if (!this.closing) watcher.update(reloader.watchPlan());
    return outcome;
  }

  /** Drains in-flight calls for up to `graceMs`, then releases everything, newest first. Idempotent. */
  close(graceMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    if (this.closing === undefined) {
      this.running.logger.info({ graceMs }, 'draining');
      this.closing = this.resources.release({ graceMs });
    }
    return this.closing;
  }
}

/** Beyond the task TTL cap, how long a retired signing key still verifies (token leeway, clock skew). */
const KEY_RETAIN_MARGIN_SECONDS = 120;

/** The gateway as its start sees it: not there until every listener accepts connections. */
interface Lifecycle {
  gateway: Gateway | undefined;
  /** A watched file changed before the gateway was up: reloaded once it is. */
  changedDuringStart: boolean;
}

interface Logs {
  readonly logger: Logger;
  readonly decisionLog: DecisionLog;
  readonly tracing: Tracing;
}

/** The operational log, the one decision record writer, and the traces asked for. */
function openLogs(config: GatewayConfig, options: StartOptions): Logs {
  const logger = options.logger ?? createLogger({ destination: 'stderr', level: config.logLevel, base: { service: 'toolgate' } });
  const { destination, checkpointKeyFile, checkpointRecords, checkpointSeconds } = config.decisionLog;
  // The key first: a bad key file stops the start before the log file is opened.
  const signer = checkpointKeyFile === undefined ? undefined : readCheckpointKeyFile(checkpointKeyFile);
  // Read before the first line is written: the new origin names where the last one stopped.
  const previous = options.decisionLog === undefined && destination !== 'stdout' ? previousOrigin(destination) : undefined;
  const decisionLog = new DecisionLog({
    sink: options.decisionLog ?? createRecordDestination(destination),
    ...(signer && { signer }),
    checkpointRecords,
    checkpointSeconds,
    ...(previous && { previous }),
  });
  let components = options.trace;
  if (components === undefined) {
    const spec = parseTraceSpec(process.env.TOOLGATE_TRACE);
    if (spec.unknown.length > 0) logger.warn({ unknown: spec.unknown }, 'TOOLGATE_TRACE names components that do not trace; ignored');
    components = spec.components;
  }
  const tracing = components.length === 0 ? Tracing.off : new Tracing(logger, components);
  return { logger, decisionLog, tracing };
}

/**
 * Makes everything, in the order that fails fastest and never serves half-made: policies,
 * the watcher, the admin endpoint, keys and task state, the SVID (waited for), upstreams,
 * the pipeline, and last the listeners. Each resource goes on `resources` as it is made.
 */
async function assemble(config: GatewayConfig, options: StartOptions, logs: Logs, resources: ResourceStack<Release>, lifecycle: Lifecycle): Promise<Running> {
  const { logger } = logs;
  const metrics = new GatewayMetrics({ defaultMetrics: true });
  // Policies first: a bad set (live or shadow) must stop the start before anything listens.
  const shadow = { ...shadowReporting(logger, metrics), engine: fastPathReporting(logger, metrics, config.policyEngine) };
  const policies = loadPolicies(policyFolders(config.policies, config.shadowPolicies), shadow);
  const watcher = openWatcher(config, options, policies, logger, lifecycle, resources);

  // Ready only while serving: the gateway is set once every listener accepts connections, and
  // a drain ends readiness at once (a probe must not send calls to a gateway that is leaving).
  let readiness: () => string | undefined = () => 'waiting for the first X.509-SVID';
  const ready = () => readiness();
  const admin = await openAdmin(config, metrics, ready, resources);
  // Keys and task state before the SVID wait: a bad key file, webhook secret or an unreachable Redis stops the start.
  const approvalNotices = openApprovalNotices(config, metrics, logger, resources);
  const { ring, shared } = await openTaskState(config, resources, approvalNotices);
  const { source, jwtSource } = await openWorkloadSources(config, options, resources);
  const expiry = watchSvid(source, logger);
  readiness = () => {
    if (lifecycle.gateway === undefined) return 'starting: not yet accepting connections';
    if (lifecycle.gateway.isClosing) return 'shutting down';
    return svidReadiness(source, expiry);
  };
  metrics.watchSvidExpiry(() => (hasSvid(source) ? expiry.secondsLeft() : undefined));
  const trustDomains = callerTrustDomains(config, source);
  const channels = await openUpstreams(config, source, expiry, logger, resources);
  admin?.server.route(JWKS_PATH, jwksHandler(ring.keys));
  admin?.server.route(
    CHECKPOINT_KEYS_PATH,
    checkpointKeysHandler(() => [logs.decisionLog.signer.verifier]),
  );

  const state: GatewayState = {
    identities: new IdentityMapper(config.identities, { trustDomains: trustDomains.all }),
    engine: policies.engine,
    policyHash: policies.live.hash,
    routes: new Map(config.upstreams.flatMap((u, i) => u.services.map((service) => [service, channels[i]] as const))),
  };
  const gatewayId = followGatewayId(source);
  const taskOptions = taskPipelineOptions(config, ring.keys, shared, gatewayId, logger);
  resources.add('open task calls', () => taskOptions.openTasks.close());
  const nextDecisionId = decisionIdGenerator();
  // One count of open calls per caller, gRPC and MCP alike.
  const callerSlots = new CallerSlots(config.limits.perCaller.maxConcurrentCalls);
  // The pipeline is made next; the records name the policy set in force when an approver acts.
  let policyHash = () => state.policyHash;
  const approvals = new ApprovalActions(shared.approvals, logs.decisionLog, nextDecisionId, () => policyHash());
  // One store and one hold for escalated gRPC and MCP calls alike.
  const approvalOptions = {
    store: shared.approvals,
    holdMs: config.approvals.holdSeconds * 1000,
    defaultTtlMs: config.approvals.defaultTtlSeconds * 1000,
    maxTtlMs: config.approvals.maxTtlSeconds * 1000,
    maxPendingPerCaller: config.approvals.maxPendingPerCaller,
    // With the console, what approvers are shown of a held call (its arguments, redacted), gRPC and MCP alike.
    ...(config.approvals.console && { show: { redact: config.approvals.console.redact } }),
  };
  const expirySweep = new ApprovalExpirySweep({ store: shared.approvals, actions: approvals, logger });
  resources.add('approval expiry sweep', () => expirySweep.close());
  const pipeline = new CallPipeline(state, {
    decisionLog: logs.decisionLog,
    logger,
    metrics,
    tracing: logs.tracing,
    nextDecisionId,
    metadataAllow: config.metadata.allow,
    maxMessageBytes: config.limits.maxMessageBytes,
    callerSlots,
    streamIdleMs: config.limits.streamIdleSeconds * 1000,
    isReady: () => ready() === undefined,
    unavailable: () => expiry.reason(),
    ...taskOptions,
    gatewayId,
    approvals: {
      ...approvalOptions,
      actions: approvals,
    },
  });
  policyHash = () => pipeline.current.policyHash;
  const reloader = new GatewayReloader(config, policies, {
    configFile: options.configFile,
    pipeline,
    trustDomains: trustDomains.all,
    logger,
    metrics,
    shadow,
    // A logger passed in is the caller's: its level is theirs to set.
    ...(options.logger === undefined && { setLogLevel: (level: string) => (logger.level = level) }),
    // The MCP upstreams open below; a reload runs only once the gateway has started.
    useMcpCatalogs: (upstreams) => mcp.useCatalogs(upstreams),
  });

  const mcp = openMcpUpstreams(config, {
    source,
    state: () => pipeline.current,
    decisionLog: logs.decisionLog,
    metrics,
    nextDecisionId,
    callerSlots,
    logger,
    // The same guard (task budgets, agent rate), open-task registry and JWT minting as gRPC calls.
    guard: taskOptions.guard,
    openTasks: taskOptions.openTasks,
    upstreamToken: taskOptions.upstreamToken,
    // Past the SVID's notAfter, MCP requests on connections already open are refused, as gRPC calls are.
    unavailable: () => expiry.reason(),
    approvals: approvalOptions,
  });
  resources.add('MCP upstream connections', () => mcp.closeConnections());
  expiry.on('expired', () => mcp.closeConnections());
  const listening = await openListeners(config, { source, jwtSource, pipeline, mcp, trustDomains, gatewayId, nextDecisionId, metrics, logger, tracing: logs.tracing }, resources);
  const consoleAddress =
    config.approvals.console &&
    (await openApprovalsConsole(
      config.approvals.console,
      {
        source,
        store: shared.approvals,
        actions: approvals,
        identities: () => reloader.config.identities,
        callerTrustDomains: trustDomains.all,
        logger,
        decisionLog: logs.decisionLog,
        nextDecisionId,
        idleTimeoutMs: config.limits.connectionIdleSeconds * 1000,
        tls: { maxConnections: config.limits.maxConnections, handshakesPerTurn: config.limits.handshakesPerTurn, handshakesPerSecond: config.limits.handshakesPerSecond },
      },
      resources,
    ));
  logger.info(
    {
      listen: listening.address,
      admin: admin?.address,
      spiffeId: source.getX509Svid().id.toString(),
      trustDomains: trustDomains.all.map(String),
      tokenListen: listening.tokenAddress,
      policySet: policies.live.hash,
      policies: policies.live.size,
      taskState: shared.kind,
      signingKey: ring.keys.currentKid,
      shadowSet: policies.shadow?.hash,
      watching: watcher.folders,
    },
    'toolgate is serving',
  );
  return {
    source,
    pipeline,
    metrics,
    logger,
    reloader,
    watcher,
    ring,
    decisionLog: logs.decisionLog,
    address: listening.address,
    adminAddress: admin?.address,
    tokenAddress: listening.tokenAddress,
    approvals,
    consoleAddress,
    approvalNotices,
  };
}

/** The admin endpoint (health, readiness, metrics, later the JWKS), listening, when configured. */
async function openAdmin(
  config: GatewayConfig,
  metrics: GatewayMetrics,
  ready: () => string | undefined,
  resources: ResourceStack<Release>,
): Promise<{ server: AdminServer; address: AddressInfo } | undefined> {
  if (!config.admin) return undefined;
  const server = new AdminServer(metrics.registry, ready);
  const address = await server.listen(config.admin.port, config.admin.host);
  resources.add('admin endpoint', () => server.close());
  return { server, address };
}

/** `approvals.webhook`, when configured, its secret file read (a bad one stops the start). */
function openApprovalNotices(config: GatewayConfig, metrics: GatewayMetrics, logger: Logger, resources: ResourceStack<Release>): ApprovalNotices | undefined {
  if (config.approvals.webhook === undefined) return undefined;
  const notices = new ApprovalNotices(config.approvals.webhook, metrics, logger);
  resources.add('approval webhook', () => notices.close());
  return notices;
}

/** The signing keys (task tokens, per-call JWTs) and the task store and rate limiter; each new approval request notified, with a webhook. */
async function openTaskState(config: GatewayConfig, resources: ResourceStack<Release>, notices: ApprovalNotices | undefined): Promise<{ ring: KeyRing; shared: SharedState }> {
  const ring = await KeyRing.create({
    ...(config.credentials.signingKeyFile !== undefined && { signingKeyFile: config.credentials.signingKeyFile }),
    rotateSeconds: config.credentials.rotateSeconds,
    // A retired key verifies what it signed for as long as that can live: a task token.
    retainSeconds: config.tasks.maxTtlSeconds + KEY_RETAIN_MARGIN_SECONDS,
  });
  resources.add('signing keys', () => ring.close());
  const opened = await openSharedState(config);
  resources.add('task state', () => opened.close());
  if (notices === undefined) return { ring, shared: opened };
  // Every request this replica makes, whatever path makes it, goes through the one store.
  return { ring, shared: { ...opened, approvals: new NotifyingApprovalStore(opened.approvals, (approval) => notices.webhook.notify(approval)) } };
}

/** The gateway's own X.509-SVID (waited for) and, for JWT-SVID callers, the Workload API's JWT bundles. */
async function openWorkloadSources(
  config: GatewayConfig,
  options: StartOptions,
  resources: ResourceStack<Release>,
): Promise<{ source: X509Source; jwtSource: JwtSource | undefined }> {
  const api = { address: config.spiffe.endpointSocket, timeoutMs: options.svidTimeoutMs ?? Infinity, signal: options.signal };
  const source = await X509Source.create(api);
  resources.add('X.509 source', () => source.close());
  if (!config.workloadTokens?.jwtSvid) return { source, jwtSource: undefined };
  const jwtSource = await JwtSource.create(api);
  resources.add('JWT source', () => jwtSource.close());
  return { source, jwtSource };
}

/**
 * One connection per upstream, in the config's order. Each upstream's methods are known
 * first (protos, or its reflection, which must answer: fail closed before anything listens).
 * A rotated SVID is used by new upstream connections (old ones finish their calls); past its
 * notAfter nothing goes on with the expired SVID: the upstream connections made with it are
 * cut (their calls end UNAVAILABLE), no new one presents it (SecureContextCache), no new
 * caller connection is accepted, every call is refused (`unavailable`), until a new one comes.
 */
async function openUpstreams(config: GatewayConfig, source: X509Source, expiry: SvidExpiry, logger: Logger, resources: ResourceStack<Release>): Promise<UpstreamChannel[]> {
  const catalogs = await Promise.all(config.upstreams.map((u) => upstreamCatalog(u, source)));
  const onUpstreamError = (name: string) => (err: Error) => logger.warn({ upstream: name, err: err.message }, 'upstream connection failed');
  const channels = config.upstreams.map((u, i) => new UpstreamChannel(u, catalogs[i], source, onUpstreamError(u.name)));
  resources.add('upstream channels', () => channels.forEach((c) => c.close()));
  source.on('update', () => channels.forEach((c) => c.retire()));
  expiry.on('expired', (expiresAt) => {
    logger.error({ expiresAt: expiresAt.toISOString() }, 'X.509-SVID expired: not ready, refusing new connections and every call until the Workload API delivers a new one');
    channels.forEach((c) => c.close(new Error(SVID_EXPIRED_REASON)));
  });
  return channels;
}

/**
 * Watches the config file and the policy folders from the start, so that a change while
 * waiting for the SVID is not missed: it is remembered and reloaded once the gateway is up.
 * Once a drain has begun, changes are not reloaded.
 */
function openWatcher(
  config: GatewayConfig,
  options: StartOptions,
  policies: LoadedPolicies,
  logger: Logger,
  lifecycle: Lifecycle,
  resources: ResourceStack<Release>,
): ReloadWatcher {
  const watcher = new ReloadWatcher({
    onChange: () => {
      const gateway = lifecycle.gateway;
      if (gateway === undefined) lifecycle.changedDuringStart = true;
      else if (!gateway.isClosing) gateway.reload('files changed');
    },
    onError: (folder, err) => logger.warn({ folder, err: err.message }, 'cannot watch for changes; SIGHUP still reloads'),
  });
  resources.add('watcher', () => watcher.close());
  watcher.update(watchPlan(options.configFile, config, policies.folders));
  return watcher;
}

/** The SVID's expiry, watched, and what goes wrong with the Workload API, logged. */
function watchSvid(source: X509Source, logger: Logger): SvidExpiry {
  // A failing Workload API is logged by the outage log, rate-limited; anything else here.
  source.on('error', (err) => isOutage(err) || logger.warn({ err: err.message }, 'workload API'));
  const expiry = new SvidExpiry(source);
  new WorkloadApiOutageLog(source, expiry, logger);
  source.on('withdrawn', (err) => logger.error({ err: err.message }, 'X.509-SVID withdrawn: refusing new connections'));
  return expiry;
}

/**
 * The trust domains callers are accepted from: the configured SPIFFE ones (default: the
 * gateway's own) and, for bearer callers only, those OIDC issuers' subjects are named in.
 * An OIDC issuer may not name a SPIFFE trust domain: it could mint the identities of SPIFFE
 * callers. (The config check cannot know the gateway's own trust domain: checked here, before listening.)
 */
function callerTrustDomains(config: GatewayConfig, source: X509Source): CallerTrustDomains {
  const spiffe: TrustDomain[] = config.spiffe.trustDomains ?? [source.getX509Svid().id.trustDomain];
  const clash = config.workloadTokens?.oidc.find((o) => spiffe.some((td) => td.equals(o.trustDomain)));
  if (clash) {
    const message = `trust domain "${clash.trustDomain.name}" of ${clash.issuer} is the gateway's own: an OIDC issuer could mint the identities of SPIFFE callers`;
    throw new ConfigError('', [{ path: 'workloadTokens.oidc', message }]);
  }
  const all = [...spiffe, ...(config.workloadTokens?.oidc.map((o) => o.trustDomain) ?? [])];
  return { spiffe, all };
}

interface CallerTrustDomains {
  /** Callers with X.509-SVIDs (the mTLS listener) and JWT-SVIDs. */
  readonly spiffe: readonly TrustDomain[];
  /** Every caller: the SPIFFE ones and the OIDC issuers' (the token listener only). */
  readonly all: readonly TrustDomain[];
}

/**
 * The gateway's SPIFFE ID, for every call token's `iss` and every JWT-SVID's audience,
 * following rotations; a withdrawn SVID leaves the last one (no call is relayed without an SVID anyway).
 */
function followGatewayId(source: X509Source): () => string {
  let id = source.getX509Svid().id.toString();
  source.on('update', () => {
    try {
      id = source.getX509Svid().id.toString();
    } catch {
      // withdrawn: readiness reports it
    }
  });
  return () => id;
}

interface ListenerParts {
  source: X509Source;
  jwtSource: JwtSource | undefined;
  pipeline: CallPipeline;
  /** The MCP upstreams, served by the mTLS listener at `/mcp/<upstream>`. */
  mcp: McpUpstreams;
  trustDomains: CallerTrustDomains;
  gatewayId: () => string;
  nextDecisionId: () => string;
  metrics: GatewayMetrics;
  logger: Logger;
  tracing: Tracing;
}

/** The limits both listeners share, from `limits.*`. */
function listenerLimits(config: GatewayConfig) {
  return {
    ...(config.limits.maxConcurrentStreams !== undefined && { maxConcurrentStreams: config.limits.maxConcurrentStreams }),
    maxConnections: config.limits.maxConnections,
    handshakesPerTurn: config.limits.handshakesPerTurn,
    handshakesPerSecond: config.limits.handshakesPerSecond,
    idleTimeoutMs: config.limits.connectionIdleSeconds * 1000,
  };
}

/**
 * The mTLS listener and, with `workloadTokens`, the token listener, listening. They are
 * released as one (a drain stops both at once: GOAWAY, calls in flight given the grace
 * period together), and each only once it listens.
 */
async function openListeners(
  config: GatewayConfig,
  parts: ListenerParts,
  resources: ResourceStack<Release>,
): Promise<{ address: AddressInfo; tokenAddress: AddressInfo | undefined }> {
  const { source, pipeline, metrics, logger, trustDomains } = parts;
  const listening: TlsHttp2Listener<unknown>[] = [];
  resources.add('listeners', ({ graceMs }) => Promise.all(listening.map((l) => l.drain(graceMs))));
  const onRejectedConnection = (listenerName: string) => (err: Error, remote: string | undefined) => {
    metrics.rejectedConnections.inc();
    if (err instanceof ConnectionLimitError) metrics.connectionsOverLimit.labels(listenerName, err.limit).inc();
    logger.info({ remote, listener: listenerName, reason: err.message }, 'connection refused');
  };
  const limits = listenerLimits(config);
  const trace = parts.tracing.for('tls');
  const listener = new GatewayListener(source, authorizeMemberOf(...trustDomains.spiffe), pipeline, {
    ...limits,
    maxConnectionsPerCaller: config.limits.perCaller.maxConnections,
    onRejectedConnection: onRejectedConnection('mtls'),
    mcp: parts.mcp.routes,
    trace,
  });
  const tokens = config.workloadTokens;
  let tokenListener: TokenListener | undefined;
  if (tokens) {
    const accepted = new Set(trustDomains.all.map((td) => td.name));
    const authenticator = new WorkloadTokenAuthenticator({
      ...(parts.jwtSource && { jwtSvid: { bundles: parts.jwtSource, audience: parts.gatewayId } }),
      oidc: tokens.oidc,
      acceptTrustDomain: (td) => accepted.has(td.name),
    });
    const mcp = new McpBearerRoutes({
      routes: parts.mcp.routes,
      authenticator,
      authorizationServers: tokens.oidc.map((o) => o.issuer),
      // Recorded as MCP refusals, with the HTTP status the caller got (a gRPC call's refusal has its gRPC status).
      onRejected: parts.mcp.routes.refuseOnTokenListener,
    });
    tokenListener = new TokenListener(source, authenticator, pipeline, {
      ...limits,
      mcp,
      onRejectedConnection: onRejectedConnection('token'),
      nextDecisionId: parts.nextDecisionId,
      onRejectedCall: (reason, code, decisionId) => pipeline.recordTokenRefusal(reason, code, decisionId),
      trace,
    });
  }
  metrics.watchListeners(() => ({ mtls: listener, ...(tokenListener && { token: tokenListener }) }));
  const address = await listener.listen(config.listen.port, config.listen.host);
  listening.push(listener);
  const tokenAddress = tokenListener && (await tokenListener.listen(tokens!.listen.port, tokens!.listen.host));
  if (tokenListener) listening.push(tokenListener);
  return { address, tokenAddress };
}

/** Why the gateway cannot serve right now, or undefined when it can: no SVID, or an expired one (it accepts no connection and refuses every call then). */
function svidReadiness(source: X509Source, expiry: SvidExpiry): string | undefined {
  if (source.closed) return 'shutting down';
  if (!hasSvid(source)) return 'no X.509-SVID (withdrawn by the Workload API)';
  if (expiry.isExpired()) return `X.509-SVID expired at ${expiry.expiresAt!.toISOString()}`;
  return undefined;
}

function hasSvid(source: X509Source): boolean {
  try {
    source.getX509Svid();
    return true;
  } catch {
    return false;
  }
}
