import { spawnSync } from 'node:child_process';

/**
 * protoc (Debian's `protobuf-compiler`, the C++ parser) as a reference decoder: many
 * messages in one run, each as an item of a `Batch` message (`repeated <Type> items = 1`),
 * which protobuf parses exactly as it parses each message alone. Tests that need it are
 * skipped where it is missing, and fail instead when TOOLGATE_REQUIRE_PROTOC=1 (CI).
 */
export const PROTOC = findProtoc();

function findProtoc(): string | undefined {
  const found = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return 'protoc';
  if (process.env.TOOLGATE_REQUIRE_PROTOC === '1') throw new Error('protoc is required (TOOLGATE_REQUIRE_PROTOC=1): apt-get install protobuf-compiler libprotobuf-dev');
  return undefined;
}

export interface ProtocBatch {
  /** Folder the .proto is in (its -I). */
  includeDir: string;
  file: string;
  /** The batch message, `pkg.Batch`. */
  batchType: string;
}

/**
 * protoc's text rendering of each message, or undefined for a message protoc fails to parse.
 * A batch that fails is split in halves until the failing messages are found, so a rare
 * failure costs a few more runs, not one run per message.
 */
export function protocDecodeEach(batch: ProtocBatch, messages: readonly Uint8Array[]): Array<string | undefined> {
  const out: Array<string | undefined> = new Array(messages.length);
  const run = (from: number, to: number): void => {
    if (from >= to) return;
    const texts = protocDecode(batch, messages.slice(from, to));
    if (texts !== undefined) {
      texts.forEach((t, i) => (out[from + i] = t));
      return;
    }
    if (to - from === 1) {
      out[from] = undefined;
      return;
    }
    const mid = (from + to) >>> 1;
    run(from, mid);
    run(mid, to);
  };
  run(0, messages.length);
  return out;
}

/** One protoc run over the messages; undefined when it fails to parse the batch. */
function protocDecode(batch: ProtocBatch, messages: readonly Uint8Array[]): string[] | undefined {
  const parts: Uint8Array[] = [];
  for (const m of messages) parts.push(Uint8Array.of(0x0a), varint(m.length), m);
  const result = spawnSync(PROTOC!, [`-I${batch.includeDir}`, `--decode=${batch.batchType}`, batch.file], {
    input: Buffer.concat(parts),
    maxBuffer: 1 << 30,
    encoding: 'latin1', // protoc's text format is ASCII: bytes beyond it are escaped
  });
  if (result.status !== 0) return undefined;
  const items = splitItems(result.stdout);
  if (items.length !== messages.length) throw new Error(`protoc printed ${items.length} items for ${messages.length} messages`);
  return items;
}

/** `items {\n  a: 1\n}\nitems {\n}\n` → ['a: 1\n', ''], each item's lines de-indented. */
function splitItems(text: string): string[] {
  const items: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line === 'items {') current = [];
    else if (line === '}') {
      items.push(current!.map((l) => `${l.slice(2)}\n`).join(''));
      current = undefined;
    } else if (line !== '') current!.push(line);
  }
  return items;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}
