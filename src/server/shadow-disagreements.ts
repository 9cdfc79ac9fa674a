import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import { outcomeOf } from '../policy/authorization';
import type { PolicyStoreOptions } from '../policy/policy-store';
import type { FastPathDisagreement } from '../policy/policy-engine';
import type { GatewayConfig } from '../config/gateway-config';
import type { ShadowDisagreement } from '../policy/shadowed-engine';
import { errorMessage } from '../errors/unknown-error';

/**
 * Where shadow evaluation reports: each disagreement is counted in
 * `toolgate_shadow_disagreements_total` (the call's own decision-log line carries the
 * shadow verdict, with the call's decision id); a failure while evaluating goes to the
 * operational log. None of it touches the live decision.
 */
export function shadowReporting(logger: Logger, metrics: GatewayMetrics): PolicyStoreOptions {
  return {
    onDisagreement({ shadow }: ShadowDisagreement): void {
      metrics.shadowDisagreements.labels(outcomeOf(shadow)).inc();
    },
    onError(err: unknown): void {
      logger.warn({ err: errorMessage(err) }, 'shadow policy evaluation failed; the live decision stands');
    },
  };
}

/**
 * The engines' fast-path options from the config, with where the sampled check reports: each
 * disagreement counted in `toolgate_policy_fast_path_disagreements_total` and logged at error
 * level with both verdicts (not the context: it can hold a call's arguments); the call itself
 * got cedar-wasm's decision, and so does every later call of that policy set (the engine
 * stops trusting its fast path and empties its cache).
 */
export function fastPathReporting(logger: Logger, metrics: GatewayMetrics, config: GatewayConfig['policyEngine']): NonNullable<PolicyStoreOptions['engine']> {
  return {
    fastPath: config.fastPath,
    fastPathCheckEvery: config.fastPathCheckEvery,
    evaluations: metrics.policyEvaluations,
    onFastPathDisagreement({ request, fast, cedar }: FastPathDisagreement): void {
      metrics.fastPathDisagreements.inc();
      const principal = `${request.principal.type}::${JSON.stringify(request.principal.id)}`;
      logger.error(
        { principal, action: request.action, resource: request.resource, fast, cedar },
        "policy fast path disagreed with cedar-wasm; cedar-wasm's decision was used, and decides every call of this policy set from now on",
      );
    },
  };
}
