import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChildMessage, ParentMessage, ProcessSample } from './child-probe';

export interface BenchChildOptions {
  env: Record<string, string>;
  execArgv?: string[];
  readyTimeoutMs?: number;
}

type Request = Exclude<ParentMessage, { type: 'exit' }>;
type Outgoing<T> = T extends unknown ? Omit<T, 'seq'> : never;

/**
 * The parent's handle on one bench child process (started with child_process.fork from
 * this folder): its listening port, and CPU/RSS samples and profiles over IPC.
 */
export class BenchChild {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (m: ChildMessage & { type: 'reply' }) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (m: ChildMessage) => {
      if (m.type !== 'reply') return;
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      if (m.error !== undefined) w?.reject(new Error(`${name}: ${m.error}`));
      else w?.resolve(m);
    });
    child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
      this.waiting.clear();
    });
  }

  static start(name: string, script: string, options: BenchChildOptions): Promise<BenchChild> {
    const child = fork(join(__dirname, script), [], {
      env: { ...process.env, ...options.env },
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`${name} did not become ready`));
      }, options.readyTimeoutMs ?? 30_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (code ${code})`));
      };
      child.once('exit', onExit);
      child.on('message', function first(m: ChildMessage) {
        if (m.type === 'reply') return;
        child.off('message', first);
        child.off('exit', onExit);
        clearTimeout(timer);
        if (m.type === 'ready') resolve(new BenchChild(name, child, m.port));
        else {
          child.kill();
          reject(new Error(`${name} failed to start: ${m.error}`));
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async sample(): Promise<ProcessSample> {
    const reply = await this.request({ type: 'sample' });
    return reply.sample!;
  }

  async startProfile(intervalMicros: number): Promise<void> {
    await this.request({ type: 'profile-start', intervalMicros });
  }

  async stopProfile(file: string): Promise<void> {
    await this.request({ type: 'profile-stop', file });
  }

  /** Asks the child to exit; kills it (by its pid) if it has not within 5 s. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ type: 'exit' } satisfies ParentMessage);
    });
  }

  private request(message: Outgoing<Request>): Promise<ChildMessage & { type: 'reply' }> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.child.send({ ...message, seq } as ParentMessage);
    });
  }
}
