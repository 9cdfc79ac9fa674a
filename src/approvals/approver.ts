import type { Approval } from './approval';

/**
 * The one rule for who may see, approve or deny a request, whatever the way in (the Approvals
 * service, the console): a caller whose identity rule puts it in the group the request's
 * `@approval` permit names. The request's own caller never decides it: the store refuses
 * that (`own-call`), whatever its groups.
 */
export function isApproverOf(groups: ReadonlySet<string>, approval: Pick<Approval, 'group'>): boolean {
  return groups.has(approval.group);
}
