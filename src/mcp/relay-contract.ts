import type { CedarValue } from '../identity/cedar-value';
import type { Principal } from '../identity/principal';

/** A caller the listener has already authenticated and mapped (an unmapped one never reaches the relay). */
export interface McpCaller {
  /**
   * The authenticated identity, stable across the caller's connections: its SPIFFE ID (or,
   * for an OIDC token, issuer and subject). MCP sessions are bound to it.
   */
  readonly key: string;
  readonly principal: Principal;
  /**
   * Aborted when the owner cuts this caller's request while it is relayed (a tool call whose
   * task ended or expired), with an `McpCut` as its reason: the relay stops relaying, answers
   * each request of the body with a JSON-RPC error naming the decision, and cancels upstream.
   */
  readonly cut?: AbortSignal;
}

/** Why a request was cut: the decision it was relayed under, the only thing the caller is told. */
export interface McpCut {
  readonly decisionId: string;
}

/** One Cedar question the relay asks, in the terms of policies.md: `action` on `Tool::"<resource>"`. */
export interface McpDecisionRequest {
  readonly upstream: string;
  /** The JSON-RPC method, for the decision log. */
  readonly method: string;
  readonly action: string;
  readonly resource: string;
  /** `context.request`: a tool's or prompt's arguments, a resource's URI, other params. */
  readonly request: Readonly<Record<string, CedarValue>>;
  /**
   * For a `tools/call`, the only method that can be held for approval: the bytes an approval
   * of this message binds (approval-bytes.ts), computed when asked (only an escalated call needs them).
   */
  readonly approvalBytes?: () => Uint8Array;
  /** The message is an element of a batch: an escalated one is refused at once, never held (docs/approvals.md, "MCP"). */
  readonly inBatch?: boolean;
  /**
   * `sha256:<hex>` of the message as the relay forwards it: its canonical JSON text in UTF-8
   * (a batch element's own text within the batch), for the decision record.
   */
  readonly requestDigest?: string;
}

export interface McpDecision {
  readonly allow: boolean;
  /** Names the decision log line; a denied caller is told only this. */
  readonly decisionId: string;
  /**
   * A refusal's own JSON-RPC error, answered instead of "Denied by policy": an escalated tool
   * call's (approval required, denied, expired, mismatch), whose `data` the agent acts on.
   */
  readonly error?: McpDecisionError;
}

/** A refusal the agent can act on: `data` holds `decisionId` and the facts (docs/approvals.md, "MCP"). */
export interface McpDecisionError {
  readonly code: number;
  readonly message: string;
  readonly data: Readonly<Record<string, string>>;
}

/**
 * Decides one request: the gateway's owner connects it to the Cedar engine (adding
 * `context.peer`, `metadata`, `task`, ...) and to the decision log. Must not throw; a
 * rejection or a throw is taken as a deny.
 */
export type McpDecide = (caller: McpCaller, request: McpDecisionRequest) => McpDecision | Promise<McpDecision>;

/**
 * Whether policy could permit `caller` some call of `action` on `resource`, with
 * `context.request` as given or, when undefined, any (could-permit.ts). Used to filter list
 * answers; false on any error.
 */
export type McpCouldPermit = (caller: McpCaller, action: string, resource: string, request: Readonly<Record<string, CedarValue>> | undefined) => boolean;

/** A decision that allowed one message of a relayed request, with the action it allowed. */
export interface McpAllowed extends McpDecision {
  readonly action: string;
}

/**
 * What the gateway adds to each request it relays upstream (the per-call JWT): told the
 * decisions that allowed the request's messages, in order (none for a request no policy decided).
 */
export type McpUpstreamHeaders = (caller: McpCaller, allowed: readonly McpAllowed[]) => Readonly<Record<string, string>>;

/** Something the relay refused or noticed, for the owner's log and metrics. Never holds a token or a body. */
export interface McpRelayEvent {
  readonly kind: 'refused' | 'denied' | 'foreign-session' | 'upstream-error';
  readonly upstream: string;
  /** The caller's `key`. */
  readonly caller: string;
  /** The caller as the owner handed it to the relay (its request's facts: identity, state). */
  readonly from: McpCaller;
  readonly status: number;
  readonly reason: string;
  readonly decisionIds?: readonly string[];
}
