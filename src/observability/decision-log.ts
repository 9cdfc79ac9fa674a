import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { checkpointText } from './checkpoint';
import { DecisionChain } from './decision-chain';
import { IsoTime } from './iso-time';
import type { PreviousOrigin } from './previous-origin';
import { NoteSigner } from './signed-note';

/** What a decision record says happened to a call (or to one message of it); `escalate`: held for a person's approval (docs/approvals.md). */
export type DecisionOutcome = 'allow' | 'deny' | 'cut' | 'escalate';

/**
 * One decision record: every decision and every refusal the gateway takes on a call is one
 * of these, written as one JSON line. Fields absent from a record are omitted, never null.
 * docs/decision-records.md describes each field and which records carry it.
 */
export interface DecisionRecord {
  /** The id the caller reads in a refusal's message; several records may share one (an allow, then a deny for the call's bytes). */
  decisionId: string;
  /** `mcp` for a decision on an MCP request (relayed at `/mcp/<upstream>`); absent for gRPC calls. */
  protocol?: 'mcp';
  /** allow, deny, or cut (a call of a task that ended or expired, stopped while it ran); absent on an event record. */
  decision?: DecisionOutcome;
  /** A consequence of the decision with the same id, not a decision itself: `task begun`; or what an approver did to an approval request. */
  event?: 'task begun' | 'approval granted' | 'approval denied' | 'approval expired';
  /** The caller's SPIFFE ID; absent only when no caller was authenticated (a refused bearer token). */
  caller?: string;
  /** `Agent::"name"` or `Workload::"spiffe id"`, once the caller is mapped. */
  principal?: string;
  /** `package.Service/Method`, or the raw `:path` of a request that names none. */
  action?: string;
  /** The upstream (`Tool::"<name>"`'s name), `toolgate` for the gateway's own Tasks service. */
  resource?: string;
  /** The position of the message decided, for client- and bidi-streaming payload-aware methods. */
  message?: number;
  /**
   * `sha256:<hex>` of the request message the decision was made on, as the relay forwards it
   * (request-digest.ts): a payload-aware gRPC call's canonical re-encoding, an MCP message's
   * canonical JSON. Absent where no message was read (a call decided on its headers).
   */
  requestDigest?: string;
  task?: string;
  /** The approval request the record is about: the one an `escalate` opened, a call consumed or was refused with, an approver acted on. */
  approval?: string;
  /** Who acted on an approval request (an approver's identity); for an allow that consumed an approval, who approved it. */
  by?: string | readonly string[];
  /** The on-behalf-of user's `sub`. */
  onBehalfOf?: string;
  /** The gRPC status the gateway ended the call with (deny and cut records of gRPC calls). */
  status?: number;
  /** The HTTP status of an MCP request the gateway refused before any message of it was decided (MCP answers are HTTP, not gRPC). */
  httpStatus?: number;
  /** Cedar: the policies that decided (permits for an allow, forbids for a deny), and evaluation errors. */
  policies?: readonly string[];
  errors?: readonly string[];
  /** Why, for everything but a plain Cedar decision; never shown to the caller. */
  reason?: string;
  /** The shadow set's decision where it disagreed. */
  shadow?: unknown;
  evalUs?: number;
  cached?: boolean;
  /** The hash of the live policy set in force. */
  policySet?: string;
  /** `token`: refused by the token listener before any caller was known. */
  listener?: 'token';
  /** A refused bearer token's stable error code (`ERR_TOKEN_EXPIRED`, …). */
  code?: string;
  /** A begun task's expiry, or an approval request's (ISO 8601). */
  expiresAt?: string;
}

/** Where the decision log's lines go (a `LineDestination`, or a test's capture). */
export interface DecisionSink {
  write(line: string): unknown;
  flush?(): void;
  reopen?(): void;
}

export interface DecisionLogOptions {
  readonly sink: DecisionSink;
  /** Signs checkpoints; default: a key generated now, named `toolgate-decisions-<replica>`. */
  readonly signer?: NoteSigner;
  /** This process's name in its origin; default: the host name (a Kubernetes pod's name). */
  readonly replica?: string;
  /** A checkpoint after this many records… */
  readonly checkpointRecords?: number;
  /** …and at least this often, records or not (the heartbeat that shows a truncated tail). */
  readonly checkpointSeconds?: number;
  /** The last chain state of the log being appended to, named by the genesis line. */
  readonly previous?: PreviousOrigin;
  /** Defaults to `Date.now`. */
  readonly clock?: () => number;
}

