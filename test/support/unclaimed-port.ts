import { createServer } from 'node:net';

/**
 * A loopback port for a test that must name its ports before the gateway starts (to poll one
 * during the start, or to see it freed after a failed start).
 *
 * Why not `listen(0)`, close, and reuse the number: the kernel hands that same number to the next
 * `listen(0)` or outgoing connection of any parallel jest worker, and CI once saw a gateway fail
 * its start on an admin port a neighbour had taken in between. The numbers here come from below
 * Linux's ephemeral range (32768-60999 by default), which the kernel never hands out on its own,
 * in a block of its own for each jest worker, so only this helper ever picks them.
 */
const BASE = 20000;
const PER_WORKER = 400;
let next = 0;

export async function unclaimedPort(): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const start = BASE + ((worker - 1) % 30) * PER_WORKER;
  for (let tries = 0; tries < PER_WORKER; tries++) {
    const port = start + (next++ % PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in ${start}-${start + PER_WORKER - 1}`);
}

/** True when `port` can be listened on right now (nothing holds it). */
export async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}
