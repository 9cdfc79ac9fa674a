import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { DecisionLogVerifier } from '../observability/decision-log-verifier';
import { NoteVerifier } from '../observability/signed-note';
import { UsageError, type CliCommand } from './command';
import { parseFlags } from './flags';

const USAGE = `Usage: toolgate audit verify FILE... [--keys FILE] [--at TIME] [--from-checkpoint]

Checks decision logs: every origin's chain (each record's hash, seq and prev, from its
genesis line on, without gaps, repeats or reordering), every checkpoint's signature and
that it matches the chain where it stands, and that each origin ends closed, or is
continued by a restart that names where it stopped, or signed within its heartbeat of
--at (else its tail may have been cut). Give the files of a rotated log oldest first
(decisions.log.2 decisions.log.1 decisions.log), or a stream where several gateways'
lines are interleaved (kubectl logs); lines that are no part of a decision log are
counted and ignored.

  --keys FILE  verifier keys, one per line, as the admin port publishes them
               (GET /decision-log/keys) or \`toolgate audit vkey\` prints them;
               without it, checkpoint signatures are not checked
  --at TIME    judge the log as of TIME (ISO 8601); default: now
  --from-checkpoint
               verify a log whose oldest files are gone: an origin whose genesis
               line is not given may begin at its first line given, when a
               checkpoint signed by a key in --keys (required) follows and signs
               it; each such origin is printed with where it begins. What came
               before is NOT verified: compare the first checkpoint with the
               last one a previous audit saw
  -h, --help   show this help

Exits 0 when every file is intact, 1 naming the first bad line (file:line, origin,
seq) and why, 2 for bad arguments.`;

/** `toolgate audit verify`: proves decision logs intact, or names the first broken line. */
export const auditVerifyCommand: CliCommand = {
  name: 'verify',
  summary: 'check decision logs: chains, hashes, signed checkpoints, cut tails',
  usage: USAGE,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, { keys: { type: 'string' }, at: { type: 'string' }, 'from-checkpoint': { type: 'boolean' } });
    if (positionals.length === 0) throw new UsageError(`no FILE given\n\n${USAGE}`);
    const at = values.at === undefined ? Date.now() : Date.parse(values.at);
    if (Number.isNaN(at)) throw new UsageError(`--at ${values.at}: not an ISO 8601 time`);
    const fromCheckpoint = values['from-checkpoint'] === true;
    // A checkpoint vouches for the middle of a log only through its signature.
    if (fromCheckpoint && values.keys === undefined)
      throw new UsageError(`--from-checkpoint needs --keys: only a checkpoint whose signature is checked vouches for a log's middle\n\n${USAGE}`);
    const keys = values.keys === undefined ? undefined : await readVerifierKeys(values.keys);
    const verifier = new DecisionLogVerifier({ at, ...(keys && { keys }), fromCheckpoint });
    for (const file of positionals) {
      let line = 0;
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
      for await (const text of lines) {
        line += 1;
        if (!verifier.line(text, { file, line })) break;
      }
      lines.close();
    }
    const report = verifier.report();
    for (const o of report.origins) context.stdout(`${o.origin}: ${o.records} records, ${o.checkpoints} checkpoints, ${o.end}${o.begins === undefined ? '' : `; ${o.begins}`}`);
    context.stdout(`${report.ignored} other lines ignored`);
    if (!report.signaturesChecked) context.stdout('checkpoint signatures NOT checked: no --keys');
    if (report.fromCheckpoint > 0) {
      context.stdout(`--from-checkpoint: ${report.fromCheckpoint} origin(s) verified from the middle, NOT from their start: what precedes the lines given is not verified`);
    }
    const f = report.failure;
    if (f) {
      context.stderr(`${f.file}:${f.line}: ${[f.origin && `origin ${f.origin}`, f.seq !== undefined && `seq ${f.seq}`].filter(Boolean).join(', ')}: ${f.reason}`);
      return 1;
    }
    context.stdout('intact');
    return 0;
  },
};

async function readVerifierKeys(file: string): Promise<NoteVerifier[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--keys ${file}: cannot be read (${errorCode(err) ?? 'error'})`, { cause: err });
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new UsageError(`--keys ${file}: no verifier key in it`);
  return lines.map((l, i) => {
    try {
      return NoteVerifier.parse(l);
    } catch (err) {
      throw new UsageError(`--keys ${file}: key ${i + 1}: ${errorMessage(err)}`, { cause: err });
    }
  });
}
