import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { waitUntil } from '../../integration/support/workload-fixtures';

export const REGISTER_TS = join(__dirname, '../../unit/policy/support/register-ts.js');
const CLI = join(__dirname, '../../../src/cli/main.ts');
const START_TIMEOUT_MS = 60_000;

type LogLine = Record<string, unknown>;

/**
 * `toolgate run --config FILE` in a process of its own, as an operator runs it (the V8 guard
 * flag on the command line, the TypeScript sources loaded as jest compiles them). Its
 * operational log (stderr, JSON lines) is kept parsed; its admin endpoint gives metrics and
 * readiness; /proc gives its open file descriptors.
 */
export class GatewayProcess {
  /** The operational log, parsed, in order. */
  readonly log: LogLine[] = [];
  /** Lines of stderr that were not JSON (a crash's stack trace). */
  private readonly otherOutput: string[] = [];
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** The gRPC listener's port. */
    public port = 0,
    /** The admin listener's port. */
    public adminPort = 0,
  ) {
    let pending = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === '') continue;
        try {
          this.log.push(JSON.parse(line) as LogLine);
        } catch {
          this.otherOutput.push(line);
        }
      }
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  /** Starts the gateway and resolves once it logs that it serves. */
  static async start(configFile: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
    const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', '--require', REGISTER_TS, CLI, 'run', '--config', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    const gateway = new GatewayProcess(child);
    try {
      await waitUntil(() => gateway.exit !== undefined || gateway.serving() !== undefined, START_TIMEOUT_MS);
    } catch (err) {
      await gateway.stop();
      throw new Error(`the gateway did not start: ${(err as Error).message}\n${gateway.output()}`);
    }
    const serving = gateway.serving();
    if (serving === undefined) throw new Error(`the gateway exited before serving (${JSON.stringify(gateway.exit)}):\n${gateway.output()}`);
    gateway.port = (serving.listen as { port: number }).port;
    gateway.adminPort = (serving.admin as { port: number }).port;
    return gateway;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.exit === undefined;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Everything it wrote to stderr, for a failure message. */
  output(): string {
    return [...this.log.map((l) => JSON.stringify(l)), ...this.otherOutput].join('\n');
  }

  /** Log lines whose `msg` matches. */
  lines(msg: RegExp): LogLine[] {
    return this.log.filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
  }

  /** Resolves with the first line matching `msg` logged after `after` lines (default: from now on). */
  async nextLine(msg: RegExp, after = this.log.length, timeoutMs = 10_000): Promise<LogLine> {
    const found = () => this.log.slice(after).find((l) => typeof l.msg === 'string' && msg.test(l.msg));
    await waitUntil(() => found() !== undefined || !this.running, timeoutMs);
    const line = found();
    if (line === undefined) throw new Error(`the gateway exited (${JSON.stringify(this.exit)}):\n${this.output()}`);
    return line;
  }

  /** Open file descriptors, from /proc (Linux). */
  openFds(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  /** Its /metrics, parsed: `name{labels}` → value (unlabelled series under their bare name). */
  async metrics(): Promise<Map<string, number>> {
    const { body } = await this.admin('/metrics');
    const values = new Map<string, number>();
    for (const line of body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      values.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return values;
  }

  /** One value of /metrics, e.g. `toolgate_process_resident_memory_bytes`; throws when absent. */
  async metric(series: string): Promise<number> {
    const value = (await this.metrics()).get(series);
    if (value === undefined) throw new Error(`no series ${series} in /metrics`);
    return value;
  }

  /** The memory figures the fault suite reports: RSS, V8 heap used, open fds. */
  async memory(): Promise<{ rssBytes: number; heapUsedBytes: number; fds: number }> {
    const m = await this.metrics();
    return {
      rssBytes: m.get('toolgate_process_resident_memory_bytes') ?? NaN,
      heapUsedBytes: m.get('toolgate_nodejs_heap_size_used_bytes') ?? NaN,
      fds: this.openFds(),
    };
  }

  /** /readyz's status code (200 ready, 503 not). */
  async readyz(): Promise<number> {
    return (await this.admin('/readyz')).status;
  }

  admin(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port: this.adminPort, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    });
  }

  /** SIGHUP: reload the config and policies. */
  hangUp(): void {
    this.child.kill('SIGHUP');
  }

  /** SIGTERM (drain), then SIGKILL if it has not exited within 10 s. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private serving(): LogLine | undefined {
    return this.log.find((l) => l.msg === 'toolgate is serving');
  }
}
