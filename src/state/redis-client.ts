import { Redis, type RedisOptions } from 'ioredis';
import { InvalidValueError } from '../errors/invalid-value-error';
import { StateError } from './state-error';

/** How long `connectRedis` waits for the first connection before giving up. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Options that make a Redis outage fail calls quickly instead of queueing them: the gateway
 * fails closed on a rejected store call, and a hung one would hold the agent's call open.
 * A command waits for at most one reconnection attempt (at most 1 s apart) and never longer than
 * `commandTimeout` (which also covers a peer that vanished without closing the socket).
 * `disconnectTimeout` is short because ioredis keeps its timer (holding the process open)
 * for that long when it disconnects a socket that had already failed.
 */
const FAIL_FAST: RedisOptions = {
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: CONNECT_TIMEOUT_MS,
  disconnectTimeout: 200,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
};

/**
 * Connects to Redis at `url` and resolves once it is ready: `redis://[user:pass@]host:port/db`,
 * `rediss://…` (TLS), `unix:///path/to/redis.sock` or a plain `/path/to/redis.sock`. Rejects
 * after 5 s with an error naming the URL (its password masked) and stops retrying: a gateway
 * that cannot reach its state at start should stop, not serve without it.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const client = newClient(url);
  let lastError: Error | undefined;
  // Without a listener ioredis prints every connection error; failures surface as rejected calls.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), CONNECT_TIMEOUT_MS);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return client;
  } catch {
    client.disconnect();
    const reason = lastError === undefined ? 'no answer' : lastError.message;
    throw new StateError(`could not connect to Redis at ${redactedUrl(url)} within ${CONNECT_TIMEOUT_MS / 1000}s: ${reason}`);
  }
}

/** Closes `client`: politely when connected, at once when it is not (QUIT would wait for a reconnection). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // The connection went away meanwhile: disconnect below.
    }
  }
  client.disconnect();
}

function newClient(url: string): Redis {
  if (url.startsWith('/')) return new Redis({ ...FAIL_FAST, path: url });
  const parsed = parseUrl(url);
  if (parsed.protocol === 'unix:') return new Redis({ ...FAIL_FAST, path: decodeURIComponent(parsed.pathname) });
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw invalidUrl();
  return new Redis(url, FAIL_FAST);
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw invalidUrl();
  }
}

/** The URL itself is left out: a malformed one may still hold a password. */
function invalidUrl(): InvalidValueError {
  return new InvalidValueError('the Redis URL must be redis://host:port/db, rediss://host:port/db, unix:///path/to/redis.sock or /path/to/redis.sock');
}

/** `url` with any password replaced by `***`, fit for errors and logs. */
export function redactedUrl(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = parseUrl(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
