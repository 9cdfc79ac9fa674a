import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the gauges read of one listener at each scrape. */
export interface ListenerGauges {
  readonly activeSessions: number;
  readonly waitingHandshakes: number;
}

// Buckets from 50 µs: a cached decision takes a few µs, a relayed call a few hundred.
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/**
 * The gateway's Prometheus metrics in their own registry (never the global one, so that
 * two gateways in one process, as in tests, do not collide). Label children used on the
 * hot path are bound once here.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'decision'>;
  readonly allowed;
  readonly denied;
  /** Calls held for a person's approval (docs/approvals.md); their end is counted again as allow or deny. */
  readonly escalated;
  readonly decisionSeconds: Histogram;
  readonly callSeconds: Histogram<'grpc_status'>;
  readonly upstreamErrors: Counter<'upstream'>;
  readonly rejectedConnections: Counter;
  private readonly reloads: Counter<'result'>;
  readonly reloadSucceeded;
  readonly reloadFailed;
  readonly lastReloadSuccessful: Gauge;
  private readonly policySetInfo: Gauge<'policy_set' | 'shadow_set'>;
  readonly shadowDisagreements: Counter<'shadow_decision'>;
  /** Sampled fast-path decisions cedar-wasm decided otherwise (docs/policies.md, "Fast path"); cedar-wasm's stood. */
  readonly fastPathDisagreements: Counter;
  /** Task lifecycle on this replica: begun, ended (EndTask here), cut (open calls cut at an end or expiry). */
  readonly taskEvents: Counter<'event'>;
  /** Calls the gateway refused outside a Cedar decision (task token or state, budgets, rate, on-behalf-of, store, bad task requests), by gRPC status. */
  readonly guardRefusals: Counter<'grpc_status'>;
  private svidExpiry: (() => number | undefined) | undefined;
  /** Counted by the policy engines of every set in force since the start (PolicyEngineOptions.evaluations), read at each scrape. */
  readonly policyEvaluations = { fastPath: 0, cedarWasm: 0 };
  private listeners: (() => Record<string, ListenerGauges>) | undefined;
  readonly connectionsOverLimit: Counter<'listener' | 'limit'>;
  /** MCP tools refused because their definition changed since it was pinned (docs/mcp.md, "Tool pinning"). */
  readonly mcpToolChanged: Counter<'upstream' | 'tool'>;
  /** MCP tools listed by a server whose pinned catalog (`mcp.tools`) does not hold them. */
  readonly mcpToolNotInCatalog: Counter<'upstream' | 'tool'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.decisions = new Counter({
      name: 'toolgate_decisions_total',
      help: 'Authorization decisions, by result (allow, deny, escalate).',
      labelNames: ['decision'],
      registers,
    });
    this.allowed = this.decisions.labels('allow');
    this.denied = this.decisions.labels('deny');
    this.escalated = this.decisions.labels('escalate');
    this.decisionSeconds = new Histogram({
      name: 'toolgate_decision_duration_seconds',
      help: 'Time to reach an authorization decision (identity, route and Cedar).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.callSeconds = new Histogram({
      name: 'toolgate_call_duration_seconds',
      help: 'Duration of relayed calls, from the request headers to the final status.',
      labelNames: ['grpc_status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'toolgate_upstream_errors_total',
      help: 'Calls that failed reaching or talking to an upstream.',
      labelNames: ['upstream'],
      registers,
    });
    this.rejectedConnections = new Counter({
      name: 'toolgate_rejected_connections_total',
      help: 'Connections refused at or after the TLS handshake (no valid SVID, untrusted or unauthorized ID).',
      registers,
    });
    this.reloads = new Counter({
      name: 'toolgate_policy_reload_total',
      help: 'Reloads of the config and policies, by result; a failed reload leaves the last good set serving.',
      labelNames: ['result'],
      registers,
    });
    // Bound now, so that both series exist (at 0) from the start and rate() works on them.
    this.reloadSucceeded = this.reloads.labels('success');
    this.reloadFailed = this.reloads.labels('failure');
    this.taskEvents = new Counter({
      name: 'toolgate_task_events_total',
      help: 'Tasks begun and ended on this replica, and calls of a task cut when it ended or expired.',
      labelNames: ['event'],
      registers,
    });
    this.guardRefusals = new Counter({
      name: 'toolgate_guard_refusals_total',
      help: 'Calls refused outside a Cedar decision (task token or state, budgets, rate limit, on-behalf-of token, task store, invalid task requests), by the gRPC status returned.',
      labelNames: ['grpc_status'],
      registers,
    });
    this.lastReloadSuccessful = new Gauge({
      name: 'toolgate_policy_last_reload_successful',
      help: '1 when the last reload (or the start) succeeded; 0 while the files on disk are refused and the last good set serves (alert on 0).',
      registers,
    });
    this.lastReloadSuccessful.set(1);
    this.policySetInfo = new Gauge({
      name: 'toolgate_policy_set_info',
      help: 'Always 1; labels name the policy set in force (the decision log\'s policySet) and the shadow set ("" for none).',
      labelNames: ['policy_set', 'shadow_set'],
      registers,
    });
    this.shadowDisagreements = new Counter({
      name: 'toolgate_shadow_disagreements_total',
      help: 'Decisions the shadow (candidate) policy set would have made otherwise, by what it would have decided; never applied.',
      labelNames: ['shadow_decision'],
      registers,
    });
    this.fastPathDisagreements = new Counter({
      name: 'toolgate_policy_fast_path_disagreements_total',
      help: "Sampled decisions of the policy fast path that cedar-wasm decided otherwise; cedar-wasm's decision was used. Any is a bug: report it.",
      registers,
    });
    this.connectionsOverLimit = new Counter({
      name: 'toolgate_connections_over_limit_total',
      help: 'Connections closed because a limit was reached: the listener\'s limits.maxConnections (limit="listener") or a caller\'s limits.perCaller.maxConnections (limit="caller").',
      labelNames: ['listener', 'limit'],
      registers,
    });
    this.mcpToolChanged = new Counter({
      name: 'toolgate_mcp_tool_changed_total',
      help: 'New definitions of an MCP tool that differ from its pin, by upstream and tool; the tool is refused (hidden, calls denied) until pinned again.',
      labelNames: ['upstream', 'tool'],
      registers,
    });
    this.mcpToolNotInCatalog = new Counter({
      name: 'toolgate_mcp_tool_not_in_catalog_total',
      help: 'New definitions of an MCP tool listed by a server whose pinned catalog (mcp.tools) does not hold it, by upstream and tool; the tool is refused (hidden, calls denied) until the catalog holds it.',
      labelNames: ['upstream', 'tool'],
      registers,
    });
    // prom-client calls collect() with the gauge as `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    // One gauge per listener fact, read from the listeners at each scrape.
    const listenerGauge = (name: string, help: string, read: (listener: ListenerGauges) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['listener'],
        registers,
        collect() {
          this.reset();
          for (const [label, listener] of Object.entries(metrics.listeners?.() ?? {})) this.labels(label).set(read(listener));
        },
      });
    listenerGauge('toolgate_open_connections', 'HTTP/2 connections open on each listener (compare with limits.maxConnections).', (l) => l.activeSessions);
    listenerGauge(
      'toolgate_tls_handshakes_waiting',
      'Connections accepted on each listener whose TLS handshake waits to start (limits.handshakesPerTurn and limits.handshakesPerSecond).',
      (l) => l.waitingHandshakes,
    );
    new Counter({
      name: 'toolgate_policy_evaluations_total',
      help: 'Decisions evaluated rather than taken from the decision cache, by what decided them: engine="fast_path" (policyEngine.fastPath, exact) or "cedar_wasm".',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        this.labels('fast_path').inc(metrics.policyEvaluations.fastPath);
        this.labels('cedar_wasm').inc(metrics.policyEvaluations.cedarWasm);
      },
    });
    new Gauge({
      name: 'toolgate_svid_expiry_seconds',
      help: "Seconds until the gateway's own X.509-SVID expires; 0 when it has none or it has expired, never negative (alert below a few minutes).",
      registers,
      collect() {
        this.set(Math.max(0, Math.min(metrics.svidExpiry?.() ?? 0, Number.MAX_SAFE_INTEGER)));
      },
    });
    new Gauge({
      name: 'toolgate_svid_valid',
      help: '1 while the gateway holds an unexpired X.509-SVID; 0 when it has none or it has expired, and then refuses every call (alert on 0).',
      registers,
      collect() {
        this.set((metrics.svidExpiry?.() ?? 0) > 0 ? 1 : 0);
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'toolgate_' });
  }

  /** Names the policy sets now in force in `toolgate_policy_set_info`. */
  setPolicySets(policySet: string, shadowSet: string | undefined): void {
    this.policySetInfo.reset();
    this.policySetInfo.labels(policySet, shadowSet ?? '').set(1);
  }

  private readonly callSecondsByStatus = new Map<number | undefined, { observe(seconds: number): void }>();

  /** Records a relayed call's duration under its final status (label children bound once per status). */
  observeCall(grpcStatus: number | undefined, seconds: number): void {
    let child = this.callSecondsByStatus.get(grpcStatus);
    if (!child) {
      child = this.callSeconds.labels(String(grpcStatus ?? 'reset'));
      this.callSecondsByStatus.set(grpcStatus, child);
    }
    child.observe(seconds);
  }

  /** Where the SVID gauges read the seconds left from; `undefined` means no SVID, ≤ 0 expired (both reported as 0). */
  watchSvidExpiry(read: () => number | undefined): void {
    this.svidExpiry = read;
  }

  /** Where `toolgate_open_connections` and `toolgate_tls_handshakes_waiting` read each listener from. */
  watchListeners(read: () => Record<string, ListenerGauges>): void {
    this.listeners = read;
  }
}
