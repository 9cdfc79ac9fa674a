import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { IdentityMapper } from '../identity/identity-mapper';
import type { Principal } from '../policy/principal';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { Decision } from '../policy/authorization';
import type { CedarValue } from '../policy/cedar-value';
import type { PolicyEngine } from '../policy/policy-engine';
import { parseGrpcPath } from '../relay/grpc-path';
import { endWithStatus, Status, type StatusCode } from '../relay/grpc-status';
import { decompress } from '../relay/decompress';
import { decodeRequest } from '../relay/proto-json';
import { RelayCall, type Denial } from '../relay/relay-call';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import { HEALTH_SERVICE, serveHealth } from './health-service';
import { AGENT_HEADER, CALLER_HEADER, DECISION_HEADER, upstreamRequestHeaders } from './owned-headers';
import type { RouteTable } from './route-table';

/**
 * How the caller proved its identity: an X.509-SVID on the mTLS listener, or a bearer
 * token on the token listener (a JWT-SVID, or an OIDC workload token from a configured issuer).
 */
export type CallerAuthn = 'x509-svid' | 'jwt-svid' | 'oidc';

/** An authenticated caller: once per connection for mTLS, once per token for bearer callers. */
export interface Caller {
  id: SpiffeId;
  /** `context.peer` for every call on the connection. */
  peer: { spiffeId: string; trustDomain: string; authn: CallerAuthn };
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
    const before = () => ({ decisionId, caller: caller.peer.spiffeId, action: method.action, resource: route?.target.name, started });
    let principal: Principal;
    try {
      principal = state.identities.resolve(caller.id);
    } catch (err) {
      this.deny(stream, Status.UNAUTHENTICATED, 'unauthenticated', { ...before(), reason: (err as Error).message });
      return;
    }
    if (route === undefined) {
      const reason = `no upstream serves ${method.service}`;
      this.deny(stream, Status.UNIMPLEMENTED, `unknown service ${method.service}`, { ...before(), principal: label(principal), reason });
      return;
    }

    const call: CallFacts = { state, principal, caller, action: method.action, resource: route.target.name, metadata: this.metadata(headers), started };
    const owned: Record<string, string> = { [CALLER_HEADER]: caller.peer.spiffeId, [DECISION_HEADER]: decisionId };
    if (principal.type === 'Agent') owned[AGENT_HEADER] = principal.id;
    // Built only for a call that will be relayed: a denied call costs no header copy.
    const relayTo = (upstreamHeaders: OutgoingHttpHeaders) =>
      new RelayCall(stream, route, upstreamHeaders, {
        maxMessageBytes: this.options.maxMessageBytes,
        onEnd: (outcome) => {
          this.options.metrics.observeCall(outcome.grpcStatus, (performance.now() - started) / 1000);
          if (outcome.upstreamError) {
            this.options.metrics.upstreamErrors.labels(route.target.name).inc();
            this.options.logger.warn({ decisionId, upstream: route.target.name, reason: outcome.reason }, 'upstream call failed');
          }
        },
      });

    const info = route.methods?.get(method.action);
    if (info === undefined) {
      // No protos for this method: one decision for the whole call, on its headers.
      const denial = this.decide(call, decisionId, undefined);
      if (denial) endWithStatus(stream, denial.code, denial.message);
      else relayTo(upstreamRequestHeaders(headers, route.target.address, owned)).start();
      return;
    }
    // Payload-aware: each request message is decided on its own content before it is
    // relayed; the upstream call opens with the first admitted message.
    const encoding = headers['grpc-encoding'];
    relayTo(upstreamRequestHeaders(headers, route.target.address, owned)).startGated({
      admit: (message, index) => {
        const id = index === 0 ? decisionId : this.options.nextDecisionId();
        let request: Record<string, CedarValue>;
        try {
          request = decodeRequest(info.requestType, decompress(message, encoding, this.options.maxMessageBytes));
        } catch (err) {
          return this.decide(call, id, { reason: (err as Error).message, index });
        }
        return this.decide(call, id, { request, index: info.requestStream ? index : undefined });
      },
      admitEmpty: () => this.decide(call, decisionId, undefined),
    });
  }

  /**
   * Authorizes one call (or one message of it), logs the decision, and returns the denial
   * to send, or undefined to proceed. With `payload.reason` the message could not be read
   * and is denied without asking Cedar.
   */
  private decide(call: CallFacts, decisionId: string, payload: PayloadFacts | undefined): Denial | undefined {
    const { state, principal, action, resource } = call;
    const context: Record<string, CedarValue> = { peer: call.caller.peer, metadata: call.metadata };
    if (payload?.request) context.request = payload.request;
    if (payload?.index !== undefined) context.stream = { index: payload.index };
    const decision: Pick<Decision, 'allow' | 'policies' | 'errors' | 'evaluationMicros' | 'cached' | 'shadow'> = payload?.reason
      ? { allow: false, policies: [], errors: [], evaluationMicros: 0, cached: false }
      : state.engine.authorize({ principal, action, resource, context });
    this.options.decisionLog.info({
      decisionId,
      caller: call.caller.peer.spiffeId,
      principal: label(principal),
      action,
      resource,
      ...(payload?.index !== undefined && { message: payload.index }),
      decision: decision.allow ? 'allow' : 'deny',
      policies: decision.policies,
      errors: decision.errors,
      ...(payload?.reason !== undefined && { reason: payload.reason }),
      ...(decision.shadow && { shadow: decision.shadow }),
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      policySet: state.policyHash,
    });
    const metrics = this.options.metrics;
    metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    if (decision.allow) {
      metrics.allowed.inc();
      return undefined;
    }
    metrics.denied.inc();
    return { code: Status.PERMISSION_DENIED, message: `permission denied (decision ${decisionId})`, reason: payload?.reason ?? 'denied by policy' };
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

/** What every decision of one call shares. */
interface CallFacts {
  state: GatewayState;
  principal: Principal;
  caller: Caller;
  action: string;
  resource: string;
  metadata: Record<string, string>;
  started: number;
}

/** The request message a decision is about, for payload-aware methods. */
interface PayloadFacts {
  request?: Record<string, CedarValue>;
  /** The message's position, for client- and bidi-streaming methods. */
  index?: number;
  /** Why the message could not be read (it is then denied). */
  reason?: string;
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
