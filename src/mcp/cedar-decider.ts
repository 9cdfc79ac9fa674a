import { randomUUID } from 'node:crypto';
import type { Decision } from '../policy/authorization';
import type { CedarValue } from '../identity/cedar-value';
import type { PolicyEngine } from '../policy/policy-engine';
import { couldPermit } from './could-permit';
import type { McpCaller, McpCouldPermit, McpDecide, McpDecisionRequest } from './relay-contract';

export interface CedarDeciderOptions {
  /** The rest of the context for a caller's calls (`peer`, `metadata`, `task`, ...); default none. */
  readonly contextFor?: (caller: McpCaller) => Readonly<Record<string, CedarValue>>;
  /** Decision ids; default random UUIDs (the gateway passes its own generator). */
  readonly nextDecisionId?: () => string;
  /** Told every decision, for the decision log. */
  readonly onDecision?: (caller: McpCaller, request: McpDecisionRequest, decision: Decision, decisionId: string) => void;
}

/**
 * The relay's `decide` and `couldPermit` on one Cedar engine: the same question a gRPC call
 * asks (`principal`, `Action::"<action>"`, `Tool::"<upstream>"`, `context.request`), so one
 * policy set governs both. The gateway's owner wraps it with its decision log and the rest
 * of the context; tests use it as it is.
 */
export function cedarDecider(engine: PolicyEngine, options: CedarDeciderOptions = {}): { decide: McpDecide; couldPermit: McpCouldPermit } {
  const nextDecisionId = options.nextDecisionId ?? randomUUID;
  const contextFor = options.contextFor ?? (() => ({}));
  return {
    decide: (caller, request) => {
      const decision = engine.authorize({
        principal: caller.principal,
        action: request.action,
        resource: request.resource,
        context: { ...contextFor(caller), request: request.request },
      });
      const decisionId = nextDecisionId();
      options.onDecision?.(caller, request, decision, decisionId);
      return { allow: decision.allow, decisionId };
    },
    couldPermit: (caller, action, resource, request) =>
      couldPermit(engine.set, { principal: caller.principal, action, resource, context: contextFor(caller), ...(request === undefined ? {} : { request }) }).possible,
  };
}
