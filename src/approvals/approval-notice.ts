import type { Approval } from './approval';

/** The `type` of the one webhook message sent so far: a new approval request. */
export const APPROVAL_REQUESTED = 'approval.requested';

/**
 * The JSON body of an approval webhook (docs/approvals.md, "Webhook"), in Standard Webhooks'
 * `{ type, timestamp, data }` shape. A thin message: who asks to do what, under which task,
 * why approval is needed, who may give it and until when. Never the call's arguments (they
 * stay inside the gateway: an approver reads them through the Approvals service or the
 * console), never a token.
 */
export interface ApprovalNoticeBody {
  readonly type: typeof APPROVAL_REQUESTED;
  /** When the request was made, ISO 8601. */
  readonly timestamp: string;
  readonly data: {
    readonly approvalId: string;
    readonly createdAt: string;
    readonly expiresAt: string;
    /** The caller's SPIFFE ID. */
    readonly caller: string;
    /** `Agent::"name"` or `Workload::"spiffe id"`. */
    readonly principal: string;
    /** `pkg.Service/Method`, or the MCP Cedar action. */
    readonly action: string;
    readonly upstream: string;
    readonly taskId?: string;
    /** The task's declared intent, as the agent wrote it; past `MAX_INTENT_CHARS`, cut and ended with `…`. */
    readonly taskIntent?: string;
    /** The approvers' group the `@approval` permit names. */
    readonly group: string;
    readonly quorum: number;
    /** The `@approval` permits that asked for it. */
    readonly policies: readonly string[];
    /** The decision id of the escalated call's record. */
    readonly decisionId?: string;
  };
}

/** An agent writes the intent: a message stays small (Standard Webhooks: best under 20 KB) whatever it wrote. */
export const MAX_INTENT_CHARS = 1000;

function cut(intent: string): string {
  return intent.length <= MAX_INTENT_CHARS ? intent : `${intent.slice(0, MAX_INTENT_CHARS - 1)}…`;
}

/** The message for a new request, as exact bytes: what is signed is what is sent. */
export function approvalNoticeBody(approval: Approval): Buffer {
  const body: ApprovalNoticeBody = {
    type: APPROVAL_REQUESTED,
    timestamp: approval.createdAt.toISOString(),
    data: {
      approvalId: approval.id,
      createdAt: approval.createdAt.toISOString(),
      expiresAt: approval.expiresAt.toISOString(),
      caller: approval.caller,
      principal: approval.principal,
      action: approval.action,
      upstream: approval.resource,
      ...(approval.task !== undefined && { taskId: approval.task }),
      ...(approval.intent !== undefined && { taskIntent: cut(approval.intent) }),
      group: approval.group,
      quorum: approval.quorum,
      policies: [...approval.policies],
      ...(approval.decisionId !== undefined && { decisionId: approval.decisionId }),
    },
  };
  return Buffer.from(JSON.stringify(body));
}
