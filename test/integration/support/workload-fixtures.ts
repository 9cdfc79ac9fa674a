import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IssuedX509Svid } from '../../../src/spiffe/dev/ca';
import type { RecordedCall } from '../../../src/spiffe/dev/workload-api-server';
import { SECURITY_HEADER } from '../../../src/spiffe/workload/proto';

/** Both endpoint kinds the spec allows; each scenario runs on both. */
export const ENDPOINT_KINDS = ['unix', 'tcp'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/**
 * A listen address for the dev Workload API: a socket in a fresh temp dir, or a free
 * loopback port. `cleanup` removes the temp dir.
 */
export function listenAddress(kind: EndpointKind): { address: string; cleanup: () => void } {
  if (kind === 'tcp') return { address: 'tcp://127.0.0.1:0', cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'tg-wl-'));
  return { address: `unix://${join(dir, 'agent.sock')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Any typed EventEmitter (their event maps make them mutually unassignable). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Emitter = { once(event: any, listener: (...args: any[]) => void): unknown; on(event: any, listener: (...args: any[]) => void): unknown };

/** Resolves with the arguments of the next `event`; a plain listener, so 'error' is not special. */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: Emitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Collects every 'error' the emitter reports (the sources emit 'error' only while listened to). */
export function collectErrors(emitter: Emitter): Error[] {
  const errors: Error[] = [];
  emitter.on('error', (err: Error) => errors.push(err));
  return errors;
}

/** True when the call carried the security header exactly once, with the value `true`. */
export function hasSecurityHeader(call: RecordedCall): boolean {
  const values = call.metadata[SECURITY_HEADER];
  return values !== undefined && values.length === 1 && values[0] === 'true';
}

/** Milliseconds between successive calls. */
export function gaps(calls: RecordedCall[]): number[] {
  return calls.slice(1).map((c, i) => c.at - calls[i].at);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms; rejects when it still fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await sleep(5);
  }
}

/** A raw X509SVID wire entry for an issued SVID, so tests can break one field at a time. */
export function rawSvid(svid: IssuedX509Svid, bundle: Buffer, hint = '') {
  return { spiffe_id: svid.id, x509_svid: Buffer.concat(svid.certificates), x509_svid_key: svid.privateKey, bundle, hint };
}
