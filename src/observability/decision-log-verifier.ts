import { errorMessage } from '../errors/unknown-error';
import { parseCheckpoint } from './checkpoint';
import { lineHash } from './decision-chain';
import { DEFAULT_CHECKPOINT_SECONDS } from './decision-log';
import { openNote, type NoteVerifier } from './signed-note';

/** A line of the input: which file, which line (1-based). */
export interface LineLocation {
  readonly file: string;
  readonly line: number;
}

/** The first thing found wrong: where, which origin and seq, and why. */
export interface VerifyFailure extends LineLocation {
  readonly origin?: string;
  readonly seq?: number;
  readonly reason: string;
}

export interface OriginSummary {
  readonly origin: string;
  readonly records: number;
  readonly checkpoints: number;
  /** `closed`, `continued by <origin>`, or `open` (a live gateway: its last checkpoint is within its heartbeat). */
  readonly end: string;
  /**
   * With `fromCheckpoint`, how an origin verified from the middle begins: where its first
   * line is, which signed checkpoint vouches for it, what before it is not verified; or that
   * its previous origin is not in the input. Absent for an origin verified from its genesis line.
   */
  readonly begins?: string;
}

export interface VerifyReport {
  readonly failure?: VerifyFailure;
  readonly origins: OriginSummary[];
  /** Lines that are no part of any decision log (other processes' lines on a shared stdout, blank lines). */
  readonly ignored: number;
  /** Whether checkpoint signatures were checked (verifier keys were given). */
  readonly signaturesChecked: boolean;
  /** How many origins were verified from a checkpoint rather than from their genesis line (`fromCheckpoint`). */
  readonly fromCheckpoint: number;
}

export interface VerifyOptions {
  /** The published verifier keys; without them signatures are not checked. */
  readonly keys?: readonly NoteVerifier[];
  /** When the log is judged, ms since the epoch: an origin neither closed nor continued must have signed within its heartbeat of it. */
  readonly at: number;
  /**
   * The auditor's choice, for a log whose oldest files are gone: an origin whose genesis line
   * is not in the input may begin at its first line there, provided a checkpoint signed by
   * one of `keys` (required) follows and signs it, or a later origin continues it; and a
   * genesis line that is the input's first chained line may name a previous origin absent
   * from it. Each such origin's summary says where it begins (`begins`).
   */
  readonly fromCheckpoint?: boolean;
}

interface Unsigned extends LineLocation {
  readonly seq: number;
  readonly time: number;
}

/** One origin's chain as read so far. */
interface OriginState {
  seq: number;
  head: string;
  heartbeatSeconds: number;
  records: number;
  checkpoints: number;
  lastLine: LineLocation;
  lastCheckpoint?: LineLocation & { time: number; closed: boolean };
  /** The first record after the last checkpoint. */
  unsigned?: Unsigned;
  /** An origin verified from the middle (`fromCheckpoint`): its first line in the input, and the checkpoint that vouched for it once one did. */
  partial?: { readonly seq: number; readonly where: LineLocation; vouched?: string };
}

/** What a genesis line says of the origin before it. */
interface Successor extends LineLocation {
  readonly by: string;
  readonly seq: number;
  readonly hash: string;
}

/**
 * Checks decision log lines (docs/decision-records.md, "Tamper evidence"), given in order:
 * the files of a rotated log oldest first, or a stream where several processes' lines are
 * interleaved. Each origin's chain must begin with its genesis line and continue without a
 * gap, a repeat or a reordering; every line's hash must match its contents; every
 * checkpoint must be signed by a given key and match the chain where it stands; and each
 * origin must end closed, or be continued by a later origin that names where it stopped,
 * or have signed within its heartbeat (2 × checkpointSeconds) of `at`. Stops at the first
 * line found wrong.
 */
export class DecisionLogVerifier {
  private readonly states = new Map<string, OriginState>();
  private readonly successors = new Map<string, Successor>();
  private ignored = 0;
  private failure: VerifyFailure | undefined;
  /** The input's first line of any chain: where a window of a log (`fromCheckpoint`) begins. */
  private first: LineLocation | undefined;
  /** The input's first genesis line: an origin begun before the window shows before it (`fromCheckpoint`). */
  private firstGenesis: (LineLocation & { origin: string }) | undefined;

