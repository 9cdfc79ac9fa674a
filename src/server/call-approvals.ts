import { isApprovalId, type Approval } from '../approvals/approval';
import { approvalDigest, approvedUser } from '../approvals/approval-digest';
import { awaitDecision } from '../approvals/await-decision';
import { ApprovalError } from '../approvals/approval-error';
import type { ApprovalStore, ConsumeRefusal } from '../approvals/approval-store';
import { shownArguments } from '../approvals/shown-arguments';
import { errorMessage } from '../errors/unknown-error';
import type { CedarValue } from '../identity/cedar-value';
import { outcomeOf } from '../policy/authorization';
import { grpcFrame } from '../relay/grpc-frames';
import { refusalMessage, Status, type StatusCode } from '../relay/grpc-status';
import type { GateVerdict } from '../relay/relay-call';
import { STATUS_DETAILS_HEADER, statusDetails } from '../relay/status-details';
import type { GatewayState, IdentifiedCall } from './call-context';
import type { CallDecisions, Escalation } from './call-decisions';
import { APPROVAL_HEADER } from './owned-headers';

/** The `google.rpc.ErrorInfo` domain of every approval refusal. */
export const APPROVAL_ERROR_DOMAIN = 'toolgate.dev';

/** The reasons an agent reads in the ErrorInfo of a refused escalated call (docs/approvals.md). */
export type ApprovalReason = 'APPROVAL_REQUIRED' | 'APPROVAL_DENIED' | 'APPROVAL_EXPIRED' | 'APPROVAL_MISMATCH' | 'APPROVAL_LIMIT' | 'APPROVAL_UNAVAILABLE';

export interface CallApprovalsOptions {
  readonly store: ApprovalStore;
  readonly decisions: CallDecisions;
  /** `approvals.holdSeconds` in ms: how long a call is held for its approval (never past its deadline); 0: not held. */
  readonly holdMs: number;
  /** `approvals.defaultTtlSeconds` in ms. */
  readonly defaultTtlMs: number;
  /** `approvals.maxTtlSeconds` in ms: caps `@approvalTtl` too. */
  readonly maxTtlMs: number;
  /** `approvals.maxPendingPerCaller`; undefined: no cap. */
  readonly maxPendingPerCaller?: number;
  /** The policies in force now: a held call is re-evaluated under them when it is released. */
  readonly current: () => GatewayState;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
  /** With the console (approvals.console): each request keeps the call's arguments (these fields redacted) and task intent for approvers. */
  readonly show?: ShownCalls;
  /** How often a held call re-reads its request, besides hearing decisions published (a missed message). Default 1000. */
  readonly pollMs?: number;
}

/** What a request keeps for approvers to read (docs/approvals.md, "The console"). */
export interface ShownCalls {
  /** `approvals.console.redact`. */
  readonly redact: readonly string[];
}

/** The message an escalation is about: as Cedar saw it, and as the relay would forward it. */
export interface HeldMessage {
  readonly request: Record<string, CedarValue>;
  /** The canonical re-encoding: what is relayed once approved. */
  readonly payload: Uint8Array;
  /** `sha256:<hex>` of `payload` (the records' requestDigest): what the approval digest binds. */
  readonly digest: string;
}

/** Before the deadline a held call is answered with its approval id, not left to DEADLINE_EXCEEDED: this much ahead (at least). */
const DEADLINE_MARGIN_MS = 250;

/**
 * Escalated calls: each opens an approval request bound to the exact call (or presents one
 * with `x-toolgate-approval`), is held until a person approves or denies it (or the hold
 * ends), and goes on only by consuming an approved request whose digest is the call's own.
 * Every step is one decision record (docs/approvals.md, docs/decision-records.md).
 */
export class CallApprovals {
  private readonly clock: () => number;

