import type { GatewayConfig } from '../config/gateway-config';
import { redisUrlOf } from '../config/resolve-credentials';
import { MemoryRateLimiter } from '../limits/memory-rate-limiter';
import type { RateLimiter } from '../limits/rate-limiter';
import { RedisRateLimiter } from '../limits/redis-rate-limiter';
import type { ApprovalStore } from '../approvals/approval-store';
import { MemoryApprovalStore } from '../approvals/memory-approval-store';
import { RedisApprovalStore } from '../approvals/redis-approval-store';
import { MemoryTaskStore } from '../tasks/memory-task-store';
import { RedisTaskStore } from '../tasks/redis-task-store';
import type { TaskStore } from '../tasks/task-store';

/** Where tasks, their ends and counters live, for this replica alone or shared by all. */
export interface SharedState {
  readonly store: TaskStore;
  readonly rateLimiter?: RateLimiter;
  /** Approval requests of escalated calls (docs/approvals.md), beside the tasks. */
  readonly approvals: ApprovalStore;
  readonly kind: 'memory' | 'redis';
  close(): Promise<void>;
}

/**
 * The task store and the agent rate limiter from `state` and `limits.agentRate`: in this
 * process's memory, or in the configured Redis, which must answer at start (the gateway
 * does not start on state it cannot reach).
 */
export async function openSharedState(config: Pick<GatewayConfig, 'state' | 'tasks' | 'limits'>): Promise<SharedState> {
  const { redis } = config.state;
  const bucket = config.limits.agentRate && { ratePerSecond: config.limits.agentRate.perSecond, burst: config.limits.agentRate.burst };
  if (redis === undefined) {
    const store = new MemoryTaskStore({ maxTtlSeconds: config.tasks.maxTtlSeconds, maxOpenPerCaller: config.tasks.maxOpenPerCaller });
    const approvals = new MemoryApprovalStore();
    const prune = setInterval(() => {
      store.prune(new Date());
      approvals.prune(new Date());
    }, 60_000);
    prune.unref();
    return {
      store,
      ...(bucket && { rateLimiter: new MemoryRateLimiter(bucket) }),
      approvals,
      kind: 'memory',
      close: async () => {
        clearInterval(prune);
        await Promise.all([store.close(), approvals.close()]);
      },
    };
  }
  const url = redisUrlOf(redis);
  const store = await RedisTaskStore.connect({ url, keyPrefix: redis.keyPrefix, maxTtlSeconds: config.tasks.maxTtlSeconds, maxOpenPerCaller: config.tasks.maxOpenPerCaller });
  let rateLimiter: RateLimiter | undefined;
  let approvals: RedisApprovalStore;
  try {
    rateLimiter = bucket && (await RedisRateLimiter.connect({ url, bucket, keyPrefix: redis.keyPrefix }));
  } catch (err) {
    await store.close();
    throw err;
  }
  try {
    approvals = await RedisApprovalStore.connect({ url, keyPrefix: redis.keyPrefix });
    // Listening before the first call is held: a decision published meanwhile would only be seen at the next poll.
    await approvals.listening();
  } catch (err) {
    await Promise.all([store.close(), rateLimiter?.close()]);
    throw err;
  }
  return {
    store,
    ...(rateLimiter && { rateLimiter }),
    approvals,
    kind: 'redis',
    close: async () => {
      await Promise.all([store.close(), rateLimiter?.close(), approvals.close()]);
    },
  };
}
