import type { Approval, NewApproval } from './approval';
import type { ApprovalStore, ConsumeResult, DecideResult } from './approval-store';

/**
 * An `ApprovalStore` that tells `notify` of each request created through it, once it is
 * stored: every escalation on this replica, gRPC or MCP alike, whatever path made it. With
 * several replicas each notifies the requests it created (one notice per request). `notify`
 * must return at once and never throw (`ApprovalWebhook.notify` only queues).
 */
export class NotifyingApprovalStore implements ApprovalStore {
  constructor(
    private readonly store: ApprovalStore,
    private readonly notify: (approval: Approval) => void,
  ) {}

  async create(request: NewApproval, now: Date): Promise<Approval> {
    const approval = await this.store.create(request, now);
    try {
      this.notify(approval);
    } catch {
      // A notification never decides the call's fate: the request is stored, the call goes on.
    }
    return approval;
  }

  list(now: Date): Promise<Approval[]> {
    return this.store.list(now);
  }

  get(id: string, now: Date): Promise<Approval | undefined> {
    return this.store.get(id, now);
  }

  approve(id: string, approver: string, now: Date): Promise<DecideResult> {
    return this.store.approve(id, approver, now);
  }

  deny(id: string, approver: string, now: Date): Promise<DecideResult> {
    return this.store.deny(id, approver, now);
  }

  consume(id: string, digest: string, now: Date): Promise<ConsumeResult> {
    return this.store.consume(id, digest, now);
  }

  claimExpired(now: Date, max: number): Promise<Approval[]> {
    return this.store.claimExpired(now, max);
  }

  onDecided(listener: (id: string) => void): () => void {
    return this.store.onDecided(listener);
  }

  onCreated(listener: (id: string) => void): () => void {
    return this.store.onCreated(listener);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
