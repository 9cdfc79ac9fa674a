import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPong } from '../../support/dev-redis-server';

/**
 * A redis-server the fault suite can freeze (SIGSTOP), thaw (SIGCONT), kill (SIGKILL) and
 * start again on the same Unix socket, as an outage does to a real one. Unlike the dev
 * server (test/support/dev-redis-server.ts), it keeps its data across a kill: the AOF is on and
 * written on every command (`appendfsync always`), as a Redis that holds task state should
 * be run, so that a restart brings the tasks back and calls can recover.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly dir = mkdtempSync(join(tmpdir(), 'toolgate-faults-redis-'));
  readonly socket = join(this.dir, 'redis.sock');

  get url(): string {
    return `unix://${this.socket}`;
  }

  /** Starts it (again) and resolves once it answers PING. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', this.socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitForPong(this.socket, child);
  }

  /** SIGSTOP: the socket stays open and accepts bytes, nothing answers. */
  freeze(): void {
    this.child!.kill('SIGSTOP');
  }

  /** SIGCONT. */
  thaw(): void {
    this.child!.kill('SIGCONT');
  }

  /** SIGKILL, and resolves once it has exited. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Kills it (thawing first, so that the kill is not held) and removes its files. */
  async close(): Promise<void> {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      await this.kill();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
