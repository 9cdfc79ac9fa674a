/*
 * `toolgate`: the gateway for embedding and operating it, the task client for agents, and
 * the call-token verifier for tool services. The SPIFFE library is `toolgate/spiffe`.
 */
export { Gateway, type StartOptions } from './server/gateway';
export { loadConfig } from './config/load-config';
export { ToolgateError } from './errors/toolgate-error';
export { ConfigError, type ConfigIssue } from './config/config-error';
export type { GatewayConfig } from './config/gateway-config';
export { TasksClient, taskMetadata, type BeginTaskReply, type TaskReply } from './tasks/tasks-client';
export { TASK_HEADER, ON_BEHALF_OF_HEADER, APPROVAL_HEADER } from './server/owned-headers';
export { ApprovalsClient, approvalMetadata, type ApprovalReply } from './approvals/approvals-client';
export { ApprovalError, type ApprovalErrorCode } from './approvals/approval-error';
export { errorInfoOf, STATUS_DETAILS_HEADER, type ErrorInfo } from './relay/status-details';
export {
  createCallTokenVerifier,
  requireCallTokens,
  callTokenClaims,
  CallTokenError,
  CALL_TOKEN_TYPE,
  type CallTokenVerifier,
  type CallTokenVerifierOptions,
  type VerifiedCallClaims,
} from './credentials/call-token-verifier';
export { JWKS_PATH } from './credentials/jwks-route';
export { TaskError, type TaskErrorCode } from './tasks/task-errors';
