import type { Logger } from './logger';

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
  event?: 'task begun' | 'approval granted' | 'approval denied';
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
  task?: string;
  /** The approval request the record is about: the one an `escalate` opened, a call consumed or was refused with, an approver acted on. */
  approval?: string;
  /** Who acted on an approval request (an approver's identity); for an allow that consumed an approval, who approved it. */
  by?: string | readonly string[];
  /** The on-behalf-of user's `sub`. */
  onBehalfOf?: string;
  /** The gRPC status the gateway ended the call with (deny and cut records). */
  status?: number;
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

/**
 * The one writer of decision records: every record leaves the process through `write`, so
 * that what is done to records (tamper evidence, another sink) is done in one place. It
 * writes at `info` on its own logger, whatever the operational log's level.
 */
export class DecisionLog {
  constructor(private readonly logger: Logger) {}

  write(record: DecisionRecord): void {
    this.logger.info(record);
  }

  /** Writes what is buffered; before a clean exit. */
  flush(): void {
    this.logger.flush();
  }
}
