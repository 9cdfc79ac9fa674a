/**
 * The MCP relay, as the gateway's listeners use it (docs/mcp.md; server/mcp-routes.ts): one
 * `McpRelay` per MCP upstream, deciding through `cedarDecider`, with tool definitions pinned
 * by `ToolPins`. `server/` imports MCP through this entry only.
 */
export { McpRelay, sendJson, POLICY_DENIED, SESSION_NOT_FOUND, UPSTREAM_FAILED, type McpRelayOptions, type McpServerRequest, type McpServerResponse } from './mcp-relay';
/** The JSON-RPC code of a tool call that needs an approval it does not have (yet) (docs/approvals.md, "MCP"). */
export { APPROVAL_NEEDED } from './mcp-relay';
export type { McpAllowed, McpCaller, McpCouldPermit, McpCut, McpDecide, McpDecision, McpDecisionRequest, McpRelayEvent, McpUpstreamHeaders } from './relay-contract';
export { cedarDecider, type CedarDeciderOptions } from './cedar-decider';
export { couldPermit, type PossibleCall } from './could-permit';
export { mcpAction } from './mcp-question';
export { ToolPins, toolDigest, type ToolChange, type ToolRefusal, type UnlistedTool } from './tool-pins';
export { McpMessageError, type McpMessageErrorCode } from './mcp-message-error';