export const DEFAULT_CHECKPOINT_RECORDS = 1000;
export const DEFAULT_CHECKPOINT_SECONDS = 10;

/**
 * The one writer of decision records: every record leaves the process through `write`, so
 * that nothing escapes the chain (docs/decision-records.md, "Tamper evidence"). Each
 * process is one origin: it begins with a genesis line, chains every record to the one
 * before (`seq`, `prev`, `hash`), and writes a signed checkpoint every `checkpointRecords`
 * records and every `checkpointSeconds` (idle or not), and a closing one on `close()`.
 *
 * The chain advances synchronously in `write` (a canonical encoding and a SHA-256: a few
 * µs); the line then goes to the destination, which writes asynchronously in batches, so a
 * call never waits on disk I/O. Lines are written whatever the operational log's level.
 */
export class DecisionLog {
  readonly origin: string;
  readonly signer: NoteSigner;
  private readonly chain: DecisionChain;
  private readonly sink: DecisionSink;
  private readonly clock: () => number;
  private readonly checkpointRecords: number;
  private sinceCheckpoint = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly isoTime = new IsoTime();

  constructor(options: DecisionLogOptions) {
    this.sink = options.sink;
    this.clock = options.clock ?? Date.now;
    const replica = safeName(options.replica ?? hostname());
    const start = new Date(this.clock()).toISOString();
    // Replica and start say which process; the nonce keeps two processes started in the same ms apart.
    this.origin = `toolgate/${replica}/${start}/${randomBytes(4).toString('hex')}`;
    this.signer = options.signer ?? NoteSigner.generate(`toolgate-decisions-${replica}`);
    this.chain = new DecisionChain(this.origin);
    this.checkpointRecords = options.checkpointRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    const checkpointSeconds = options.checkpointSeconds ?? DEFAULT_CHECKPOINT_SECONDS;
    const genesis = {
      replica,
      start,
      key: this.signer.verifier.verifierKey,
      checkpointRecords: this.checkpointRecords,
      checkpointSeconds,
      ...(options.previous && { previous: options.previous }),
    };
    this.sink.write(`${this.chain.genesis({ ...this.stamp(), genesis }).text}\n`);
    // Signed at once: the genesis line names the key and the previous origin.
    this.checkpoint();
    this.timer = setInterval(() => this.checkpoint(), checkpointSeconds * 1000);
    this.timer.unref();
  }

  write(record: DecisionRecord): void {
    this.sink.write(`${this.chain.linkRecord(this.isoTime.format(this.clock()), record).text}\n`);
    this.sinceCheckpoint += 1;
    // Written after close (a call that outlived the drain): closed again at once, so the log still ends closed.
    if (this.closed || this.sinceCheckpoint >= this.checkpointRecords) this.checkpoint();
  }

  /** Writes what is buffered; before a clean exit. */
  flush(): void {
    this.sink.flush?.();
  }

  /** Follows a rotated file: the next lines go to a new file at the path, the chain continues there. */
  reopen(): void {
    this.sink.reopen?.();
  }

  /** Writes the closing checkpoint and flushes; the heartbeat stops. */
  close(): void {
    clearInterval(this.timer);
    this.closed = true;
    this.checkpoint();
    this.flush();
  }

  /** A signed checkpoint of the chain as it stands. */
  checkpoint(): void {
    const stamp = this.stamp();
    const text = checkpointText({ origin: this.origin, size: this.chain.size, head: this.chain.head, time: stamp.time, closed: this.closed });
    this.sink.write(`${JSON.stringify({ ...stamp, origin: this.origin, checkpoint: this.signer.sign(text) })}\n`);
    this.sinceCheckpoint = 0;
  }

  private stamp(): { level: 'info'; time: string; log: 'decision' } {
    return { level: 'info', time: this.isoTime.format(this.clock()), log: 'decision' };
  }
}

/** A replica name usable in an origin and a key name: no spaces, slashes or "+". */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-') || 'toolgate';
}
