import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import { outcomeOf } from '../policy/authorization';
import type { PolicyStoreOptions } from '../policy/policy-store';
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
