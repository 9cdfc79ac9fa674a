import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseCheckpoint } from './checkpoint';
import { openNote } from './signed-note';

/**
 * Where the chain of the process that wrote a log file before this one stood: named by the
 * new origin's genesis line, so that an auditor sees the restart continue the file, and a
 * tail cut from the previous origin after the restart shows.
 */
export interface PreviousOrigin {
  readonly origin: string;
  /** Its last checkpoint in the file (size and head), when there is one. */
  readonly checkpoint?: { readonly size: number; readonly head: string };
  /** Its last chained line in the file (seq 0: the genesis line). */
  readonly last: { readonly seq: number; readonly hash: string };
}

/** How much of the file's end is read: far more than the lines between two checkpoints of an idle gateway. */
const TAIL_BYTES = 1 << 20;

/**
 * The last origin of a decision log file, read from its last MiB, or undefined when the
 * file is missing, empty, or holds no chained line there. Lines that are not whole JSON
 * (a crash mid-write) are skipped.
 */
export function previousOrigin(path: string): PreviousOrigin | undefined {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      text = buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  let origin: string | undefined;
  let last: PreviousOrigin['last'] | undefined;
  let checkpoint: PreviousOrigin['checkpoint'];
  for (let i = lines.length - 1; i >= 0 && (last === undefined || checkpoint === undefined); i -= 1) {
    const line = parse(lines[i]!);
    if (line === undefined || (origin !== undefined && line.origin !== origin)) continue;
    origin = line.origin;
    if (last === undefined && typeof line.seq === 'number' && typeof line.hash === 'string') last = { seq: line.seq, hash: line.hash };
    if (checkpoint === undefined && typeof line.checkpoint === 'string') checkpoint = checkpointOf(line.checkpoint);
  }
  if (origin === undefined || last === undefined) return undefined;
  return { origin, ...(checkpoint && { checkpoint }), last };
}

function parse(text: string): { origin: string; [key: string]: unknown } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const line = JSON.parse(text) as unknown;
    return typeof line === 'object' && line !== null && typeof (line as { origin?: unknown }).origin === 'string' ? (line as { origin: string }) : undefined;
  } catch {
    return undefined;
  }
}

function checkpointOf(note: string): { size: number; head: string } | undefined {
  try {
    const c = parseCheckpoint(openNote(note).text);
    return typeof c === 'string' ? undefined : { size: c.size, head: c.head };
  } catch {
    return undefined;
  }
}