  constructor(private readonly options: CallApprovalsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** What becomes of an escalated message: relayed once approved, or refused with an ErrorInfo. Never rejects. */
  async settle(call: IdentifiedCall, decisionId: string, escalation: Escalation, message: HeldMessage): Promise<GateVerdict> {
    const { store } = this.options;
    const digest = approvalDigest({
      caller: call.caller.peer.spiffeId,
      principal: call.principalLabel,
      action: call.action,
      upstream: call.resource,
      ...(call.admission.task && { task: call.admission.task.id }),
      ...approvedUser(call.admission.onBehalfOf),
      requestDigest: message.digest,
    });
    const presented = single(call.headers[APPROVAL_HEADER]);
    // Only an id of the gateway's own shape reaches the store, a record or the caller's ErrorInfo.
    if (presented !== undefined && !isApprovalId(presented)) {
      return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_MISMATCH', undefined, `${APPROVAL_HEADER} is not an approval id`);
    }
    try {
      let approval: Approval | undefined;
      if (presented !== undefined) {
        const consumed = await store.consume(presented, digest, this.now());
        if (consumed.ok) return this.released(call, decisionId, escalation, consumed.approval, message);
        if (consumed.reason !== 'pending') return this.refused(call, decisionId, presented, consumed.reason);
        // The same call again while its request waits: held on that request, no new one.
        approval = await store.get(presented, this.now());
        if (approval === undefined) return this.refused(call, decisionId, presented, 'not-found');
        this.recordEscalation(call, decisionId, escalation, approval, 'retried while its approval request is pending');
      } else {
        const { escalate } = escalation;
        const ttlMs = Math.min(escalate.ttlSeconds === undefined ? this.options.defaultTtlMs : escalate.ttlSeconds * 1000, this.options.maxTtlMs);
        approval = await store.create(
          {
            digest,
            caller: call.caller.peer.spiffeId,
            principal: call.principalLabel,
            action: call.action,
            resource: call.resource,
            ...(call.admission.task && { task: call.admission.task.id }),
            ...(call.admission.task?.context.intent && { intent: call.admission.task.context.intent }),
            decisionId,
            group: escalate.group,
            quorum: escalate.quorum,
            policies: escalate.policies,
            ...(this.options.show && shownCall(call, message, this.options.show)),
            ttlMs,
            ...(this.options.maxPendingPerCaller !== undefined && { maxPendingPerCaller: this.options.maxPendingPerCaller }),
          },
          this.now(),
        );
        this.recordEscalation(call, decisionId, escalation, approval, undefined);
      }
      return await this.hold(call, decisionId, approval, digest, message);
    } catch (err) {
      if (err instanceof ApprovalError) return this.refusal(call, decisionId, Status.RESOURCE_EXHAUSTED, 'APPROVAL_LIMIT', undefined, err.message);
      return this.refusal(call, decisionId, Status.UNAVAILABLE, 'APPROVAL_UNAVAILABLE', presented, `approval store unavailable: ${errorMessage(err)}`);
    }
  }

  /** Waits for the request to be decided, up to the hold (never past the call's deadline nor the request's expiry). */
  private async hold(call: IdentifiedCall, decisionId: string, approval: Approval, digest: string, message: HeldMessage): Promise<GateVerdict> {
    const { store } = this.options;
    const holdMs = Math.min(this.options.holdMs, deadlineLeftMs(call) - DEADLINE_MARGIN_MS, approval.expiresAt.getTime() - this.clock());
    if (holdMs <= 0 || call.stream.closed) return this.required(call, decisionId, approval, 'not held (approvals.holdSeconds is 0, or the deadline is too near)');
    const end = await awaitDecision(store, approval.id, {
      holdMs,
      pollMs: this.options.pollMs ?? 1000,
      now: () => this.now(),
      onGone: (listener) => {
        const onClose = () => listener('the caller went away while its call was held for approval');
        call.stream.once('close', onClose);
        return () => call.stream.off('close', onClose);
      },
    });
    switch (end.end) {
      case 'approved':
        return this.release(call, decisionId, approval, digest, message).catch((err: unknown) =>
          this.refusal(call, decisionId, Status.UNAVAILABLE, 'APPROVAL_UNAVAILABLE', approval.id, `approval store unavailable: ${errorMessage(err)}`),
        );
      case 'hold-over':
        return this.required(call, decisionId, approval, `not approved within the hold of ${Math.round(holdMs / 100) / 10} s`);
      case 'gone':
        this.options.decisions.count(call, 'deny');
        this.options.decisions.record(call, { decisionId, approval: approval.id, decision: 'deny', status: Status.CANCELLED, reason: end.why });
        return { denial: { code: Status.CANCELLED, message: refusalMessage(Status.CANCELLED, decisionId), reason: 'cancelled while held' } };
      default:
        return this.refused(call, decisionId, approval.id, end.end);
    }
  }

  /**
   * The request was approved while the call was held: the call is decided again under the
   * policies in force now. A deny stands; an escalate goes on only by consuming the approval;
   * an allow needs none.
   */
  private async release(call: IdentifiedCall, decisionId: string, approval: Approval, digest: string, message: HeldMessage): Promise<GateVerdict> {
    const state = this.options.current();
    const again = this.options.decisions.evaluate(call, { request: message.request }, state);
    const outcome = outcomeOf(again);
    const common = { decisionId, approval: approval.id, policies: again.policies, errors: again.errors, policySet: state.policyHash };
    // An escalate here is counted as the allow or deny its approval comes to.
    if (outcome !== 'escalate') this.options.decisions.count(call, outcome);
    if (outcome === 'deny') {
      this.options.decisions.record(call, {
        ...common,
        decision: 'deny',
        status: Status.PERMISSION_DENIED,
        reason: 'approved, but the policies in force at release deny the call',
      });
      return { denial: { code: Status.PERMISSION_DENIED, message: refusalMessage(Status.PERMISSION_DENIED, decisionId), reason: 'denied at release' } };
    }
    if (outcome === 'allow') {
      this.options.decisions.record(call, { ...common, decision: 'allow', reason: 'the policies in force at release allow the call without approval' });
      return { relay: grpcFrame(message.payload) };
    }
    const consumed = await this.options.store.consume(approval.id, digest, this.now());
    if (!consumed.ok) return this.refused(call, decisionId, approval.id, consumed.reason);
    return this.released(call, decisionId, { escalate: again.escalate!, decision: again }, consumed.approval, message, state);
  }

  /** An approval consumed by this call: the allow record names it and who approved. */
  private released(call: IdentifiedCall, decisionId: string, escalation: Escalation, approval: Approval, message: HeldMessage, state?: GatewayState): GateVerdict {
    const { decision } = escalation;
    this.options.decisions.count(call, 'allow');
    this.options.decisions.record(call, {
      decisionId,
      approval: approval.id,
      by: approval.approvers,
      decision: 'allow',
      policies: decision.policies,
      errors: decision.errors,
      reason: 'approved',
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      ...(state && { policySet: state.policyHash }),
    });
    return { relay: grpcFrame(message.payload) };
  }

  private recordEscalation(call: IdentifiedCall, decisionId: string, { decision }: Escalation, approval: Approval, reason: string | undefined): void {
    this.options.decisions.count(call, 'escalate');
    this.options.decisions.record(call, {
      decisionId,
      approval: approval.id,
      decision: 'escalate',
      policies: decision.policies,
      errors: decision.errors,
      reason,
      shadow: decision.shadow,
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      expiresAt: approval.expiresAt.toISOString(),
    });
  }

  /** FAILED_PRECONDITION, APPROVAL_REQUIRED: retry the same call with `x-toolgate-approval: <id>` once approved. */
  private required(call: IdentifiedCall, decisionId: string, approval: Approval, why: string): GateVerdict {
    return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_REQUIRED', approval.id, `approval pending: ${why}`, {
      expiresAt: approval.expiresAt.toISOString(),
    });
  }

  /** A presented or awaited approval that cannot release this call. */
  private refused(call: IdentifiedCall, decisionId: string, id: string, reason: ConsumeRefusal | 'expired'): GateVerdict {
    switch (reason) {
      case 'denied':
        return this.refusal(call, decisionId, Status.PERMISSION_DENIED, 'APPROVAL_DENIED', id, 'the approval request was denied');
      case 'expired':
        return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_EXPIRED', id, 'the approval request expired');
      case 'consumed':
        return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_MISMATCH', id, 'the approval was already used (single use)');
      case 'mismatch':
        return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_MISMATCH', id, 'the approval is for another call (caller, task or arguments differ)');
      case 'not-found':
        return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_MISMATCH', id, 'no such approval request');
      case 'pending':
        return this.refusal(call, decisionId, Status.FAILED_PRECONDITION, 'APPROVAL_REQUIRED', id, 'approval pending');
    }
  }

  /** Records the refusal and builds it: the caller reads the status, the decision id, and an ErrorInfo with the approval id. */
  private refusal(
    call: IdentifiedCall,
    decisionId: string,
    code: StatusCode,
    reason: ApprovalReason,
    approvalId: string | undefined,
    why: string,
    metadata: Record<string, string> = {},
  ): GateVerdict {
    this.options.decisions.count(call, 'deny');
    this.options.decisions.record(call, { decisionId, approval: approvalId, decision: 'deny', status: code, reason: `${reason}: ${why}` });
    const message = refusalMessage(code, decisionId);
    // Only what the agent needs to act: a presented id that matched nothing is not echoed as if it were a request.
    const facts = { ...(approvalId !== undefined && { approvalId }), decisionId, ...metadata };
    const details = statusDetails(code, message, { reason, domain: APPROVAL_ERROR_DOMAIN, metadata: facts });
    return { denial: { code, message, reason: `${reason}: ${why}`, trailers: { [STATUS_DETAILS_HEADER]: details } } };
  }

  private now(): Date {
    return new Date(this.clock());
  }
}

/** The arguments (redacted) and task intent approvers read; never part of the digest. */
function shownCall(call: IdentifiedCall, message: HeldMessage, show: ShownCalls) {
  const intent = call.admission.task?.context.intent;
  return { ...shownArguments(message.request, show.redact), ...(intent && { intent }) };
}

/** The time left before the call's `grpc-timeout`, in ms; Infinity without one. */
function deadlineLeftMs(call: IdentifiedCall): number {
  const value = single(call.headers['grpc-timeout']);
  const match = value === undefined ? null : /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (match === null) return Infinity;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[match[2] as 'H' | 'M' | 'S' | 'm' | 'u' | 'n'];
  return Number(match[1]) * unitMs - (performance.now() - call.started);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
