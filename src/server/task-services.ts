import type { GatewayConfig } from '../config/gateway-config';
import { CallTokenCache } from '../credentials/call-token-cache';
import { OnBehalfOfTokenVerifier } from '../identity/on-behalf-of';
import type { Logger } from '../observability/logger';
import { LEASE_TTL_MS } from '../tasks/redis-task-store';
import type { SigningKeys } from '../tasks/signing-keys';
import { TaskTokenVerifier } from '../tasks/task-token-verifier';
import { CallGuard } from './call-guard';
import type { CallPipelineOptions } from './call-pipeline';
import { OpenTaskCalls } from './open-task-calls';
import type { SharedState } from './shared-state';
import { TasksService } from './tasks-service';

/** How often open calls' tasks are read back from a shared store: the "within a second" of an end on another replica. */
const END_RECHECK_MS = 1000;
/** How often the leases of open calls are renewed in a shared store: three times per lease TTL. */
const LEASE_RENEW_MS = LEASE_TTL_MS / 3;

export type TaskPipelineOptions = Pick<CallPipelineOptions, 'guard' | 'tasks' | 'openTasks' | 'upstreamToken'>;

/**
 * What the call pipeline needs for tasks and credentials, from the config: the guard (task
 * tokens, on-behalf-of tokens, rate limit, task budgets), the Tasks service, the registry of
 * open task calls, and the per-call upstream JWT signed with the gateway's current SPIFFE ID
 * (reused for `credentials.upstreamTokenReuseSeconds` by calls with the same claims).
 */
export function taskPipelineOptions(
  config: Pick<GatewayConfig, 'tasks' | 'credentials' | 'onBehalfOf'>,
  keys: SigningKeys,
  shared: SharedState,
  gatewayId: () => string,
  logger: Logger,
): TaskPipelineOptions {
  const { store, rateLimiter } = shared;
  const ttlSeconds = config.credentials.upstreamTokenTtlSeconds;
  const callTokens = new CallTokenCache(keys, config.credentials.upstreamTokenReuseSeconds);
  return {
    guard: new CallGuard({
      store,
      tokens: new TaskTokenVerifier(keys, Date.now),
      ...(rateLimiter && { rateLimiter }),
      ...(config.onBehalfOf && { onBehalfOf: new OnBehalfOfTokenVerifier(config.onBehalfOf) }),
      clock: Date.now,
      onReleaseError: (err) => logger.warn({ err: err.message }, 'task store: cannot release a call slot'),
    }),
    tasks: new TasksService({ store, keys, clock: Date.now, maxTtlSeconds: config.tasks.maxTtlSeconds }),
    // A shared store's end notices travel by pub/sub, which a dropped connection loses: re-read;
    // and its leases outlive a replica that died only until they are due for renewal.
    openTasks: new OpenTaskCalls(store, shared.kind === 'redis' ? { recheckMs: END_RECHECK_MS, renewMs: LEASE_RENEW_MS } : {}),
    upstreamToken: (facts) =>
      callTokens.token({
        issuer: gatewayId(),
        subject: facts.caller,
        audience: facts.audience,
        scope: facts.action,
        ...(facts.agent !== undefined && { agent: facts.agent }),
        ...(facts.task && { taskId: facts.task.id, taskExpiresAt: facts.task.expiresAt }),
        ...(facts.onBehalfOf && { onBehalfOf: facts.onBehalfOf }),
        ttlSeconds,
      }),
  };
}
