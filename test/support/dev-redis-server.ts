import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A throwaway redis-server for tests and benchmarks, as the dev identity provider stands in
 * for SPIRE: the real server binary (Debian's redis-server), on a Unix socket in a temp dir.
 * Never used by the gateway itself.
 */

export interface DevRedisServer {
  /** `unix://` URL of the server's socket. */
  readonly url: string;
  /** The server's process id (to read its CPU time). */
  readonly pid: number | undefined;
  /** Kills the server (if still running) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/** True when a `redis-server` binary is on PATH. */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A throwaway redis-server listening only on a Unix socket in a fresh temporary directory,
 * with persistence off. Resolves once the socket answers PING.
 */
export async function startDevRedisServer(): Promise<DevRedisServer> {
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
  return { url: `unix://${socket}`, pid: child.pid, stop };
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

/** Resolves once `socket` answers PING; rejects when `child` exits first or after 10 s. */
export async function waitForPong(socket: string, child: ChildProcess): Promise<void> {
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
