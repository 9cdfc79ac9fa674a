import type { McpUpstreamHeaders } from '../mcp';
import type { UpstreamTokenFacts } from './call-pipeline';
import type { McpGatewayCaller } from './mcp-decisions';
import { AUTHORIZATION_HEADER } from './owned-headers';

/**
 * The relay's `upstreamHeaders` for an MCP upstream with a SPIFFE ID: each relayed request
 * carries the gateway's per-call JWT (`authorization: Bearer`), minted as for a gRPC call
 * (task-services.ts): `aud` the upstream's SPIFFE ID, `sub` the caller, `agent`, `task_id`
 * and `obo` when the request's tool call ran under them, `scope` the actions policy allowed
 * for the request, space-separated (OAuth's `scope` syntax; one action but in a batch), and
 * empty for a request no policy decided (initialize, notifications, the GET stream, DELETE).
 * Minted as the request is sent (or reused, signed at most `upstreamTokenReuseSeconds`
 * before, for the same claims: CallTokenCache), so its short lifetime starts then. The caller's own
 * `authorization` never gets here: the relay relays an allowlist of headers without it.
 */
export function mcpCallTokenHeaders(upstreamToken: (facts: UpstreamTokenFacts) => string, audience: string): McpUpstreamHeaders {
  return (mcpCaller, allowed) => {
    const caller = mcpCaller as McpGatewayCaller;
    const { principal, scope } = caller;
    const task = scope?.task;
    const token = upstreamToken({
      caller: caller.peer.spiffeId,
      ...(principal.type === 'Agent' && { agent: principal.id }),
      audience,
      action: allowed.map((decision) => decision.action).join(' '),
      ...(task && { task: { id: task.id, expiresAt: task.expiresAt } }),
      ...(scope?.onBehalfOf && { onBehalfOf: scope.onBehalfOf }),
    });
    return { [AUTHORIZATION_HEADER]: `Bearer ${token}` };
  };
}
