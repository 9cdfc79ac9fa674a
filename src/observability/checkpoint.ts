/**
 * The body of a decision-log checkpoint, in the C2SP tlog-checkpoint layout
 * (https://c2sp.org/tlog-checkpoint): the origin line, the size (records chained so far),
 * the base64 head hash, then toolgate's extension lines: `time <ISO 8601>` (when it was
 * signed) and, on the last one a gateway writes before it exits, `closed`. The head is the
 * hash of the last record of a hash chain, not a Merkle tree root: an auditor reads the whole
 * log, and needs no inclusion proofs.
 */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** base64 SHA-256 of the last record (of the genesis line at size 0). */
  readonly head: string;
  /** ISO 8601. */
  readonly time: string;
  readonly closed: boolean;
}

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.head}\ntime ${c.time}\n${c.closed ? 'closed\n' : ''}`;
}

/** The checkpoint a note's text holds, or a sentence saying why it holds none. */
export function parseCheckpoint(text: string): Checkpoint | string {
  const lines = text.split('\n');
  if (lines.pop() !== '') return 'the text does not end in a newline';
  const [origin, size, head, ...extensions] = lines;
  if (!origin || !/^(0|[1-9][0-9]*)$/.test(size ?? '') || !/^[A-Za-z0-9+/]{43}=$/.test(head ?? '')) return 'not an origin, a size and a base64 SHA-256 hash';
  const time = extensions.find((l) => l.startsWith('time '))?.slice(5);
  if (time === undefined || Number.isNaN(Date.parse(time))) return 'no time line';
  return { origin, size: Number(size), head: head!, time, closed: extensions.includes('closed') };
}
