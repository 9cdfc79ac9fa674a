import type { Approval } from '../approvals/approval';
import type { ApprovalStore, DecideResult } from '../approvals/approval-store';
import type { DecisionLog } from '../observability/decision-log';

/**
 * What an approver does to an approval request, for now as an API in the gateway's process
 * (`Gateway.approvals`; tests, an embedding program): approve or deny, each one decision
 * record naming who acted, through the one decision log. The caller of a call can never
 * approve it (the store refuses `own-call`). Who may approve which group is not checked
 * here: the Approvals service (approvals-handler.ts) checks it before it calls this.
 */
export class ApprovalActions {
  constructor(
    private readonly store: ApprovalStore,
    private readonly log: DecisionLog,
    private readonly nextDecisionId: () => string,
    /** The hash of the policy set in force, for the record. */
    private readonly policySet: () => string,
    private readonly clock: () => number = Date.now,
  ) {}

  get(id: string): Promise<Approval | undefined> {
    return this.store.get(id, new Date(this.clock()));
  }

  /** Counts `approver`'s approval of the request (approved once its quorum is reached). */
  async approve(id: string, approver: string, decisionId?: string): Promise<DecideResult> {
    const result = await this.store.approve(id, approver, new Date(this.clock()));
    if (result.ok) this.record(result.approval, 'approval granted', approver, decisionId);
    return result;
  }

  /** Denies the request for good: a held call is refused at once, a retry with the id too. */
  async deny(id: string, approver: string, decisionId?: string): Promise<DecideResult> {
    const result = await this.store.deny(id, approver, new Date(this.clock()));
    if (result.ok) this.record(result.approval, 'approval denied', approver, decisionId);
    return result;
  }

  /** The `approval expired` event of a request that expired unused (`ApprovalExpirySweep`), with its approvers so far: no one acted. */
  expired(approval: Approval): void {
    const reason = approval.approvers.length < approval.quorum ? 'not approved before its expiry' : 'approved, but not used before its expiry';
    this.record(approval, 'approval expired', undefined, undefined, reason);
  }

  /** The event record, under the decision id of the approver's call when it came through the Approvals service. */
  private record(
    approval: Approval,
    event: 'approval granted' | 'approval denied' | 'approval expired',
    by: string | undefined,
    decisionId = this.nextDecisionId(),
    reason?: string,
  ): void {
    this.log.write({
      decisionId,
      ...(approval.protocol !== undefined && { protocol: approval.protocol }),
      caller: approval.caller,
      principal: approval.principal,
      action: approval.action,
      resource: approval.resource,
      task: approval.task,
      approval: approval.id,
      by,
      event,
      reason,
      policies: approval.policies,
      expiresAt: approval.expiresAt.toISOString(),
      policySet: this.policySet(),
    });
  }
}
