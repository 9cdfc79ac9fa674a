import fc from 'fast-check';
import type * as protobuf from 'protobufjs';
import { resolve } from 'node:path';
import { encodeCanonical } from '../../../src/relay/canonical-encode';
import { decodeExact, MessageDecodeError, type DecodedMessage } from '../../../src/relay/exact-decode';
import { loadProtoRoot } from '../../../src/protos/proto-files';
import { PROTOC, protocDecodeEach, type ProtocBatch } from '../../support/protoc';
import { textFormat } from '../../support/text-format';
import { hostileMessage } from '../../support/wire-arbitraries';

/**
 * The payload-policy property: for every request message the gateway admits, the values
 * policy saw are exactly what protobuf's C++ parser (protoc) reads from the bytes the tool
 * receives — the gateway's canonical re-encoding — and, for an agent that meant no harm,
 * what it reads from the caller's own bytes too. Messages are hostile (wire-arbitraries.ts);
 * the count is bounded here and raised for longer runs: TOOLGATE_DIFFERENTIAL_RUNS=1000000
 * TOOLGATE_DIFFERENTIAL_SEED=<n> (docs/payload-exactness.md records such runs).
 */
const RUNS = Number(process.env.TOOLGATE_DIFFERENTIAL_RUNS ?? 20_000);
const SEED = Number(process.env.TOOLGATE_DIFFERENTIAL_SEED ?? 20261203);
const DIR = resolve(__dirname, '../../fixtures/proto/exact');

const CASES = [
  { type: 'exact.v1.Request', file: 'exact.proto', batchType: 'exact.v1.Batch' },
  { type: 'exact.v2.Legacy', file: 'closed.proto', batchType: 'exact.v2.Batch' },
];

const maybe = PROTOC ? describe : describe.skip;
if (!PROTOC) console.warn('protoc not found: the differential protobuf tests are skipped (apt-get install protobuf-compiler libprotobuf-dev)');

maybe('the gateway decodes request messages exactly as protobuf-C++ does (differential, protoc)', () => {
  it.each(CASES)(
    '$type: hostile messages, 0 disagreements',
    ({ type: typeName, file, batchType }) => {
      const type = loadProtoRoot([resolve(DIR, file)]).lookupType(typeName);
      const { admitted, refused } = expectNoDisagreement(type, { includeDir: DIR, file, batchType }, fc.sample(hostileMessage(type), { numRuns: RUNS, seed: SEED }));
      // Not vacuous: most hostile messages are still well formed enough to be admitted.
      expect(admitted).toBeGreaterThan(RUNS * 0.2);
      expect(refused).toBeGreaterThan(RUNS * 0.05);
    },
    600_000,
  );

  it('floats and doubles of every bit pattern, 0 disagreements', () => {
    const type = loadProtoRoot([resolve(DIR, 'exact.proto')]).lookupType('exact.v1.Request');
    // scalars { real32: <4 bytes> real64: <8 bytes> } and weights: <8 bytes>
    const floats = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }));
    const messages = fc
      .sample(floats, { numRuns: RUNS, seed: SEED })
      .map(([f, d, w]) => Buffer.concat([Buffer.from('a2010e75', 'hex'), f, Buffer.from([0x79]), d, Buffer.from('e901', 'hex'), w]));
    expect(expectNoDisagreement(type, { includeDir: DIR, file: 'exact.proto', batchType: 'exact.v1.Batch' }, messages).refused).toBe(0);
  }, 600_000);
});

