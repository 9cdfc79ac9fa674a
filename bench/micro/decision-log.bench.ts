/*
 * Per-decision cost of the decision log's tamper evidence: what `DecisionLog.write` costs
 * with the chain (a canonical JSON encoding and a SHA-256 per record) and with signed
 * checkpoints (an Ed25519 signature every `checkpointRecords` records), and the request
 * digest a record of a message carries (one SHA-256 of the message as relayed), against the writer
 * before the chain (pino's `logger.info(record)`, which the decision log used to be), and against
 * the chain before the one-pass record line (the generic canonicalizer, issue 15).
 * Every side writes to a destination that drops the line, so the numbers are the CPU a call
 * spends on the event loop; the file write itself was and stays asynchronous (batched).
 *
 * Sides alternate round after round; numbers are µs per record, the median over rounds of
 * wall-clock time ÷ records (synchronous code: CPU time).
 *
 * Run: `npm run bench:build && node bench/dist/bench/micro/decision-log.bench.js`
 * Env: BENCH_MICRO_ROUNDS (default 9), BENCH_MICRO_ROUND_MS (default 150).
 */
import pino from 'pino';
import { DecisionChain } from '../../src/observability/decision-chain';
import { DecisionLog, type DecisionRecord } from '../../src/observability/decision-log';
import { requestDigest } from '../../src/observability/request-digest';
import { alternatingRounds, median, ROUND_MS, ROUNDS } from './alternating-rounds';

/** An allow as the relay bench writes them (~390 bytes a line). */
const RECORD: DecisionRecord = {
  decisionId: '3f2a9c41d0e2-123456',
  caller: 'spiffe://example.org/agents/bench-client',
  principal: 'Agent::"bench-client"',
  action: 'bench.v1.Echo/Unary',
  resource: 'echo',
  decision: 'allow',
  policies: ['bench-agents-call-echo'],
  errors: [],
  evalUs: 2,
  cached: true,
  policySet: 'bdcc24d630df',
};

const drop = { write: (_line: string) => undefined };
const sides: Array<[string, () => void]> = [];

const before = pino({ base: { log: 'decision' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, drop);
sides.push(['pino logger.info(record) (the writer before the chain)', () => before.info(RECORD)]);
// What DecisionLog.write did before the one-pass record line (and still does for a record it cannot take, e.g. with a
// `shadow` object): the generic RFC 8785 canonicalizer over the line's parts, and toISOString per record.
const generic = new DecisionChain('toolgate/bench/2026-12-03T16:05:54.123Z/9f3c20aa');
generic.genesis({ level: 'info', time: new Date().toISOString(), log: 'decision' });
const genericWrite = (record: DecisionRecord) => drop.write(`${generic.link({ level: 'info', time: new Date(Date.now()).toISOString(), log: 'decision' }, record).text}\n`);
sides.push(['before: the generic chain (canonicalJsonOfParts, toISOString), no checkpoint', () => genericWrite(RECORD)]);
const chainOnly = new DecisionLog({ sink: drop, checkpointRecords: Number.MAX_SAFE_INTEGER, checkpointSeconds: 3600 });
sides.push(['DecisionLog.write: chained, no checkpoint', () => chainOnly.write(RECORD)]);
/** An MCP tool call's allow with its requestDigest, on behalf of a user, under a task. */
const MCP_RECORD: DecisionRecord = {
  decisionId: '3f2a9c41d0e2-123457',
  protocol: 'mcp',
  caller: 'spiffe://example.org/agents/research-bot',
  principal: 'Agent::"research-bot"',
  action: 'mcp:notes/tools/call/read_note',
  resource: 'notes',
  requestDigest: requestDigest(Buffer.alloc(200)),
  task: 'task_Q2xhdWRlLXRhc2stMQ',
  onBehalfOf: 'alice',
  decision: 'allow',
  policies: ['researchers-read-notes'],
  errors: [],
  evalUs: 38,
  cached: false,
  policySet: 'bdcc24d630df',
};
sides.push(['before: the generic chain, an MCP record', () => genericWrite(MCP_RECORD)]);
sides.push(['DecisionLog.write: an MCP record (requestDigest, task, onBehalfOf), no checkpoint', () => chainOnly.write(MCP_RECORD)]);
// A record with a shadow object takes the generic canonicalizer (rare: only where the shadow set disagreed).
const SHADOW_RECORD: DecisionRecord = { ...RECORD, shadow: { decision: 'deny', policies: ['candidate-forbid'], errors: [] } };
sides.push(['DecisionLog.write: with a shadow object (the generic path), no checkpoint', () => chainOnly.write(SHADOW_RECORD)]);
const byDefault = new DecisionLog({ sink: drop, checkpointSeconds: 3600 });
sides.push(['DecisionLog.write: chained, a checkpoint every 1000 (default)', () => byDefault.write(RECORD)]);
const everyRecord = new DecisionLog({ sink: drop, checkpointRecords: 1, checkpointSeconds: 3600 });
sides.push(['DecisionLog.write: chained, a checkpoint after every record', () => everyRecord.write(RECORD)]);
sides.push(['a checkpoint alone (Ed25519 signature of the note)', () => chainOnly.checkpoint()]);
// The request digest of a payload-aware message or an MCP message, at sizes from a small call to a large one.
const WITH_DIGEST: DecisionRecord = { ...RECORD, requestDigest: requestDigest(Buffer.alloc(64)) };
sides.push(['DecisionLog.write: chained, with a requestDigest (the record ~80 bytes longer)', () => chainOnly.write(WITH_DIGEST)]);
for (const size of [64, 1024, 16 * 1024, 256 * 1024]) {
  const message = Buffer.alloc(size, 0x5a);
  sides.push([`requestDigest of a ${size < 1024 ? `${size}-byte` : `${size / 1024} KiB`} message (SHA-256, hex)`, () => void requestDigest(message)]);
}

const results = alternatingRounds(sides);
for (const log of [chainOnly, byDefault, everyRecord]) log.close();

console.log(`node ${process.version}, ${ROUNDS} rounds of ~${ROUND_MS} ms per side; µs per record (median; min–max over rounds)\n`);
console.log('| operation | µs/op | rounds min–max |');
console.log('| --- | ---: | ---: |');
sides.forEach(([label], i) => {
  const xs = results[i]!;
  console.log(`| ${label} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} |`);
});
