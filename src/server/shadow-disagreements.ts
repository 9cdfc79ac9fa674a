import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { PolicyStoreOptions } from '../policy/policy-store';
import type { ShadowDisagreement } from '../policy/shadowed-engine';

/**
 * Where shadow evaluation reports: each disagreement is one decision-log line and one
 * count of `toolgate_shadow_disagreements_total`; a failure while reporting goes to the
 * operational log. None of it touches the live decision.
 *
 * The line is separate from the call's decision line (written by the call pipeline after
 * `authorize` returns), and sits next to it in the log; it names the same caller, action,
 * resource and policy set, and the stream message index when there is one.
 */
export function shadowReporting(decisionLog: Logger, logger: Logger, metrics: GatewayMetrics): PolicyStoreOptions {
  return {
    onDisagreement({ request, live, livePolicySet, shadow, shadowPolicySet }: ShadowDisagreement): void {
      const { principal, context } = request;
      const stream = context['stream'] as { index?: unknown } | undefined;
      decisionLog.info({
        event: 'shadow-disagreement',
        caller: principal.attrs['spiffeId'],
        principal: `${principal.type}::"${principal.id}"`,
        action: request.action,
        resource: request.resource,
        ...(typeof stream?.index === 'number' && { message: stream.index }),
        decision: live.allow ? 'allow' : 'deny',
        policies: live.policies,
        policySet: livePolicySet,
        shadow: { decision: shadow.allow ? 'allow' : 'deny', policies: shadow.policies, errors: shadow.errors, policySet: shadowPolicySet },
      });
      metrics.shadowDisagreements.labels(shadow.allow ? 'allow' : 'deny').inc();
    },
    onError(err: unknown): void {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'shadow policy evaluation failed; the live decision stands');
    },
  };
}