  constructor(private readonly options: VerifyOptions) {
    // Starting from the middle is safe only from a checkpoint whose signature is checked.
    if (options.fromCheckpoint === true && options.keys === undefined)
      throw new TypeError('fromCheckpoint needs keys: a checkpoint vouches for a log only when its signature is checked');
  }

  /** Reads one line; false once a line was found wrong (the rest need not be read). */
  line(text: string, where: LineLocation): boolean {
    this.failure ??= this.read(text, where);
    return this.failure === undefined;
  }

  /** After the last line: the report, with the first failure if any. */
  report(): VerifyReport {
    // A restart names the origin before it in the file: that origin's lines must be here (all of them deleted would otherwise not show).
    const begins = new Map<string, string>();
    for (const [origin, successor] of this.successors) {
      if (this.failure || this.states.has(origin)) continue;
      // A window of the log: its first line may be a restart whose predecessor's lines are all before the window.
      if (this.options.fromCheckpoint === true && this.first?.file === successor.file && this.first.line === successor.line) {
        begins.set(successor.by, `its previous origin ${origin} is not in the input (it ended before the first line given)`);
        continue;
      }
      this.failure = {
        file: successor.file,
        line: successor.line,
        origin: successor.by,
        seq: 0,
        reason: `the genesis line names the previous origin ${origin}, whose lines are not in the input (an earlier file not given, or deleted)`,
      };
    }
    const origins: OriginSummary[] = [];
    for (const [origin, state] of this.states) {
      let end = 'not checked';
      if (!this.failure) {
        const ended = this.end(origin, state);
        if (typeof ended === 'string') end = ended;
        else this.failure = ended;
      }
      const partial = state.partial;
      const from = partial && (partial.vouched ?? 'vouched for by no checkpoint');
      const begun = [from, begins.get(origin)].filter((b) => b !== undefined).join('; ');
      origins.push({ origin, records: state.records, checkpoints: state.checkpoints, end, ...(begun !== '' && { begins: begun }) });
    }
    const fromCheckpoint = origins.filter((o) => o.begins !== undefined).length;
    return { ...(this.failure && { failure: this.failure }), origins, ignored: this.ignored, signaturesChecked: this.options.keys !== undefined, fromCheckpoint };
  }

