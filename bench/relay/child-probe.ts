import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { FastPathStats } from '../../src/policy/policy-engine';

/** What a child reports when asked, between load phases. */
export interface ProcessSample {
  /** process.cpuUsage(): every thread of the process, µs. */
  cpu: NodeJS.CpuUsage;
  /** RSS now, bytes. */
  rss: number;
  /** Highest RSS seen (sampled every 100 ms) since the previous sample, bytes. */
  peakRss: number;
  /** The kernel's high-water mark of RSS over the process's whole life (ru_maxrss), bytes. */
  maxRss: number;
  /** process.memoryUsage() now, bytes: read as it is, no GC forced. */
  memory: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** toolgate: what its policy engine's fast path has done so far; 'off' when the fast path is off. Absent for other processes. */
  fastPath?: FastPathStats | 'off';
}

export type ParentMessage =
  { type: 'sample'; seq: number } | { type: 'profile-start'; seq: number; intervalMicros: number } | { type: 'profile-stop'; seq: number; file: string } | { type: 'exit' };

export type ChildMessage = { type: 'ready'; port: number } | { type: 'failed'; error: string } | { type: 'reply'; seq: number; sample?: ProcessSample; error?: string };

/**
 * The child side of the bench's IPC: answers CPU/RSS samples, starts and stops an
 * in-process V8 CPU profile (so a profile covers exactly one measured window), and exits
 * on request. The probe itself does nothing between requests but a 100 ms RSS poll.
 */
let fastPathStats: (() => FastPathStats | undefined) | undefined;

/** A toolgate child: lets samples report its policy engine's fast-path counters. */
export function reportFastPath(read: () => FastPathStats | undefined): void {
  fastPathStats = read;
}

export function serveProbe(): void {
  if (!process.send) throw new Error('bench children must be started with child_process.fork');
  let peakRss = process.memoryUsage.rss();
  const poll = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  }, 100);
  poll.unref();
  let session: Session | undefined;

  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'sample': {
        const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
        const sample: ProcessSample = {
          cpu: process.cpuUsage(),
          rss,
          peakRss: Math.max(peakRss, rss),
          maxRss: process.resourceUsage().maxRSS * 1024,
          memory: { heapTotal, heapUsed, external, arrayBuffers },
          ...(fastPathStats && { fastPath: fastPathStats() ?? 'off' }),
        };
        peakRss = rss;
        send({ type: 'reply', seq: message.seq, sample });
        return;
      }
      case 'profile-start': {
        session = new Session();
        session.connect();
        session.post('Profiler.enable', () =>
          session!.post('Profiler.setSamplingInterval', { interval: message.intervalMicros }, () =>
            session!.post('Profiler.start', (err) => send({ type: 'reply', seq: message.seq, error: err?.message })),
          ),
        );
        return;
      }
      case 'profile-stop': {
        const s = session;
        if (s === undefined) {
          send({ type: 'reply', seq: message.seq, error: 'no profile running' });
          return;
        }
        s.post('Profiler.stop', (err, result) => {
          if (!err) writeFileSync(message.file, JSON.stringify(result.profile));
          s.disconnect();
          session = undefined;
          send({ type: 'reply', seq: message.seq, error: err?.message });
        });
        return;
      }
      case 'exit':
        process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

export function reportReady(port: number): void {
  send({ type: 'ready', port });
}

/** Starts a child's main function, reporting a failure to the parent before exiting. */
export function runChild(main: () => Promise<number>): void {
  serveProbe();
  main().then(reportReady, (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100);
  });
}

function send(message: ChildMessage): void {
  process.send!(message);
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}
