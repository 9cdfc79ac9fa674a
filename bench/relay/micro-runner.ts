import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { MicroReport } from '../micro/credentials.bench';

export type MicroResult = MicroReport;

/** Runs bench/micro/credentials.bench in its own process (after the relay phases) and returns its report. */
export function runMicroBench(timeoutMs = 180_000): Promise<MicroResult> {
  const child = fork(join(__dirname, '../micro/credentials.bench.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let report: MicroResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (m: { type?: string; report?: MicroResult }) => {
      if (m.type === 'micro' && m.report) report = m.report;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`the credentials micro-benchmark exited without a report (code ${code}, signal ${signal})`));
    });
  });
}
