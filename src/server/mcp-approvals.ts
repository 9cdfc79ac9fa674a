import { isApprovalId, type Approval } from '../approvals/approval';
import { approvalDigest } from '../approvals/approval-digest';
import { awaitDecision } from '../approvals/await-decision';
import { ApprovalError } from '../approvals/approval-error';
import { shownArguments } from '../approvals/shown-arguments';
import type { ApprovalStore, ConsumeRefusal } from '../approvals/approval-store';
import { errorMessage } from '../errors/unknown-error';
import type { CedarValue } from '../identity/cedar-value';
import { APPROVAL_NEEDED, POLICY_DENIED, type McpDecision } from '../mcp';
import type { DecisionRecord } from '../observability/decision-log';
import { outcomeOf, type ApprovalRequirement, type Decision } from '../policy/authorization';
import { APPROVAL_ERROR_DOMAIN, type ApprovalReason, type ShownCalls } from './call-approvals';
import { APPROVAL_HEADER } from './owned-headers';

export interface McpApprovalsOptions {
  readonly store: ApprovalStore;
  /** `approvals.holdSeconds` in ms: how long a tool call's HTTP request is held open for its approval; 0: not held. */
  readonly holdMs: number;
  /** `approvals.defaultTtlSeconds` in ms. */
  readonly defaultTtlMs: number;
  /** `approvals.maxTtlSeconds` in ms: caps `@approvalTtl` too. */
  readonly maxTtlMs: number;
  /** `approvals.maxPendingPerCaller`; undefined: no cap. */
  readonly maxPendingPerCaller?: number;
  /** With the console (approvals.console): each request keeps the call's arguments (these fields redacted) and task intent for approvers. */
  readonly show?: ShownCalls;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
  /** How often a held call re-reads its request, besides hearing decisions published. Default 1000. */
  readonly pollMs?: number;
}

/**
 * The longest an MCP tool call is held, whatever `approvals.holdSeconds` says: below the
 * TypeScript SDK client's default request timeout (60 s), so that the agent reads the
 * approval id (APPROVAL_REQUIRED) rather than giving up with a timeout of its own first.
 */
export const MCP_MAX_HOLD_MS = 50_000;

/** What a record of an escalated tool call says beyond the call's own facts. */
export type McpApprovalRecord = Pick<
  DecisionRecord,
  'approval' | 'by' | 'decision' | 'policies' | 'errors' | 'reason' | 'shadow' | 'evalUs' | 'cached' | 'expiresAt' | 'policySet'
>;

/** One `tools/call` that Cedar permits only with approval, as McpDecisions hands it over. */
export interface EscalatedToolCall {
  readonly decisionId: string;
  /** The caller's SPIFFE ID. */
  readonly caller: string;
  /** `Agent::"name"` or `Workload::"spiffe id"`. */
  readonly principal: string;
  /** `mcp:<upstream>/tools/call/<tool>`. */
  readonly action: string;
  readonly upstream: string;
  readonly task?: string;
  /** The on-behalf-of user, `<iss>#<sub>` (approval-digest.ts `approvedUser`), when the request carries one. */
  readonly onBehalfOf?: string;
  /** The tool's arguments as policy saw them (`context.request`): what the console shows approvers, redacted. */
  readonly request: Readonly<Record<string, CedarValue>>;
  /** The task's stated intent, when the call runs under a task that gave one. */
  readonly intent?: string;
  /** What the approval binds: the call's params as relayed, canonical (mcp/approval-bytes.ts). */
  readonly message: Uint8Array;
  readonly escalate: ApprovalRequirement;
  readonly decision: Decision;
  /** The request's `x-toolgate-approval` headers (read only for a call that can be held). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** False for an element of a batch: refused APPROVAL_REQUIRED at once, never held, the header not read. */
  readonly holdable: boolean;
  /** Calls `listener` with why when the call can no longer go on: its HTTP request ended (the caller went away) or its task ended; at once if so. */
  readonly onGone: (listener: (why: string) => void) => void;
  /** Cedar's decision on the call under the policies in force now, and that set's hash: a held call's release. */
  readonly reevaluate: () => { readonly decision: Decision; readonly policySet: string };
  /** Writes one record of the call: its facts (`protocol: "mcp"`), then `fields`. */
  readonly record: (fields: McpApprovalRecord) => void;
  /** Counts a recorded outcome in `toolgate_decisions_total`. */
  readonly count: (outcome: 'allow' | 'deny' | 'escalate') => void;
}

/** The JSON-RPC error message of each approval refusal: generic, the reason is in the record and in `data.reason`. */
const MESSAGES: Record<ApprovalReason, string> = {
  APPROVAL_REQUIRED: 'Approval required',
  APPROVAL_DENIED: 'Approval denied',
  APPROVAL_EXPIRED: 'Approval expired',
  APPROVAL_MISMATCH: 'Approval not for this call',
  APPROVAL_LIMIT: 'Too many pending approvals',
  APPROVAL_UNAVAILABLE: 'Approvals unavailable',
};

