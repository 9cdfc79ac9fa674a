import type { Approval, NewApproval } from './approval';

/** Why an approver's approve or deny was not taken. */
export type DecideRefusal =
  /** No such request (or long gone). */
  | 'not-found'
  /** Past its expiry. */
  | 'expired'
  /** Already approved, denied or consumed. */
  | 'decided'
  /** The approver is the caller whose call it is (separation of duties). */
  | 'own-call'
  /** This approver has already approved it (a quorum counts distinct approvers). */
  | 'already-approved';

export type DecideResult = { readonly ok: true; readonly approval: Approval } | { readonly ok: false; readonly reason: DecideRefusal };

/**
 * Why a call could not consume an approval. `mismatch` is answered before anything else is
 * told about the request: an id presented with another call (a changed argument, another
 * caller, another task) learns nothing of it.
 */
export type ConsumeRefusal = 'not-found' | 'mismatch' | 'pending' | 'denied' | 'consumed' | 'expired';

export type ConsumeResult = { readonly ok: true; readonly approval: Approval } | { readonly ok: false; readonly reason: ConsumeRefusal };

/**
 * Approval requests, in one replica's memory or shared by all in Redis, with the same
 * semantics (test/integration/approval-store-*.test.ts runs both). Every check-and-change is
 * atomic: across replicas, an approval is consumed at most once.
 */
export interface ApprovalStore {
  /** Stores a new pending request, valid `ttlMs` from `now`; throws `ApprovalError` `ERR_APPROVAL_LIMIT` past the caller's cap. */
  create(request: NewApproval, now: Date): Promise<Approval>;
  /** Every request not yet expired as of `now` (whatever its state), soonest to expire first. */
  list(now: Date): Promise<Approval[]>;
  /** The request, its state as of `now`; undefined when unknown. */
  get(id: string, now: Date): Promise<Approval | undefined>;
  /** Counts `approver`'s approval; the request is approved once `quorum` distinct approvers have. */
  approve(id: string, approver: string, now: Date): Promise<DecideResult>;
  /** Denies the request for good. */
  deny(id: string, approver: string, now: Date): Promise<DecideResult>;
  /** Uses the approval for the call with `digest`: ok once, only when approved, unexpired and for that call. */
  consume(id: string, digest: string, now: Date): Promise<ConsumeResult>;
  /**
   * Up to `max` requests that expired unused (pending or approved, past their expiry as of
   * `now`) and were not claimed before: each is returned once, to one caller, across
   * replicas (an atomic claim), so that its expiry is recorded once (docs/approvals.md).
   */
  claimExpired(now: Date, max: number): Promise<Approval[]>;
  /** Calls `listener` with the id of each request that became approved or denied, here or on another replica. */
  onDecided(listener: (id: string) => void): () => void;
  /** Calls `listener` with the id of each new request, made here or on another replica (the approvers' Watch). */
  onCreated(listener: (id: string) => void): () => void;
  close(): Promise<void>;
}

/** How long a request is kept past its expiry, so that a late retry reads `expired` rather than `not-found`. */
export const APPROVAL_RETAIN_MS = 5 * 60_000;