/** Decodes each message as the gateway does and compares with protoc; counts. */
function expectNoDisagreement(type: protobuf.Type, batch: ProtocBatch, messages: readonly Uint8Array[]): { admitted: number; refused: number } {
  const mapFields = new Set(type.fieldsArray.filter((f) => f.map).map((f) => f.name));
  const admitted: Array<{ original: Uint8Array; canonical: Uint8Array; seen: string }> = [];
  let refused = 0;
  for (const bytes of messages) {
    let decoded: DecodedMessage;
    try {
      decoded = decodeExact(type, bytes);
    } catch (err) {
      if (!(err instanceof MessageDecodeError)) throw err;
      refused++;
      continue;
    }
    admitted.push({ original: bytes, canonical: encodeCanonical(decoded), seen: textFormat(decoded) });
  }
  const toolReads = protocDecodeEach(
    batch,
    admitted.map((a) => a.canonical),
  );
  const callerMeant = protocDecodeEach(
    batch,
    admitted.map((a) => a.original),
  );
  const decidedOnOther = admitted.flatMap((a, i) => (toolReads[i] === a.seen ? [] : [report(a, toolReads[i])]));
  const meaningChanged = admitted.flatMap((a, i) => (lastEntryPerKey(callerMeant[i], mapFields) === a.seen ? [] : [report(a, callerMeant[i])]));
  if (process.env.TOOLGATE_DIFFERENTIAL_RUNS)
    console.log(
      `${type.fullName.slice(1)}: ${messages.length} messages, ${admitted.length} admitted, ${refused} refused; disagreements: ${decidedOnOther.length} security, ${meaningChanged.length} fidelity`,
    );
  // The security property: what the tool parses is what policy saw.
  expect(decidedOnOther.slice(0, 3)).toEqual([]);
  // Fidelity: an admitted message means to the tool what it meant to protobuf; protoc
  // refusing one the gateway admits (or reading it otherwise) counts too.
  expect(meaningChanged.slice(0, 3)).toEqual([]);
  return { admitted: admitted.length, refused };
}

describe('canonical re-encoding', () => {
  const type = loadProtoRoot([resolve(DIR, 'exact.proto')]).lookupType('exact.v1.Request');

  it('is a fixed point: decoding the re-encoding gives the same message, and re-encoding it the same bytes', () => {
    fc.assert(
      fc.property(hostileMessage(type), (bytes) => {
        let decoded: DecodedMessage;
        try {
          decoded = decodeExact(type, bytes);
        } catch {
          return;
        }
        const canonical = encodeCanonical(decoded);
        const again = decodeExact(type, canonical);
        expect(textFormat(again)).toBe(textFormat(decoded));
        expect(Buffer.from(encodeCanonical(again)).equals(Buffer.from(canonical))).toBe(true);
      }),
      { numRuns: 5000, seed: SEED },
    );
  });
});

/**
 * protoc parses into a DynamicMessage, whose text form prints every map entry that came,
 * sorted by key, duplicates included; a program reading the map sees the last entry for a
 * key (the gateway's decoding, as protobuf's map semantics say). Keeps that last entry of
 * each run of equal keys in a top-level map field (the fixtures' maps are all top level).
 */
function lastEntryPerKey(text: string | undefined, mapFields: ReadonlySet<string>): string | undefined {
  if (text === undefined) return undefined;
  const blocks: Array<{ head: string; body: string }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    if (line.endsWith(' {') && !line.startsWith(' ')) {
      let j = i + 1;
      while (lines[j] !== '}') j++;
      blocks.push({ head: line, body: lines.slice(i + 1, j).join('\n') });
      i = j;
    } else blocks.push({ head: line, body: '' });
  }
  const kept = blocks.filter((b, i) => {
    const next = blocks[i + 1];
    const name = b.head.slice(0, -2);
    return !(mapFields.has(name) && next?.head === b.head && keyLine(next.body) === keyLine(b.body));
  });
  return kept.map((b) => (b.body === '' && !b.head.endsWith(' {') ? `${b.head}\n` : `${b.head}\n${b.body}${b.body ? '\n' : ''}}\n`)).join('');
}

function keyLine(body: string): string {
  return body.split('\n')[0];
}

function report(a: { original: Uint8Array; canonical: Uint8Array; seen: string }, other: string | undefined) {
  return { original: Buffer.from(a.original).toString('hex'), canonical: Buffer.from(a.canonical).toString('hex'), policySaw: a.seen, protoc: other ?? '(failed to parse)' };
}