  private read(text: string, where: LineLocation): VerifyFailure | undefined {
    const line = parseObject(text);
    if (line === undefined) {
      // A line the gateway wrote but that no longer parses was edited; anything else is another process's.
      if (/"log":"decision"|"origin":"toolgate\//.test(text)) return fail({ ...where, reason: 'a decision log line that is not valid JSON (edited?)' });
      this.ignored += 1;
      return undefined;
    }
    const origin = line.origin;
    if (typeof origin !== 'string') {
      if (line.log === 'decision' || 'decisionId' in line) return fail({ ...where, reason: 'a decision record outside any chain (no origin, seq, prev, hash)' });
      this.ignored += 1;
      return undefined;
    }
    this.first ??= where;
    if (typeof line.checkpoint === 'string') return this.checkpoint(origin, line.checkpoint, where);
    if (typeof line.seq !== 'number') return fail({ ...where, origin, reason: 'a line of a chain that is neither a record, a genesis line nor a checkpoint' });
    if (line.seq === 0) return this.genesis(origin, line, where);
    return this.record(origin, line, line.seq, where);
  }

  private genesis(origin: string, line: Record<string, unknown>, where: LineLocation): VerifyFailure | undefined {
    const at = { ...where, origin, seq: 0 };
    if (this.states.has(origin)) return fail({ ...at, reason: 'a second genesis line for this origin' });
    if (line.hash !== lineHash(line)) return fail({ ...at, reason: 'the genesis line does not match its hash (edited?)' });
    this.firstGenesis ??= { ...where, origin };
    const genesis = (line.genesis ?? {}) as { checkpointSeconds?: unknown; previous?: { origin?: unknown; last?: { seq?: unknown; hash?: unknown } } };
    if (typeof genesis.checkpointSeconds !== 'number' || 'prev' in line) return fail({ ...at, reason: 'not a genesis line (no checkpointSeconds, or a prev)' });
    const previous = genesis.previous;
    if (previous && typeof previous.origin === 'string' && typeof previous.last?.seq === 'number' && typeof previous.last.hash === 'string') {
      this.successors.set(previous.origin, { ...where, by: origin, seq: previous.last.seq, hash: previous.last.hash });
    }
    // Unsigned until the first checkpoint (written right after it).
    const unsigned = { ...where, seq: 0, time: Date.parse(String(line.time)) };
    this.states.set(origin, { seq: 0, head: line.hash, heartbeatSeconds: genesis.checkpointSeconds, records: 0, checkpoints: 0, lastLine: where, unsigned });
    return undefined;
  }

  private record(origin: string, line: Record<string, unknown>, seq: number, where: LineLocation): VerifyFailure | undefined {
    const at = { ...where, origin, seq };
    const state = this.states.get(origin);
    if (!state && this.options.fromCheckpoint !== true) {
      return fail({ ...at, reason: "this origin's genesis line was not seen before its records (lines missing, or spliced from another log)" });
    }
    if (line.hash !== lineHash(line)) return fail({ ...at, reason: 'the record does not match its hash (edited?)' });
    if (!state) {
      const late = this.beganInside(at);
      if (late) return late;
      // Begun before the input: taken as it stands until a signed checkpoint signs it (its prev cannot be checked).
      this.states.set(origin, {
        seq,
        head: line.hash,
        heartbeatSeconds: DEFAULT_CHECKPOINT_SECONDS,
        records: 1,
        checkpoints: 0,
        lastLine: where,
        unsigned: { ...where, seq, time: Date.parse(String(line.time)) },
        partial: { seq, where },
      });
      return undefined;
    }
    if (seq <= state.seq) return fail({ ...at, reason: `seq ${seq} comes after seq ${state.seq}: records reordered or repeated` });
    if (seq > state.seq + 1)
      return fail({
        ...at,
        reason: `seq ${seq} follows seq ${state.seq}: ${seq - state.seq - 1 === 1 ? `record ${state.seq + 1} is` : `records ${state.seq + 1}-${seq - 1} are`} missing`,
      });
    if (line.prev !== state.head) return fail({ ...at, reason: `prev is not the hash of seq ${state.seq} (a record before it was changed or replaced)` });
    state.seq = seq;
    state.head = line.hash;
    state.records += 1;
    state.lastLine = where;
    state.unsigned ??= { ...where, seq, time: Date.parse(String(line.time)) };
    return undefined;
  }

  private checkpoint(origin: string, note: string, where: LineLocation): VerifyFailure | undefined {
    const at = { ...where, origin };
    const state = this.states.get(origin);
    if (!state && this.options.fromCheckpoint !== true) {
      return fail({ ...at, reason: 'a checkpoint of an origin whose genesis line was not seen (lines missing, or spliced from another log)' });
    }
    let opened: ReturnType<typeof openNote>;
    try {
      opened = openNote(note);
    } catch (err) {
      return fail({ ...at, reason: `checkpoint: ${errorMessage(err)}` });
    }
    const checkpoint = parseCheckpoint(opened.text);
    if (typeof checkpoint === 'string') return fail({ ...at, reason: `checkpoint: ${checkpoint}` });
    if (checkpoint.origin !== origin) return fail({ ...at, reason: `the checkpoint is of another origin (${checkpoint.origin})` });
    const unsigned = this.options.keys && this.checkSignature(opened, this.options.keys, at);
    if (unsigned) return unsigned;
    const vouched = `begins at seq ${state?.partial?.seq ?? checkpoint.size + 1}, without its genesis line (records before it are not in the input, and not verified); vouched for by the checkpoint of ${checkpoint.size} records signed at ${checkpoint.time} (${where.file}:${where.line})`;
    if (!state) {
      const late = this.beganInside(at);
      if (late) return late;
      // Begun before the input, first seen at a checkpoint: the chain goes on from what it signs.
      const last = { ...where, time: Date.parse(checkpoint.time), closed: checkpoint.closed };
      const partial = { seq: checkpoint.size + 1, where, vouched };
      this.states.set(origin, {
        seq: checkpoint.size,
        head: checkpoint.head,
        heartbeatSeconds: DEFAULT_CHECKPOINT_SECONDS,
        records: 0,
        checkpoints: 1,
        lastLine: where,
        lastCheckpoint: last,
        partial,
      });
      return undefined;
    }
    if (checkpoint.size !== state.seq) return fail({ ...at, reason: `the checkpoint signs ${checkpoint.size} records, ${state.seq} precede it` });
    if (checkpoint.head !== state.head) return fail({ ...at, reason: `the checkpoint's head is not the hash of seq ${state.seq}` });
    state.checkpoints += 1;
    state.lastLine = where;
    state.lastCheckpoint = { ...where, time: Date.parse(checkpoint.time), closed: checkpoint.closed };
    // Its head is the hash of the last record, whose prev is the one before, and so on back to the first: all signed now.
    if (state.partial && state.partial.vouched === undefined) state.partial.vouched = vouched;
    state.unsigned = undefined;
    return undefined;
  }

  /**
   * An origin without its genesis line must have begun before the window: its first line comes
   * before any genesis line of the input. One that shows up after a restart began inside the
   * window, so its genesis line and first lines were deleted from the middle of the log.
   */
  private beganInside(at: Omit<VerifyFailure, 'reason'>): VerifyFailure | undefined {
    const genesis = this.firstGenesis;
    if (genesis === undefined) return undefined;
    return fail({
      ...at,
      reason: `its genesis line is not in the input, yet its first line comes after the genesis line of ${genesis.origin} (${genesis.file}:${genesis.line}): it began inside the window, so its head was deleted (--from-checkpoint starts only origins begun before the first line given)`,
    });
  }

  private checkSignature(note: ReturnType<typeof openNote>, keys: readonly NoteVerifier[], at: Omit<VerifyFailure, 'reason'>): VerifyFailure | undefined {
    const names = note.signatures.map((s) => s.name).join(', ');
    for (const signature of note.signatures) {
      const key = keys.find((k) => k.name === signature.name && k.keyId.equals(signature.keyId));
      if (!key) continue;
      if (key.verify(note.text, signature.signature)) return undefined;
      return fail({ ...at, reason: `the checkpoint's signature by ${signature.name} does not verify (forged or edited)` });
    }
    return fail({ ...at, reason: `the checkpoint is signed by no key given with --keys (signed by ${names || 'nobody'})` });
  }

  private end(origin: string, state: OriginState): string | VerifyFailure {
    const successor = this.successors.get(origin);
    if (successor) {
      if (successor.seq !== state.seq || successor.hash !== state.head) {
        return fail({
          ...state.lastLine,
          origin,
          reason: `the next origin (${successor.by}, ${successor.file}:${successor.line}) says this one ended at seq ${successor.seq}; here it ends at seq ${state.seq}: its tail was changed or cut`,
        });
      }
      if (state.partial && state.partial.vouched === undefined)
        state.partial.vouched = `begins at seq ${state.partial.seq}, without its genesis line (records before it are not in the input, and not verified); vouched for by the genesis line of ${successor.by}`;
      return `continued by ${successor.by}`;
    }
    if (state.partial && state.partial.vouched === undefined) {
      return fail({
        ...state.partial.where,
        origin,
        seq: state.partial.seq,
        reason: 'its genesis line is not in the input, and no checkpoint signed by a given key follows to vouch for its lines (--from-checkpoint)',
      });
    }
    if (state.lastCheckpoint?.closed && state.unsigned === undefined) return 'closed';
    const limitMs = 2 * state.heartbeatSeconds * 1000;
    const unsigned = state.unsigned;
    if (unsigned && !(this.options.at - unsigned.time <= limitMs)) {
      return fail({
        ...unsigned,
        origin,
        reason: `no checkpoint signs this line, and it is older than the heartbeat allows (2 × ${state.heartbeatSeconds} s): the log after it was cut, or the gateway stopped without closing`,
      });
    }
    const last = state.lastCheckpoint;
    if (!unsigned && last && !(this.options.at - last.time <= limitMs)) {
      return fail({
        ...last,
        origin,
        reason: `the origin's last checkpoint, not a closing one, is older than the heartbeat allows (2 × ${state.heartbeatSeconds} s): the log after it was cut, or the gateway stopped without closing`,
      });
    }
    return 'open';
  }
}

/** The first thing found wrong; a function so that each check reads `return fail(…)`. */
function fail(failure: VerifyFailure): VerifyFailure {
  return failure;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(trimmed) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
