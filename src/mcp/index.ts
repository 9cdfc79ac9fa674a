/**
 * The MCP relay, as the gateway's listeners will use it (docs/mcp.md): one `McpRelay` per MCP
 * upstream, deciding through `cedarDecider`, with tool definitions pinned by `ToolPins`.
 * Not yet wired into `server/` (issue 12); this entry is what that wiring imports.
 */
export { McpRelay, POLICY_DENIED, SESSION_NOT_FOUND, UPSTREAM_FAILED, type McpRelayOptions, type McpServerRequest, type McpServerResponse } from './mcp-relay';
export type { McpCaller, McpCouldPermit, McpCut, McpDecide, McpDecision, McpDecisionRequest, McpRelayEvent, McpUpstreamHeaders } from './relay-contract';
export { cedarDecider, type CedarDeciderOptions } from './cedar-decider';
export { ToolPins, toolDigest, type ToolChange } from './tool-pins';
export { McpMessageError, type McpMessageErrorCode } from './mcp-message-error';
