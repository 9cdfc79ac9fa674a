import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointText, parseCheckpoint } from '../../../src/observability/checkpoint';
import { lineHash } from '../../../src/observability/decision-chain';
import { DecisionLog, type DecisionRecord } from '../../../src/observability/decision-log';
import { DecisionLogVerifier, type VerifyReport } from '../../../src/observability/decision-log-verifier';
import { previousOrigin, type PreviousOrigin } from '../../../src/observability/previous-origin';
import { NoteSigner, openNote } from '../../../src/observability/signed-note';

const START = Date.parse('2026-12-01T10:00:00.000Z');
const HOUR = 3600_000;
const SIGNER = NoteSigner.generate('toolgate-decisions-test');
const record = (i: number): DecisionRecord => ({
  decisionId: `abc-${i}`,
  caller: 'spiffe://example.org/agents/bot',
  action: 'x.v1.Y/Z',
  resource: 'files',
  decision: 'allow',
  policies: ['p'],
  errors: [],
  policySet: 'f00',
});

/**
 * A log of five records, a checkpoint every two, closed: genesis (line 1), its checkpoint (2),
 * r1 (3), r2 (4), checkpoint 2 (5), r3 (6), r4 (7), checkpoint 4 (8), r5 (9), closing checkpoint (10).
 */
function writeLog(options: { replica?: string; previous?: PreviousOrigin; close?: boolean; signer?: NoteSigner } = {}): string[] {
  const lines: string[] = [];
  let now = START;
  const log = new DecisionLog({
    sink: { write: (line: string) => lines.push(line.trimEnd()) },
    signer: options.signer ?? SIGNER,
    replica: options.replica ?? 'replica-a',
    checkpointRecords: 2,
    checkpointSeconds: 10,
    clock: () => (now += 1000),
    ...(options.previous && { previous: options.previous }),
  });
  for (let i = 1; i <= 5; i += 1) log.write(record(i));
  if (options.close !== false) log.close();
  // A crash: no closing checkpoint, and no heartbeat after it.
  else clearInterval(log['timer']);
  return lines;
}

function verify(files: Array<[string, string[]]>, options: { keys?: boolean; at?: number; fromCheckpoint?: boolean } = {}): VerifyReport {
  const verifier = new DecisionLogVerifier({
    at: options.at ?? START + 60_000,
    ...(options.keys !== false && { keys: [SIGNER.verifier] }),
    ...(options.fromCheckpoint === true && { fromCheckpoint: true }),
  });
  for (const [file, lines] of files) lines.every((text, i) => verifier.line(text, { file, line: i + 1 }));
  return verifier.report();
}

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

/** What a forger with write access but not the key does: edit, then re-chain and re-sign everything after with a key of their own. */
function forge(lines: string[], edit: (line: Record<string, unknown>) => void, editIndex: number, key: NoteSigner): string[] {
  let head = '';
  let size = 0;
  return lines.map((text, i) => {
    const line = parse(text);
    if (typeof line.checkpoint === 'string') {
      if (i < editIndex) return text;
      const c = parseCheckpoint(openNote(line.checkpoint).text);
      if (typeof c === 'string') throw new Error(c);
      return JSON.stringify({ ...line, checkpoint: key.sign(checkpointText({ ...c, size, head })) });
    }
    if (i === editIndex) edit(line);
    if (i >= editIndex) {
      if (line.seq !== 0) line.prev = head;
      line.hash = lineHash(line);
    }
    head = line.hash as string;
    size = line.seq as number;
    return JSON.stringify(line);
  });
}

