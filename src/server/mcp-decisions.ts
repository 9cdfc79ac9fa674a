import type { CedarValue } from '../identity/cedar-value';
import { cedarDecider, type McpCaller, type McpCouldPermit, type McpDecide, type McpRelayEvent } from '../mcp';
import type { DecisionLog } from '../observability/decision-log';
import type { GatewayMetrics } from '../observability/metrics';
import type { Caller, GatewayState } from './call-context';
import { principalLabel } from './call-context';

/** A caller of the MCP relay: the relay's view (key, principal) and the listener's (peer). */
export interface McpGatewayCaller extends McpCaller {
  /** `context.peer`, as for gRPC calls on the same connection. */
  readonly peer: Caller['peer'];
}

export interface McpDecisionsOptions {
  readonly log: DecisionLog;
  readonly metrics: GatewayMetrics;
  /** The state in force: a reload of policies or identities applies to the next MCP decision. */
  readonly state: () => GatewayState;
  readonly nextDecisionId: () => string;
}

/**
 * The MCP side of the gateway's decisions: the relay's `decide` and `couldPermit` over the
 * live policy engine, and every MCP decision and refusal written as one record through the
 * one `DecisionLog` (with `protocol: 'mcp'`) and counted in the same metrics as gRPC calls.
 */
export class McpDecisions {
  constructor(private readonly options: McpDecisionsOptions) {}

  /** The relay's decider: Cedar over the engine in force at each decision, each decision recorded. */
  decider(): { decide: McpDecide; couldPermit: McpCouldPermit } {
    const { metrics } = this.options;
    const onCedar = (state: GatewayState) =>
      cedarDecider(state.engine, {
        contextFor: (caller) => contextOf(caller),
        nextDecisionId: this.options.nextDecisionId,
        onDecision: (caller, request, decision, decisionId) => {
          this.options.log.write({
            decisionId,
            protocol: 'mcp',
            // The SPIFFE ID, as gRPC records name callers (an OIDC caller's key is `iss#sub`).
            caller: (caller as Partial<McpGatewayCaller>).peer?.spiffeId ?? caller.key,
            principal: principalLabel(caller.principal),
            action: request.action,
            resource: request.resource,
            decision: decision.allow ? 'allow' : 'deny',
            policies: decision.policies,
            errors: decision.errors,
            ...(decision.shadow && { shadow: decision.shadow }),
            evalUs: Math.round(decision.evaluationMicros),
            cached: decision.cached,
            policySet: state.policyHash,
          });
          metrics.decisionSeconds.observe(decision.evaluationMicros / 1e6);
          if (decision.allow) metrics.allowed.inc();
          else metrics.denied.inc();
        },
      });
    return {
      decide: (caller, request) => onCedar(this.options.state()).decide(caller, request),
      couldPermit: (caller, action, resource, request) => onCedar(this.options.state()).couldPermit(caller, action, resource, request),
    };
  }

  /**
   * Records a request refused before any Cedar decision (an unmapped caller, no calls left
   * to the caller) and returns its decision id, the only thing the caller is told.
   */
  refuse(caller: string, facts: { principal?: string; resource: string; action: string; reason: string }): string {
    const decisionId = this.options.nextDecisionId();
    this.options.log.write({
      decisionId,
      protocol: 'mcp',
      caller,
      ...(facts.principal !== undefined && { principal: facts.principal }),
      action: facts.action,
      resource: facts.resource,
      decision: 'deny',
      reason: facts.reason,
      policySet: this.options.state().policyHash,
    });
    this.options.metrics.denied.inc();
    return decisionId;
  }

  /**
   * Records what the relay refused on its own (a body it would not parse, another caller's
   * session): a deny without Cedar, so that every refusal has its line. Policy denials are
   * recorded as they are decided, and upstream failures are not decisions.
   */
  relayEvent(event: McpRelayEvent): void {
    if (event.kind !== 'refused' && event.kind !== 'foreign-session') return;
    this.refuse(event.caller, { resource: event.upstream, action: `mcp:${event.upstream}`, reason: `${event.kind}: HTTP ${event.status}: ${event.reason}` });
  }
}

/** `context` of an MCP decision beside `request`: the connection's peer, as for gRPC; no metadata is read from MCP requests. */
function contextOf(caller: McpCaller): Record<string, CedarValue> {
  const peer = (caller as Partial<McpGatewayCaller>).peer;
  return peer === undefined ? {} : { peer, metadata: {} };
}
