import { DEFAULTS } from './defaults';
import { existingFile } from './file-paths';
import type { GatewayConfig } from './gateway-config';
import type { IssueList } from './issue-list';
import { asRecord, asString, type RawRecord } from './raw-value';
import { ConfigError } from './config-error';

/** `tasks` and `credentials`: the task TTL cap and open-task cap, and the keys that sign task and upstream tokens. */
export function resolveCredentials(rawTasks: RawRecord, rawCredentials: RawRecord, baseDir: string, issues: IssueList): Pick<GatewayConfig, 'tasks' | 'credentials'> {
  const keyFile = asString(rawCredentials.signingKeyFile);
  const signingKeyFile = keyFile === undefined ? undefined : issues.check(['credentials', 'signingKeyFile'], undefined, () => existingFile(keyFile, baseDir));
  const upstreamTokenTtlSeconds = (rawCredentials.upstreamTokenTtlSeconds as number | undefined) ?? DEFAULTS.upstreamTokenTtlSeconds;
  const reuse = rawCredentials.upstreamTokenReuseSeconds as number | undefined;
  // A token reused as long as it lives would go out with a moment left: the reuse ends at least 1 s before.
  if (reuse !== undefined && reuse >= upstreamTokenTtlSeconds) {
    issues.add(['credentials', 'upstreamTokenReuseSeconds'], `must be less than upstreamTokenTtlSeconds (${upstreamTokenTtlSeconds}), not ${reuse}`);
  }
  return {
    tasks: {
      maxTtlSeconds: (rawTasks.maxTtlSeconds as number | undefined) ?? DEFAULTS.taskMaxTtlSeconds,
      maxOpenPerCaller: (rawTasks.maxOpenPerCaller as number | undefined) ?? DEFAULTS.taskMaxOpenPerCaller,
    },
    credentials: {
      ...(signingKeyFile !== undefined && { signingKeyFile }),
      rotateSeconds: (rawCredentials.rotateSeconds as number | undefined) ?? DEFAULTS.keyRotateSeconds,
      upstreamTokenTtlSeconds,
      upstreamTokenReuseSeconds: reuse ?? Math.min(DEFAULTS.upstreamTokenReuseSeconds, upstreamTokenTtlSeconds - 1),
    },
  };
}

/**
 * `state.redis`: the URL, or the name of the environment variable holding it (read at start,
 * so that a password can stay out of the file; `env`, when given, is checked to have it).
 */
export function resolveState(raw: RawRecord, env: NodeJS.ProcessEnv | undefined, issues: IssueList): GatewayConfig['state'] {
  if (raw.redis === undefined || raw.redis === null) return {};
  const redis = asRecord(raw.redis);
  const url = asString(redis.url);
  const urlEnv = asString(redis.urlEnv);
  if ((url === undefined) === (urlEnv === undefined)) {
    issues.add(['state', 'redis'], 'set exactly one of url and urlEnv');
    return {};
  }
  const keyPrefix = asString(redis.keyPrefix) ?? DEFAULTS.redisKeyPrefix;
  if (urlEnv !== undefined) {
    const value = env?.[urlEnv];
    if (env !== undefined && !value) issues.add(['state', 'redis', 'urlEnv'], `environment variable ${urlEnv} is not set`);
    else if (value !== undefined && !isRedisUrl(value)) issues.add(['state', 'redis', 'urlEnv'], `${urlEnv} must hold a redis://, rediss:// or unix:/// URL`);
    return { redis: { urlEnv, keyPrefix } };
  }
  // The URL may hold a password: a bad one is named by its key only.
  if (!isRedisUrl(url!)) {
    issues.add(['state', 'redis', 'url'], 'must be a redis://, rediss:// or unix:/// URL');
    return {};
  }
  return { redis: { url: url!, keyPrefix } };
}

function isRedisUrl(url: string): boolean {
  return /^(rediss?:\/\/|unix:\/\/\/)/.test(url) || url.startsWith('/');
}

/** The Redis URL of `state.redis`, from the file or the environment; throws naming the variable when it is unset. */
export function redisUrlOf(redis: NonNullable<GatewayConfig['state']['redis']>, env: NodeJS.ProcessEnv = process.env): string {
  if ('url' in redis) return redis.url;
  const url = env[redis.urlEnv];
  if (!url) throw new ConfigError('', [{ path: 'state.redis.urlEnv', message: `environment variable ${redis.urlEnv} is not set` }]);
  return url;
}
