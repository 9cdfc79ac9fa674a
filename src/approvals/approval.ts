import { randomBytes } from 'node:crypto';

/**
 * Where an approval request stands. `expired` is never stored: a pending or approved request
 * reads as expired once its `expiresAt` has passed, on the reader's clock.
 */
export type ApprovalState = 'pending' | 'approved' | 'denied' | 'consumed' | 'expired';

/** What a new approval request says: the call it is for (by digest and in words) and who may approve it. */
export interface NewApproval {
  /** `approvalDigest` of the call (approval-digest.ts): what binds the approval to that exact call. */
  readonly digest: string;
  /** The caller's SPIFFE ID: never an approver of its own call. */
  readonly caller: string;
  /** `Agent::"name"` or `Workload::"spiffe id"`. */
  readonly principal: string;
  readonly action: string;
  /** The upstream's name. */
  readonly resource: string;
  readonly task?: string;
  /** The task's declared intent, for approvers and notifications (not part of the digest). */
  readonly intent?: string;
  /** The decision id of the escalated call's record that opened the request. */
  readonly decisionId?: string;
  /** The approvers' group the `@approval` permit names. */
  readonly group: string;
  /** Distinct approvers needed. */
  readonly quorum: number;
  /** The `@approval` permits that asked for it. */
  readonly policies: readonly string[];
  /** How long the request (and the approval once given) stays valid. */
  readonly ttlMs: number;
  /** `mcp` for an MCP tool call (its records say so too); absent for a gRPC call. */
  readonly protocol?: 'mcp';
  /**
   * What approvers are shown of the call (approvals.console): its decoded arguments as JSON,
   * configured fields redacted to `null` (never a Cedar value, so an agent cannot forge one),
   * cut at `SHOWN_ARGUMENTS_MAX_CHARS` (then not JSON, `argumentsCut`); not part of the digest.
   */
  readonly arguments?: string;
  readonly argumentsCut?: boolean;
  /** Pending requests one caller may have at once (`approvals.maxPendingPerCaller`); one more is refused `ERR_APPROVAL_LIMIT`. Default: no cap. */
  readonly maxPendingPerCaller?: number;
}

/** One approval request as stored. */
export interface Approval extends Omit<NewApproval, 'ttlMs' | 'maxPendingPerCaller'> {
  /** Unguessable (144 random bits): whoever holds it can only retry the one call it is bound to. */
  readonly id: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly state: ApprovalState;
  /** Who approved, in the order they did. */
  readonly approvers: readonly string[];
  /** Who denied it, for a denied request. */
  readonly deniedBy?: string;
}

/** A new approval id: `ap_` and 24 base64url characters (18 random bytes). */
export function newApprovalId(): string {
  return `ap_${randomBytes(18).toString('base64url')}`;
}

/** Ids as `newApprovalId` makes them: anything else is never looked up (nor put in a Redis key). */
export function isApprovalId(value: string): boolean {
  return /^ap_[A-Za-z0-9_-]{24}$/.test(value);
}

/** The state as of `now`: a pending or approved request past its expiry is expired. */
export function stateAt(state: Exclude<ApprovalState, 'expired'>, expiresAt: number, now: number): ApprovalState {
  return (state === 'pending' || state === 'approved') && now >= expiresAt ? 'expired' : state;
}
