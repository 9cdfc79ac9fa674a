import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** What a child reports when asked, between load phases. */
export interface ProcessSample {
  /** process.cpuUsage(): every thread of the process, µs. */
  cpu: NodeJS.CpuUsage;
  /** RSS now, bytes. */
  rss: number;
  /** Highest RSS seen (sampled every 100 ms) since the previous sample, bytes. */
  peakRss: number;
}

export type ParentMessage =
  { type: 'sample'; seq: number } | { type: 'profile-start'; seq: number; intervalMicros: number } | { type: 'profile-stop'; seq: number; file: string } | { type: 'exit' };

export type ChildMessage = { type: 'ready'; port: number } | { type: 'failed'; error: string } | { type: 'reply'; seq: number; sample?: ProcessSample; error?: string };

/**
 * The child side of the bench's IPC: answers CPU/RSS samples, starts and stops an
 * in-process V8 CPU profile (so a profile covers exactly one measured window), and exits
 * on request. The probe itself does nothing between requests but a 100 ms RSS poll.
 */
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
        const rss = process.memoryUsage.rss();
        const sample: ProcessSample = { cpu: process.cpuUsage(), rss, peakRss: Math.max(peakRss, rss) };
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
