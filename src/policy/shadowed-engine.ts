import { outcomeOf, type AuthorizationRequest, type Decision } from './authorization';
import { PolicyEngine, type PolicyEngineOptions } from './policy-engine';
import type { PolicySet } from './policy-set';

/** A call on which the shadow (candidate) set would have decided otherwise than the live one. */
export interface ShadowDisagreement {
  readonly request: AuthorizationRequest;
  /** The decision that stood. */
  readonly live: Decision;
  readonly livePolicySet: string;
  /** What the candidate set would have decided; never applied. */
  readonly shadow: Decision;
  readonly shadowPolicySet: string;
}

export interface ShadowedEngineOptions extends PolicyEngineOptions {
  /** Called for every disagreement, after the live decision is made. */
  onDisagreement(disagreement: ShadowDisagreement): void;
  /** Called when shadow evaluation or its reporting throws; the live decision is unaffected. */
  onError(err: unknown): void;
}

/**
 * An engine on the live set that also evaluates every request against a candidate
 * (shadow) set, reports where the two disagree (allow, deny or escalate), and returns the live
 * decision untouched. It is a `PolicyEngine`, so the call pipeline uses it without
 * knowing: shadow evaluation needs no change on the per-call path.
 *
 * Nothing on the shadow side can reach the decision: the live decision is made first and
 * returned as is (annotated with the shadow verdict when they disagree, for the decision
 * log), and everything after it is caught. The shadow evaluation runs inline,
 * so it adds its time to each call's decision latency (its own decision cache keeps that
 * small for repeated requests); it is not deferred because a deferred queue would need
 * its own bound and would report disagreements out of order with the decision log.
 */
export class ShadowedEngine extends PolicyEngine {
  // Names prefixed `shadow`, so that they cannot clash with PolicyEngine's private members.
  private readonly shadowEngine: PolicyEngine;

  constructor(
    live: PolicySet,
    readonly shadowSet: PolicySet,
    private readonly shadowOptions: ShadowedEngineOptions,
  ) {
    super(live, shadowOptions);
    this.shadowEngine = new PolicyEngine(shadowSet, shadowOptions);
  }

  override authorize(req: AuthorizationRequest): Decision {
    const live = super.authorize(req);
    try {
      const shadow = this.shadowEngine.authorize(req);
      const shadowOutcome = outcomeOf(shadow);
      if (shadowOutcome === outcomeOf(live)) return live;
      this.shadowOptions.onDisagreement({ request: req, live, livePolicySet: this.set.hash, shadow, shadowPolicySet: this.shadowSet.hash });
      // The live decision, annotated so that its own log line carries the disagreement.
      const verdict = { decision: shadowOutcome, policies: shadow.policies, errors: shadow.errors, policySet: this.shadowSet.hash } as const;
      return { ...live, shadow: verdict };
    } catch (err) {
      this.shadowOptions.onError(err);
      return live;
    }
  }
}
