import { ToolgateError } from '../errors/toolgate-error';

/** Stable codes of what the approval store refuses (docs/errors.md). */
export type ApprovalErrorCode =
  /** The caller already has as many pending approval requests as `approvals.maxPendingPerCaller` allows. */
  | 'ERR_APPROVAL_LIMIT'
  /** `approvals.webhook.secretFile` cannot be read, or holds no valid `whsec_` key. */
  | 'ERR_APPROVAL_WEBHOOK_SECRET';

export class ApprovalError extends ToolgateError<ApprovalErrorCode> {}

export function limitError(max: number): ApprovalError {
  return new ApprovalError('ERR_APPROVAL_LIMIT', `the caller has ${max} pending approval requests (approvals.maxPendingPerCaller)`);
}