describe('the decision log chain and `audit verify`', () => {
  it('an untouched log verifies: every origin closed, every checkpoint signed', () => {
    const lines = writeLog();
    expect(lines).toHaveLength(10);
    expect(parse(lines[0]!)).toMatchObject({ log: 'decision', seq: 0, genesis: { replica: 'replica-a', key: SIGNER.verifier.verifierKey, checkpointSeconds: 10 } });
    expect(parse(lines[2]!)).toMatchObject({ decisionId: 'abc-1', seq: 1, prev: parse(lines[0]!).hash, origin: parse(lines[0]!).origin });
    const report = verify([['decisions.log', lines]]);
    expect(report.failure).toBeUndefined();
    expect(report.origins).toEqual([{ origin: parse(lines[0]!).origin, records: 5, checkpoints: 4, end: 'closed' }]);
  });

  it('one byte of a record edited: that record is named', () => {
    const lines = writeLog();
    lines[5] = lines[5]!.replace('abc-3', 'abc-9');
    expect(verify([['d.log', lines]]).failure).toMatchObject({ file: 'd.log', line: 6, seq: 3, reason: expect.stringMatching(/does not match its hash/) });
  });

  it('a record edited and its own hash recomputed: the next record, whose prev no longer matches, is named', () => {
    const lines = writeLog();
    const edited = parse(lines[5]!);
    edited.decision = 'deny';
    edited.hash = lineHash(edited);
    lines[5] = JSON.stringify(edited);
    expect(verify([['d.log', lines]]).failure).toMatchObject({ line: 7, seq: 4, reason: 'prev is not the hash of seq 3 (a record before it was changed or replaced)' });
  });

  it('a line edited until it is no longer JSON is named, not skipped', () => {
    const lines = writeLog();
    lines[5] = lines[5]!.replace('"decision":"allow"', '"decision":allow');
    expect(verify([['d.log', lines]]).failure).toMatchObject({ line: 6, reason: expect.stringMatching(/not valid JSON/) });
  });

  it('a record deleted: the one after the gap is named, with what is missing', () => {
    const lines = writeLog();
    lines.splice(5, 1);
    expect(verify([['d.log', lines]]).failure).toMatchObject({ line: 6, seq: 4, reason: 'seq 4 follows seq 2: record 3 is missing' });
  });

  it('two records swapped: the first out of place is named', () => {
    const lines = writeLog();
    [lines[5], lines[6]] = [lines[6]!, lines[5]!];
    expect(verify([['d.log', lines]]).failure).toMatchObject({ line: 6, seq: 4, reason: expect.stringMatching(/record 3 is missing/) });
    const report = verify([['d.log', [...lines.slice(0, 5), lines[6]!, lines[6]!, ...lines.slice(7)]]]);
    expect(report.failure).toMatchObject({ line: 7, seq: 3, reason: expect.stringMatching(/reordered or repeated/) });
  });

  it('the tail dropped: once older than the heartbeat allows, the first unsigned record is named; a live tail within it is not', () => {
    const lines = writeLog().slice(0, 9);
    expect(verify([['d.log', lines]], { at: START + 20_000 }).origins[0]).toMatchObject({ end: 'open' });
    expect(verify([['d.log', lines]], { at: START + HOUR }).failure).toMatchObject({ line: 9, seq: 5, reason: expect.stringMatching(/no checkpoint signs this line/) });
    // Cut right after a checkpoint: that checkpoint, not a closing one, is named.
    expect(verify([['d.log', lines.slice(0, 8)]], { at: START + HOUR }).failure).toMatchObject({ line: 8, reason: expect.stringMatching(/last checkpoint, not a closing one/) });
  });

  it('a record edited and the chain re-hashed and re-signed with another key: the first forged checkpoint is named', () => {
    const lines = writeLog();
    const forged = forge(lines, (line) => (line.decision = 'deny'), 5, NoteSigner.generate('toolgate-decisions-test'));
    // The hashes alone hold: only a key the forger lacks tells.
    expect(verify([['d.log', forged]], { keys: false }).failure).toBeUndefined();
    expect(verify([['d.log', forged]]).failure).toMatchObject({ line: 8, reason: expect.stringMatching(/signed by no key given with --keys/) });
    // The same name and key id, another signature: does not verify.
    const tampered = lines.map((l, i) => (i === 7 ? l.replace(/time 2026/, 'time 2025') : l));
    expect(verify([['d.log', tampered]]).failure).toMatchObject({ line: 8, reason: expect.stringMatching(/does not verify/) });
  });

  it("two replicas' logs spliced: the first line of the other chain is named", () => {
    const a = writeLog({ replica: 'replica-a' });
    const b = writeLog({ replica: 'replica-b' });
    const spliced = [...a.slice(0, 6), ...b.slice(6)];
    expect(verify([['d.log', spliced]]).failure).toMatchObject({ line: 7, seq: 4, origin: parse(b[0]!).origin, reason: expect.stringMatching(/genesis line was not seen/) });
    // A record moved into the other chain, its origin rewritten: its hash no longer matches.
    const moved = [...a.slice(0, 6), b[6]!.replace(parse(b[0]!).origin as string, parse(a[0]!).origin as string), ...a.slice(7)];
    expect(verify([['d.log', moved]]).failure).toMatchObject({ line: 7, reason: expect.stringMatching(/does not match its hash/) });
  });

  it("several replicas' lines interleaved in one stream, with other processes' lines: intact, the others counted", () => {
    const a = writeLog({ replica: 'replica-a' });
    const b = writeLog({ replica: 'replica-b' });
    const stream = a.flatMap((line, i) => [line, b[i]!, i % 3 === 0 ? 'GET /healthz 200' : '{"level":30,"msg":"other pod"}']);
    const report = verify([['kubectl-logs.txt', stream]]);
    expect(report.failure).toBeUndefined();
    expect(report.origins.map((o) => o.end)).toEqual(['closed', 'closed']);
    expect(report.ignored).toBe(10);
  });

  it('a log split across rotated files verifies when the files are given in order, not alone', () => {
    const lines = writeLog();
    expect(
      verify([
        ['d.log.1', lines.slice(0, 6)],
        ['d.log', lines.slice(6)],
      ]).failure,
    ).toBeUndefined();
    expect(verify([['d.log', lines.slice(6)]]).failure).toMatchObject({ file: 'd.log', line: 1, reason: expect.stringMatching(/genesis line was not seen/) });
  });

  it('a restart names where the previous origin stopped, so its unsigned tail is vouched for, and a tail cut later shows', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'toolgate-chain-')), 'decisions.log');
    const crashed = writeLog({ close: false }).slice(0, 9); // r5 written, its checkpoint not
    writeFileSync(file, `${crashed.join('\n')}\n{"partial":`);
    const previous = previousOrigin(file)!;
    expect(previous).toEqual({ origin: parse(crashed[0]!).origin, checkpoint: { size: 4, head: parse(crashed[6]!).hash }, last: { seq: 5, hash: parse(crashed[8]!).hash } });
    const restarted = writeLog({ previous });
    expect(parse(restarted[0]!)).toMatchObject({ genesis: { previous } });
    const report = verify([['d.log', [...crashed, ...restarted]]], { at: START + HOUR });
    expect(report.failure).toBeUndefined();
    expect(report.origins[0]).toMatchObject({ end: `continued by ${parse(restarted[0]!).origin}` });
    // The previous origin's lines all removed: its successor names it.
    expect(verify([['d.log', restarted]], { at: START + HOUR }).failure).toMatchObject({
      line: 1,
      seq: 0,
      reason: expect.stringMatching(/names the previous origin .*, whose lines are not in the input/),
    });
    // r5 removed after the restart: the successor's genesis says the chain went on to seq 5.
    expect(verify([['d.log', [...crashed.slice(0, 8), ...restarted]]], { at: START + HOUR }).failure).toMatchObject({
      line: 8,
      reason: expect.stringMatching(/ended at seq 5; here it ends at seq 4/),
    });
  });

  it('a record written after close is chained, and closed again', () => {
    const lines: string[] = [];
    const log = new DecisionLog({ sink: { write: (line: string) => lines.push(line.trimEnd()) }, signer: SIGNER, checkpointSeconds: 10, clock: () => START });
    log.close();
    log.write(record(1));
    expect(verify([['d.log', lines]], { at: START + HOUR }).origins[0]).toMatchObject({ records: 1, end: 'closed' });
  });
});

