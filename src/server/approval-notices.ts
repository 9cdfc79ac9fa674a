import { Counter } from 'prom-client';
import { ApprovalWebhook, type WebhookOutcome } from '../approvals/approval-webhook';
import { WebhookSecrets } from '../approvals/webhook-secrets';
import type { ApprovalWebhookConfig } from '../config/gateway-config';
import { errorMessage } from '../errors/unknown-error';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';

/**
 * `approvals.webhook` at work: the webhook, its secret file (read at start: a bad one stops
 * the start; read again on reload: a bad one keeps the keys in use), and its counter
 * `toolgate_approval_webhooks_total{outcome}` (sent, failed, dropped). The log names the
 * approval id and what went wrong, never the URL (its path may be a secret), a key or the body.
 */
export class ApprovalNotices {
  readonly webhook: ApprovalWebhook;

  constructor(
    private readonly config: ApprovalWebhookConfig,
    metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {
    const outcomes = new Counter({
      name: 'toolgate_approval_webhooks_total',
      help: 'Approval webhook notices by how they ended: sent (a 2xx), failed (attempts or the request expired, or 410), dropped (the queue was full).',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    for (const outcome of ['sent', 'failed', 'dropped'] as const) outcomes.labels(outcome);
    this.webhook = new ApprovalWebhook({
      url: config.url,
      secrets: WebhookSecrets.read(config.secretFile),
      timeoutMs: config.timeoutSeconds * 1000,
      maxAttempts: config.maxAttempts,
      maxQueued: config.maxQueued,
      onOutcome: (outcome: WebhookOutcome, approval: string, detail: string) => {
        outcomes.labels(outcome).inc();
        if (outcome === 'sent') logger.debug({ approval, detail }, 'approval webhook sent');
        else logger.warn({ approval, detail }, outcome === 'failed' ? 'approval webhook failed; given up' : 'approval webhook dropped: its queue is full');
      },
    });
  }

  /** Reads the secret file again (a reload): a rotated key signs from the next attempt on; a bad file keeps the keys in use. */
  reloadSecrets(): void {
    try {
      this.webhook.useSecrets(WebhookSecrets.read(this.config.secretFile));
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'approval webhook secret not reloaded; keeping the keys in use');
    }
  }

  close(): void {
    this.webhook.close();
  }
}
