import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { IdentityMapper } from '../identity/identity-mapper';
import type { Principal } from '../policy/principal';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { PolicyEngine } from '../policy/policy-engine';
import { parseGrpcPath } from '../relay/grpc-path';
import { endWithStatus, Status, type StatusCode } from '../relay/grpc-status';
import { RelayCall } from '../relay/relay-call';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import { HEALTH_SERVICE, serveHealth } from './health-service';
import { AGENT_HEADER, CALLER_HEADER, DECISION_HEADER, upstreamRequestHeaders } from './owned-headers';
import type { RouteTable } from './route-table';

/** An authenticated connection's caller, computed once per connection. */
export interface Caller {
  id: SpiffeId;
  /** `context.peer` for every call on the connection. */
  peer: { spiffeId: string; trustDomain: string; authn: 'x509-svid' | 'jwt-svid' };
}

/** What the pipeline decides with; replaced as a whole when config or policies reload. */
export interface GatewayState {
  identities: IdentityMapper;
  engine: PolicyEngine;
  /** Names the policy set in every decision log line. */
  policyHash: string;
  routes: RouteTable;
}

export interface CallPipelineOptions {
  decisionLog: Logger;
  /** Operational log: upstream failures and why. */
  logger: Logger;
  metrics: GatewayMetrics;
  nextDecisionId: () => string;
  /** Request headers copied into `context.metadata`; lowercase. */
  metadataAllow: readonly string[];
  maxMessageBytes: number;
  isReady: () => boolean;
}

const EMPTY_METADATA = Object.freeze({});

/**
 * The per-call path: route → identify → authorize → relay, and one decision log line.
 * Every failure before the relay denies (fail closed); the caller sees a generic message
 * with the decision id, and the reason goes only to the decision log.
 */
export class CallPipeline {
  constructor(
    private state: GatewayState,
    private readonly options: CallPipelineOptions,
  ) {}

  get current(): GatewayState {
    return this.state;
  }

  /** Swaps in new config or policies; calls already decided keep the state they had. */
  replaceState(state: GatewayState): void {
    this.state = state;
  }

  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, caller: Caller): void {
    const started = performance.now();
    const method = parseGrpcPath(headers[':path']);
    if (method === undefined || headers[':method'] !== 'POST') {
      endWithStatus(stream, Status.UNIMPLEMENTED, 'not a gRPC method');
      return;
    }
    if (method.service === HEALTH_SERVICE) {
      serveHealth(stream, method.action, this.options.isReady());
      return;
    }

    const state = this.state;
    const decisionId = this.options.nextDecisionId();
    const route = state.routes.get(method.service);
    const denial = { decisionId, caller: caller.peer.spiffeId, action: method.action, resource: route?.target.name, started };
    let principal: Principal;
    try {
      principal = state.identities.resolve(caller.id);
    } catch (err) {
      this.deny(stream, Status.UNAUTHENTICATED, 'unauthenticated', { ...denial, reason: (err as Error).message });
      return;
    }
    if (route === undefined) {
      const reason = `no upstream serves ${method.service}`;
      this.deny(stream, Status.UNIMPLEMENTED, `unknown service ${method.service}`, { ...denial, principal: label(principal), reason });
      return;
    }

    const decision = state.engine.authorize({
      principal,
      action: method.action,
      resource: route.target.name,
      context: { peer: caller.peer, metadata: this.metadata(headers) },
    });
    const decidedIn = performance.now() - started;
    this.options.decisionLog.info({
      decisionId,
      caller: caller.peer.spiffeId,
      principal: label(principal),
      action: method.action,
      resource: route.target.name,
      decision: decision.allow ? 'allow' : 'deny',
      policies: decision.policies,
      errors: decision.errors,
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      policySet: state.policyHash,
    });
    const metrics = this.options.metrics;
    metrics.decisionSeconds.observe(decidedIn / 1000);
    if (!decision.allow) {
      metrics.denied.inc();
      endWithStatus(stream, Status.PERMISSION_DENIED, `permission denied (decision ${decisionId})`);
      return;
    }
    metrics.allowed.inc();

    const relay = new RelayCall(stream, {
      maxMessageBytes: this.options.maxMessageBytes,
      onEnd: (outcome) => {
        metrics.callSeconds.labels(String(outcome.grpcStatus ?? 'reset')).observe((performance.now() - started) / 1000);
        if (outcome.upstreamError) {
          metrics.upstreamErrors.labels(route.target.name).inc();
          this.options.logger.warn({ decisionId, upstream: route.target.name, reason: outcome.reason }, 'upstream call failed');
        }
      },
    });
    const owned: Record<string, string> = { [CALLER_HEADER]: caller.peer.spiffeId, [DECISION_HEADER]: decisionId };
    if (principal.type === 'Agent') owned[AGENT_HEADER] = principal.id;
    relay.start(route, upstreamRequestHeaders(headers, route.target.address, owned));
  }

  private metadata(headers: IncomingHttpHeaders): Record<string, string> {
    const allow = this.options.metadataAllow;
    if (allow.length === 0) return EMPTY_METADATA;
    const out: Record<string, string> = {};
    for (const name of allow) {
      const value = headers[name];
      if (typeof value === 'string') out[name] = value;
      else if (Array.isArray(value)) out[name] = value.join(', ');
    }
    return out;
  }

  /** Ends a call that never reached policy (no identity, no route) and logs why. */
  private deny(stream: ServerHttp2Stream, code: StatusCode, callerMessage: string, record: DenialRecord): void {
    const { started, ...fields } = record;
    this.options.decisionLog.info({ ...fields, decision: 'deny', policySet: this.state.policyHash });
    this.options.metrics.denied.inc();
    this.options.metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    endWithStatus(stream, code, `${callerMessage} (decision ${record.decisionId})`);
  }
}

interface DenialRecord {
  decisionId: string;
  caller: string;
  principal?: string;
  action: string;
  resource: string | undefined;
  reason: string;
  started: number;
}

/** `Agent::"name"`: the principal as Cedar names it. */
function label(principal: Principal): string {
  return `${principal.type}::"${principal.id}"`;
}
