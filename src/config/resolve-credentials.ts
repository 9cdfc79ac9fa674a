import { DEFAULTS } from './defaults';
import { existingFile } from './file-paths';
import type { GatewayConfig } from './gateway-config';
import type { IssueList } from './issue-list';
import { asRecord, asString, type RawRecord } from './raw-value';

/** `tasks` and `credentials`: the task TTL cap, and the keys that sign task and upstream tokens. */
export function resolveCredentials(
  rawTasks: RawRecord,
  rawCredentials: RawRecord,
  baseDir: string,
  issues: IssueList,
): Pick<GatewayConfig, 'tasks' | 'credentials'> {
  const keyFile = asString(rawCredentials.signingKeyFile);
  const signingKeyFile = keyFile === undefined ? undefined : issues.check(['credentials', 'signingKeyFile'], undefined, () => existingFile(keyFile, baseDir));
  return {
    tasks: { maxTtlSeconds: (rawTasks.maxTtlSeconds as number | undefined) ?? DEFAULTS.taskMaxTtlSeconds },
    credentials: {
      ...(signingKeyFile !== undefined && { signingKeyFile }),
      rotateSeconds: (rawCredentials.rotateSeconds as number | undefined) ?? DEFAULTS.keyRotateSeconds,
      upstreamTokenTtlSeconds: (rawCredentials.upstreamTokenTtlSeconds as number | undefined) ?? DEFAULTS.upstreamTokenTtlSeconds,
    },
  };
}

/** `state.redis`: the URL from the file or from the environment variable `urlEnv` names. */
export function resolveState(raw: RawRecord, env: NodeJS.ProcessEnv, issues: IssueList): GatewayConfig['state'] {
  if (raw.redis === undefined || raw.redis === null) return {};
  const redis = asRecord(raw.redis);
  const inline = asString(redis.url);
  const envName = asString(redis.urlEnv);
  if ((inline === undefined) === (envName === undefined)) {
    issues.add(['state', 'redis'], 'set exactly one of url and urlEnv');
    return {};
  }
  const url = inline ?? env[envName!];
  if (url === undefined || url === '') {
    issues.add(['state', 'redis', 'urlEnv'], `environment variable ${envName} is not set`);
    return {};
  }
  // The URL may hold a password: a bad one is named by its scheme only.
  if (!/^(rediss?:\/\/|unix:\/\/\/)/.test(url) && !url.startsWith('/')) {
    issues.add(['state', 'redis', inline === undefined ? 'urlEnv' : 'url'], 'must be a redis://, rediss:// or unix:/// URL');
    return {};
  }
  return { redis: { url, keyPrefix: asString(redis.keyPrefix) ?? DEFAULTS.redisKeyPrefix } };
}
