import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  /** `unix://` URL of the server's socket. */
  readonly url: string;
  /** Kills the server (if still running) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/** True when a `redis-server` binary is on PATH. */
export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `describe` for suites that need a real redis-server. Without one the suite is skipped with
 * a warning, unless `TOOLGATE_REQUIRE_REDIS=1` (CI), where it fails: a skipped suite must
 * never pass for a green build there.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisAvailable()) {
    describe(name, fn);
  } else if (process.env.TOOLGATE_REQUIRE_REDIS === '1') {
    describe(name, () => {
      it('needs redis-server on PATH (TOOLGATE_REQUIRE_REDIS=1)', () => {
        throw new Error('redis-server is not on PATH; install it (apt-get install redis-server) or unset TOOLGATE_REQUIRE_REDIS');
      });
    });
  } else {
    console.warn(`skipping "${name}": redis-server is not on PATH (install it with apt-get install redis-server, or brew install redis)`);
    describe.skip(name, fn);
  }
}

/**
 * A throwaway redis-server listening only on a Unix socket in a fresh temporary directory,
 * with persistence off. Resolves once the socket answers PING.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'toolgate-redis-'));
  const socket = join(dir, 'redis.sock');
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= kill(child, exited).then(() => rm(dir, { recursive: true, force: true })));
  try {
    await waitForPong(socket, child);
  } catch (err) {
    await stop();
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${output}`);
  }
  return { url: `unix://${socket}`, stop };
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

async function waitForPong(socket: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await pings(socket)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no PONG on ${socket} within ${START_TIMEOUT_MS / 1000}s`);
}

/** True when the socket answers `PING` with `+PONG`. */
function pings(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = createConnection(socket);
    let reply = '';
    const done = (ok: boolean) => {
      connection.destroy();
      resolve(ok);
    };
    connection.setTimeout(1000, () => done(false));
    connection.on('connect', () => connection.write('PING\r\n'));
    connection.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    connection.on('error', () => done(false));
  });
}
