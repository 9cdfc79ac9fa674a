import { EventEmitter } from 'node:events';
import { isApprovalId, newApprovalId, stateAt, type Approval, type NewApproval } from './approval';
import { APPROVAL_RETAIN_MS, type ApprovalStore, type ConsumeResult, type DecideResult } from './approval-store';
import { StateError } from '../state/state-error';
import { limitError } from './approval-error';

interface Stored {
  approval: Omit<Approval, 'state' | 'approvers' | 'deniedBy'>;
  state: 'pending' | 'approved' | 'denied' | 'consumed';
  approvers: string[];
  deniedBy?: string;
  /** Set once `claimExpired` returned it. */
  expiryClaimed?: boolean;
}

/** Requests kept at most: past it, a new request is refused (the call denied), so that a flood cannot fill memory. */
const DEFAULT_MAX_REQUESTS = 10_000;

/**
 * Approval requests in this process's memory: right for one replica. JavaScript runs each
 * method's check and change without interruption, so each is atomic as the Redis store's
 * scripts are. Requests are dropped `APPROVAL_RETAIN_MS` after they expire (`prune`).
 */
export class MemoryApprovalStore implements ApprovalStore {
  readonly #requests = new Map<string, Stored>();
  readonly #decided = new EventEmitter<{ decided: [id: string]; created: [id: string] }>();

  constructor(private readonly maxRequests = DEFAULT_MAX_REQUESTS) {}

  async create(request: NewApproval, now: Date): Promise<Approval> {
    this.prune(now);
    if (this.#requests.size >= this.maxRequests) throw new StateError(`${this.maxRequests} approval requests are open on this replica`);
    const { ttlMs, maxPendingPerCaller, ...facts } = request;
    if (maxPendingPerCaller !== undefined) {
      let pending = 0;
      for (const stored of this.#requests.values()) if (stored.approval.caller === facts.caller && view(stored, now).state === 'pending') pending++;
      if (pending >= maxPendingPerCaller) throw limitError(maxPendingPerCaller);
    }
    const id = newApprovalId();
    const stored: Stored = { approval: { ...facts, id, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) }, state: 'pending', approvers: [] };
    this.#requests.set(id, stored);
    this.#decided.emit('created', id);
    return view(stored, now);
  }

  async list(now: Date): Promise<Approval[]> {
    return [...this.#requests.values()]
      .filter((stored) => stored.approval.expiresAt.getTime() > now.getTime())
      .sort((a, b) => a.approval.expiresAt.getTime() - b.approval.expiresAt.getTime())
      .map((stored) => view(stored, now));
  }

  async get(id: string, now: Date): Promise<Approval | undefined> {
    const stored = this.#find(id, now);
    return stored && view(stored, now);
  }

  async approve(id: string, approver: string, now: Date): Promise<DecideResult> {
    const stored = this.#find(id, now);
    const refusal = decideRefusal(stored, approver, now);
    if (refusal !== undefined) return refusal;
    if (stored!.approvers.includes(approver)) return { ok: false, reason: 'already-approved' };
    stored!.approvers.push(approver);
    if (stored!.approvers.length >= stored!.approval.quorum) {
      stored!.state = 'approved';
      this.#decided.emit('decided', id);
    }
    return { ok: true, approval: view(stored!, now) };
  }

  async deny(id: string, approver: string, now: Date): Promise<DecideResult> {
    const stored = this.#find(id, now);
    const refusal = decideRefusal(stored, approver, now);
    if (refusal !== undefined) return refusal;
    stored!.state = 'denied';
    stored!.deniedBy = approver;
    this.#decided.emit('decided', id);
    return { ok: true, approval: view(stored!, now) };
  }

  async consume(id: string, digest: string, now: Date): Promise<ConsumeResult> {
    const stored = this.#find(id, now);
    if (stored === undefined) return { ok: false, reason: 'not-found' };
    if (stored.approval.digest !== digest) return { ok: false, reason: 'mismatch' };
    const state = view(stored, now).state;
    if (state !== 'approved') return { ok: false, reason: state };
    stored.state = 'consumed';
    return { ok: true, approval: view(stored, now) };
  }

  async claimExpired(now: Date, max: number): Promise<Approval[]> {
    const claimed: Approval[] = [];
    for (const stored of this.#requests.values()) {
      if (claimed.length >= max) break;
      if (stored.expiryClaimed || view(stored, now).state !== 'expired') continue;
      stored.expiryClaimed = true;
      claimed.push(view(stored, now));
    }
    return claimed;
  }

  onDecided(listener: (id: string) => void): () => void {
    this.#decided.on('decided', listener);
    return () => this.#decided.off('decided', listener);
  }

  onCreated(listener: (id: string) => void): () => void {
    this.#decided.on('created', listener);
    return () => this.#decided.off('created', listener);
  }

  /** Drops requests expired more than `APPROVAL_RETAIN_MS` ago. */
  prune(now: Date): void {
    const before = now.getTime() - APPROVAL_RETAIN_MS;
    for (const [id, stored] of this.#requests) if (stored.approval.expiresAt.getTime() <= before) this.#requests.delete(id);
  }

  async close(): Promise<void> {
    this.#decided.removeAllListeners();
  }

  #find(id: string, now: Date): Stored | undefined {
    const stored = isApprovalId(id) ? this.#requests.get(id) : undefined;
    return stored !== undefined && stored.approval.expiresAt.getTime() + APPROVAL_RETAIN_MS > now.getTime() ? stored : undefined;
  }
}

function decideRefusal(stored: Stored | undefined, approver: string, now: Date): DecideResult | undefined {
  if (stored === undefined) return { ok: false, reason: 'not-found' };
  const state = view(stored, now).state;
  if (state === 'expired') return { ok: false, reason: 'expired' };
  if (state !== 'pending') return { ok: false, reason: 'decided' };
  if (approver === stored.approval.caller) return { ok: false, reason: 'own-call' };
  return undefined;
}

function view(stored: Stored, now: Date): Approval {
  return {
    ...stored.approval,
    // A claimed expiry is final, as in Redis, whatever `now` a caller passes.
    state: stored.expiryClaimed ? 'expired' : stateAt(stored.state, stored.approval.expiresAt.getTime(), now.getTime()),
    approvers: stored.approvers.slice(),
    ...(stored.deniedBy !== undefined && { deniedBy: stored.deniedBy }),
  };
}
