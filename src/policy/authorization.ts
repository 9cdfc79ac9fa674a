import type { CedarValue } from '../identity/cedar-value';
import type { EntityJson } from './cedar';
import type { Principal } from '../identity/principal';

/** One call to authorize, in the terms of the Cedar model (docs/policies.md, "The model"). */
export interface AuthorizationRequest {
  principal: Principal;
  /** `"<package.Service>/<Method>"`; Cedar `Action::"<action>"`, a member of `Action::"<package.Service>"`. */
  action: string;
  /** The upstream's name; Cedar `Tool::"<resource>"`. */
  resource: string;
  /** `peer`, `metadata`, later `request` and `task`. */
  context: Readonly<Record<string, CedarValue>>;
}

/**
 * A call Cedar permits only through `@approval` permits (docs/approvals.md): it may go on
 * once a person of `group` (a quorum of `quorum` distinct ones) approves that exact call.
 */
export interface ApprovalRequirement {
  /** The approvers' group, from the first determining permit in set order. */
  readonly group: string;
  /** Distinct approvers needed: the largest `@approvals` of the determining permits (default 1). */
  readonly quorum: number;
  /** The shortest `@approvalTtl` of the determining permits, when any names one. */
  readonly ttlSeconds?: number;
  /** The `@approval` permits that asked for it. */
  readonly policies: readonly string[];
}

/** The three outcomes: allow, deny, or escalate (permitted only with a person's approval). */
export type DecisionOutcome = 'allow' | 'deny' | 'escalate';

export interface Decision {
  /** False for a deny and for an escalation: whoever does not know `escalate` denies (fail closed). */
  readonly allow: boolean;
  /** Set when the decision is `escalate`: Cedar permits, no forbid applies, and every determining permit carries `@approval`. */
  readonly escalate?: ApprovalRequirement;
  /**
   * The policies that determined the decision: the satisfied permits of an allow, the
   * satisfied forbids of a deny (empty when no permit applied), or the policies that
   * failed to evaluate when an error denied.
   */
  readonly policies: readonly string[];
  /** Why evaluation failed, one message per error; non-empty means the call was denied for it. */
  readonly errors: readonly string[];
  readonly evaluationMicros: number;
  /** Taken from the engine's decision cache rather than evaluated. */
  readonly cached: boolean;
  /** Set when a shadow (candidate) set would have decided otherwise; never applied. */
  readonly shadow?: ShadowVerdict;
}

/** What the shadow set would have decided, for the decision log. */
export interface ShadowVerdict {
  readonly decision: DecisionOutcome;
  readonly policies: readonly string[];
  readonly errors: readonly string[];
  readonly policySet: string;
}

/** What `PolicyEngine.explain` adds: exactly what Cedar was given, and all it said. */
export interface Explanation extends Decision {
  /** The policy set's hash. */
  readonly policySet: string;
  /** The Cedar request as sent, after attributes no policy reads were left out; undefined when none was sent. */
  readonly input:
    | {
        readonly principal: EntityJson['uid'];
        readonly action: EntityJson['uid'];
        readonly resource: EntityJson['uid'];
        readonly context: Readonly<Record<string, CedarValue>>;
        readonly entities: readonly EntityJson[];
      }
    | undefined;
  /** Cedar's own verdict before fail-closed handling; undefined when Cedar gave none. */
  readonly cedarDecision: 'allow' | 'deny' | undefined;
  /** Every policy that was satisfied, even when an error overrode the decision. */
  readonly satisfied: readonly string[];
}

/** A decision's outcome in one word. */
export function outcomeOf(decision: Pick<Decision, 'allow' | 'escalate'>): DecisionOutcome {
  return decision.allow ? 'allow' : decision.escalate !== undefined ? 'escalate' : 'deny';
}
