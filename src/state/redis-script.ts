import type { Redis } from 'ioredis';

/** A Lua script's KEYS and ARGV, and what it returns (as ioredis decodes the reply). */
export type RedisScriptRun = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * A Lua script, registered per client with ioredis's `defineCommand`: ioredis runs it by its
 * SHA1 (EVALSHA) and sends the source (EVAL) when the connection has not run it yet or the
 * server lost it (NOSCRIPT, after a restart or a failover). Redis runs a script atomically:
 * nothing else runs between its reads and its writes, on any replica.
 */
export class RedisScript {
  /** @param name the command's name on the client; distinct per script, and never a Redis command's */
  constructor(
    readonly name: string,
    readonly lua: string,
  ) {}

  /** Registers the script on `client` (once per client) and returns how to run it there. */
  on(client: Redis): RedisScriptRun {
    // No fixed numberOfKeys: each run sends its own count, so KEYS and ARGV cannot be split wrong.
    client.defineCommand(this.name, { lua: this.lua });
    // defineCommand adds the command as a method the Redis type does not declare.
    const command = (client as unknown as Record<string, (...values: (string | number)[]) => Promise<unknown>>)[this.name]!;
    return (keys, args) => command.call(client, keys.length, ...keys, ...args);
  }
}