/**
 * Escalated MCP tool calls, on the gRPC calls' mechanism (call-approvals.ts): the same store,
 * digest and outcomes. A call opens an approval request bound to the exact call (or presents
 * one with `x-toolgate-approval`), its HTTP request is held open until a person approves or
 * denies it (or the hold ends), and it is relayed only by consuming an approved request whose
 * digest is its own, after a decision under the policies in force then. Refusals are JSON-RPC
 * errors whose `data` carries what gRPC's ErrorInfo does. Every step is one decision record.
 */
export class McpApprovals {
  private readonly clock: () => number;

  constructor(private readonly options: McpApprovalsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** What becomes of an escalated tool call: allowed once approved, or refused with the approval's facts. Never rejects. */
  async settle(call: EscalatedToolCall): Promise<McpDecision> {
    const { store } = this.options;
    const digest = approvalDigest({
      caller: call.caller,
      principal: call.principal,
      action: call.action,
      upstream: call.upstream,
      ...(call.task !== undefined && { task: call.task }),
      ...(call.onBehalfOf !== undefined && { onBehalfOf: call.onBehalfOf }),
      message: call.message,
    });
    const header = call.holdable ? call.headers[APPROVAL_HEADER] : undefined;
    const presented = Array.isArray(header) ? header[0] : header;
    // Only an id of the gateway's own shape reaches the store, a record or the caller's error.
    if (presented !== undefined && !isApprovalId(presented)) return this.refusal(call, 'APPROVAL_MISMATCH', undefined, `${APPROVAL_HEADER} is not an approval id`);
    try {
      let approval: Approval | undefined;
      if (presented !== undefined) {
        const consumed = await store.consume(presented, digest, this.now());
        if (consumed.ok) return this.released(call, call.decision, consumed.approval);
        if (consumed.reason !== 'pending') return this.refused(call, presented, consumed.reason);
        // The same call again while its request waits: held on that request, no new one.
        approval = await store.get(presented, this.now());
        if (approval === undefined) return this.refused(call, presented, 'not-found');
        this.recordEscalation(call, approval, 'retried while its approval request is pending');
      } else {
        const { escalate } = call;
        const ttlMs = Math.min(escalate.ttlSeconds === undefined ? this.options.defaultTtlMs : escalate.ttlSeconds * 1000, this.options.maxTtlMs);
        approval = await store.create(
          {
            digest,
            protocol: 'mcp',
            caller: call.caller,
            principal: call.principal,
            action: call.action,
            resource: call.upstream,
            ...(call.task !== undefined && { task: call.task }),
            group: escalate.group,
            quorum: escalate.quorum,
            policies: escalate.policies,
            ttlMs,
            ...(this.options.maxPendingPerCaller !== undefined && { maxPendingPerCaller: this.options.maxPendingPerCaller }),
            ...(this.options.show && { ...shownArguments(call.request, this.options.show.redact), ...(call.intent !== undefined && { intent: call.intent }) }),
          },
          this.now(),
        );
        this.recordEscalation(call, approval, call.holdable ? undefined : 'an element of a batch: not held');
      }
      if (!call.holdable) return this.required(call, approval, 'not held (an element of a batch: retry the call alone)');
      return await this.hold(call, approval, digest);
    } catch (err) {
      if (err instanceof ApprovalError) return this.refusal(call, 'APPROVAL_LIMIT', undefined, err.message);
      return this.refusal(call, 'APPROVAL_UNAVAILABLE', presented, `approval store unavailable: ${errorMessage(err)}`);
    }
  }

  /** Waits for the request to be decided, up to the hold (never past the request's expiry), or until the caller goes. */
  private async hold(call: EscalatedToolCall, approval: Approval, digest: string): Promise<McpDecision> {
    const { store } = this.options;
    const holdMs = Math.min(this.options.holdMs, MCP_MAX_HOLD_MS, approval.expiresAt.getTime() - this.clock());
    if (holdMs <= 0) return this.required(call, approval, 'not held (approvals.holdSeconds is 0)');
    const end = await awaitDecision(store, approval.id, {
      holdMs,
      pollMs: this.options.pollMs ?? 1000,
      now: () => this.now(),
      onGone: (listener) => call.onGone(listener),
    });
    switch (end.end) {
      case 'approved':
        return this.release(call, approval, digest).catch((err: unknown) =>
          this.refusal(call, 'APPROVAL_UNAVAILABLE', approval.id, `approval store unavailable: ${errorMessage(err)}`),
        );
      case 'hold-over':
        return this.required(call, approval, `not approved within the hold of ${Math.round(holdMs / 100) / 10} s`);
      case 'gone':
        call.count('deny');
        call.record({ approval: approval.id, decision: 'deny', reason: end.why });
        return { allow: false, decisionId: call.decisionId };
      default:
        return this.refused(call, approval.id, end.end);
    }
  }

  /**
   * The request was approved while the call was held: the call is decided again under the
   * policies in force now. A deny stands; an escalate goes on only by consuming the approval;
   * an allow needs none.
   */
  private async release(call: EscalatedToolCall, approval: Approval, digest: string): Promise<McpDecision> {
    const { decision: again, policySet } = call.reevaluate();
    const outcome = outcomeOf(again);
    const common = { approval: approval.id, policies: again.policies, errors: again.errors, policySet };
    if (outcome === 'deny') {
      call.count('deny');
      call.record({ ...common, decision: 'deny', reason: 'approved, but the policies in force at release deny the call' });
      return { allow: false, decisionId: call.decisionId };
    }
    if (outcome === 'allow') {
      call.count('allow');
      call.record({ ...common, decision: 'allow', reason: 'the policies in force at release allow the call without approval' });
      return { allow: true, decisionId: call.decisionId };
    }
    const consumed = await this.options.store.consume(approval.id, digest, this.now());
    if (!consumed.ok) return this.refused(call, approval.id, consumed.reason);
    return this.released(call, again, consumed.approval, policySet);
  }

  /** An approval consumed by this call: the allow record names it and who approved. */
  private released(call: EscalatedToolCall, decision: Decision, approval: Approval, policySet?: string): McpDecision {
    call.count('allow');
    call.record({
      approval: approval.id,
      by: approval.approvers,
      decision: 'allow',
      policies: decision.policies,
      errors: decision.errors,
      reason: 'approved',
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      ...(policySet !== undefined && { policySet }),
    });
    return { allow: true, decisionId: call.decisionId };
  }

  private recordEscalation(call: EscalatedToolCall, approval: Approval, reason: string | undefined): void {
    const { decision } = call;
    call.count('escalate');
    call.record({
      approval: approval.id,
      decision: 'escalate',
      policies: decision.policies,
      errors: decision.errors,
      ...(reason !== undefined && { reason }),
      ...(decision.shadow !== undefined && { shadow: decision.shadow }),
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      expiresAt: approval.expiresAt.toISOString(),
    });
  }

  /** APPROVAL_REQUIRED: retry the same call with `x-toolgate-approval: <id>` once approved. */
  private required(call: EscalatedToolCall, approval: Approval, why: string): McpDecision {
    return this.refusal(call, 'APPROVAL_REQUIRED', approval.id, `approval pending: ${why}`, { expiresAt: approval.expiresAt.toISOString() });
  }

  /** A presented or awaited approval that cannot release this call. */
  private refused(call: EscalatedToolCall, id: string, reason: ConsumeRefusal | 'expired'): McpDecision {
    switch (reason) {
      case 'denied':
        return this.refusal(call, 'APPROVAL_DENIED', id, 'the approval request was denied');
      case 'expired':
        return this.refusal(call, 'APPROVAL_EXPIRED', id, 'the approval request expired');
      case 'consumed':
        return this.refusal(call, 'APPROVAL_MISMATCH', id, 'the approval was already used (single use)');
      case 'mismatch':
        return this.refusal(call, 'APPROVAL_MISMATCH', id, 'the approval is for another call (caller, task or arguments differ)');
      case 'not-found':
        return this.refusal(call, 'APPROVAL_MISMATCH', id, 'no such approval request');
      case 'pending':
        return this.refusal(call, 'APPROVAL_REQUIRED', id, 'approval pending');
    }
  }

  /**
   * Records the refusal and builds it: the caller reads a JSON-RPC error, `-32003` for a
   * person's denial and `-32004` otherwise, whose `data` has the reason, the approval id and
   * the decision id, as gRPC's ErrorInfo does.
   */
  private refusal(call: EscalatedToolCall, reason: ApprovalReason, approvalId: string | undefined, why: string, metadata: Record<string, string> = {}): McpDecision {
    call.count('deny');
    call.record({ ...(approvalId !== undefined && { approval: approvalId }), decision: 'deny', reason: `${reason}: ${why}` });
    const { decisionId } = call;
    // A presented id that matched nothing is not echoed as if it were a request: the store said "mismatch" first.
    const data = { decisionId, reason, domain: APPROVAL_ERROR_DOMAIN, ...(approvalId !== undefined && { approvalId }), ...metadata };
    return {
      allow: false,
      decisionId,
      error: { code: reason === 'APPROVAL_DENIED' ? POLICY_DENIED : APPROVAL_NEEDED, message: `${MESSAGES[reason]} (decision ${decisionId})`, data },
    };
  }

  private now(): Date {
    return new Date(this.clock());
  }
}