/*
 * A log whose oldest rotated files were deleted (retention): its first lines are in the middle
 * of an origin. Verified only when the auditor asks (`fromCheckpoint`), from a signed
 * checkpoint, and printed as such; deletions inside the window still show.
 * Lines (0-based): 0 genesis, 1 cp0, 2 r1, 3 r2, 4 cp2, 5 r3, 6 r4, 7 cp4, 8 r5, 9 closing cp5.
 */
describe('`audit verify --from-checkpoint`: a log whose head is gone', () => {
  const from = { fromCheckpoint: true, at: START + HOUR };

  it('without it, a window of the log fails at its first line, as before', () => {
    expect(verify([['d.log', writeLog().slice(5)]], { at: START + HOUR }).failure).toMatchObject({ line: 1, reason: expect.stringMatching(/genesis line was not seen/) });
  });

  it('begins at the first line given when a signed checkpoint after it signs it; the summary says where, and that what precedes is not verified', () => {
    const lines = writeLog();
    const report = verify([['d.log', lines.slice(5)]], from);
    expect(report.failure).toBeUndefined();
    expect(report.fromCheckpoint).toBe(1);
    expect(report.origins).toEqual([
      {
        origin: parse(lines[0]!).origin,
        records: 3,
        checkpoints: 2,
        end: 'closed',
        begins: expect.stringMatching(
          /^begins at seq 3, without its genesis line \(records before it are not in the input, and not verified\); vouched for by the checkpoint of 4 records signed at \S+ \(d\.log:3\)$/,
        ),
      },
    ]);
    // Beginning at a checkpoint line: the chain goes on from what it signs.
    expect(verify([['d.log', lines.slice(4)]], from).origins[0]).toMatchObject({
      records: 3,
      begins: expect.stringMatching(/^begins at seq 3, .* checkpoint of 2 records .*\(d\.log:1\)$/),
    });
    // An untouched whole log is verified from its genesis line: nothing to say.
    expect(verify([['d.log', lines]], from)).toMatchObject({ fromCheckpoint: 0, origins: [{ end: 'closed' }] });
    expect(verify([['d.log', lines]], from).origins[0]).not.toHaveProperty('begins');
  });

  it('records in the window are still checked: an edit, a deletion before the first checkpoint, one after it', () => {
    const lines = writeLog().slice(5); // r3 r4 cp4 r5 cp5
    const edited = lines.map((l, i) => (i === 1 ? l.replace('abc-4', 'abc-8') : l));
    expect(verify([['d.log', edited]], from).failure).toMatchObject({ line: 2, seq: 4, reason: expect.stringMatching(/does not match its hash/) });
    // r4 deleted: the checkpoint signs 4 records, the window's chain reaches seq 3.
    expect(verify([['d.log', [lines[0]!, ...lines.slice(2)]]], from).failure).toMatchObject({ line: 2, reason: 'the checkpoint signs 4 records, 3 precede it' });
    // r3 replaced by a forged record with its own hash: the head the checkpoint signs no longer follows from it.
    const forged = parse(lines[1]!);
    forged.decision = 'deny';
    forged.hash = lineHash(forged);
    expect(verify([['d.log', [lines[0]!, JSON.stringify(forged), ...lines.slice(2)]]], from).failure).toMatchObject({
      line: 3,
      reason: "the checkpoint's head is not the hash of seq 4",
    });
    expect(verify([['d.log', [...lines.slice(0, 3), lines[4]!]]], from).failure).toMatchObject({ line: 4, reason: 'the checkpoint signs 5 records, 4 precede it' });
  });

  it('a window no signed checkpoint vouches for fails: re-signed with another key, or no checkpoint after it', () => {
    const lines = writeLog();
    const forged = forge(lines, (line) => (line.decision = 'deny'), 5, NoteSigner.generate('toolgate-decisions-test'));
    expect(verify([['d.log', forged.slice(5)]], from).failure).toMatchObject({ line: 3, reason: expect.stringMatching(/signed by no key given with --keys/) });
    const crashed = writeLog({ close: false }).slice(8, 9); // r5 alone, never signed
    expect(verify([['d.log', crashed]], from).failure).toMatchObject({ line: 1, seq: 5, reason: expect.stringMatching(/no checkpoint signed by a given key follows to vouch/) });
  });

  it('an origin whose head was deleted from the middle of the log (after a restart there) is not taken for one begun before the window', () => {
    const first = writeLog();
    const previous = { origin: parse(first[0]!).origin as string, last: { seq: 5, hash: parse(first[8]!).hash as string } };
    const second = writeLog({ previous, replica: 'replica-a' });
    const third = writeLog({ previous: { origin: parse(second[0]!).origin as string, last: { seq: 5, hash: parse(second[8]!).hash as string } } });
    // The window: the first origin's tail, the second whole, the third without its genesis line and first records.
    const report = verify([['d.log', [...first.slice(5), ...second, ...third.slice(5)]]], from);
    expect(report.failure).toMatchObject({ line: 16, origin: parse(third[0]!).origin, reason: expect.stringMatching(/began inside the window, so its head was deleted/) });
  });

  it('needs keys: a checkpoint vouches for a window only through its signature', () => {
    expect(() => new DecisionLogVerifier({ at: START, fromCheckpoint: true })).toThrow(/needs keys/);
  });

  it('a restart at the first line given may name a previous origin absent from the input; one later in the input may not', () => {
    const first = writeLog();
    const previous = {
      origin: parse(first[0]!).origin as string,
      checkpoint: { size: 5, head: parse(first[8]!).hash as string },
      last: { seq: 5, hash: parse(first[8]!).hash as string },
    };
    const restarted = writeLog({ previous });
    const report = verify([['d.log', restarted]], from);
    expect(report.failure).toBeUndefined();
    expect(report.origins[0]!.begins).toBe(`its previous origin ${previous.origin} is not in the input (it ended before the first line given)`);
    // Another log's lines before it: a whole origin between them was deleted, not a head.
    const other = writeLog({ replica: 'replica-b' });
    expect(verify([['d.log', [...other, ...restarted]]], from).failure).toMatchObject({
      line: 11,
      seq: 0,
      reason: expect.stringMatching(/names the previous origin .*, whose lines are not in the input/),
    });
    // The previous origin's tail in the window, vouched for by its successor's genesis line.
    const tail = verify([['d.log', [first[8]!, ...restarted]]], from);
    expect(tail.failure).toBeUndefined();
    expect(tail.origins[0]).toMatchObject({ records: 1, end: `continued by ${parse(restarted[0]!).origin}`, begins: expect.stringMatching(/vouched for by the genesis line of/) });
  });
});
