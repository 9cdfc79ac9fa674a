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

function verify(files: Array<[string, string[]]>, options: { keys?: boolean; at?: number } = {}): VerifyReport {
  const verifier = new DecisionLogVerifier({ at: options.at ?? START + 60_000, ...(options.keys !== false && { keys: [SIGNER.verifier] }) });
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
