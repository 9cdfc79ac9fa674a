import type { ApprovalRequirement } from './authorization';
import type { LoadedPolicy } from './policy-file';

/** The annotation that makes a permit permit only with a person's approval, naming the approvers' group. */
export const APPROVAL_ANNOTATION = 'approval';
/** How long the approval request stays valid: `30s`, `10m`, `2h`. */
export const APPROVAL_TTL_ANNOTATION = 'approvalTtl';
/** How many distinct approvers it takes (a quorum): a positive integer. */
export const APPROVALS_ANNOTATION = 'approvals';

/** The longest `@approvalTtl` a policy may ask for; the config's `approvals.maxTtlSeconds` caps it further. */
const MAX_TTL_SECONDS = 24 * 3600;
const MAX_QUORUM = 16;
const GROUP = /^[A-Za-z0-9_.:@/-]{1,128}$/;

/** What one `@approval` permit asks for. */
export interface PolicyApproval {
  readonly group: string;
  readonly quorum: number;
  readonly ttlSeconds?: number;
}

/**
 * Reads every policy's approval annotations, once per policy set at load. Returns undefined
 * when no policy has any (the engine then does no approval work per decision at all), else
 * the `@approval` permits by id. Invalid values are returned as problems naming the policy
 * and the annotation, and refuse the set.
 */
export function readApprovalAnnotations(policies: readonly LoadedPolicy[]): { approvals: ReadonlyMap<string, PolicyApproval> | undefined; problems: string[] } {
  const approvals = new Map<string, PolicyApproval>();
  const problems: string[] = [];
  for (const policy of policies) {
    const annotations = policy.json.annotations ?? {};
    const group = annotations[APPROVAL_ANNOTATION];
    const ttl = annotations[APPROVAL_TTL_ANNOTATION];
    const quorum = annotations[APPROVALS_ANNOTATION];
    if (group === undefined && ttl === undefined && quorum === undefined) continue;
    const problem = (annotation: string, what: string) => problems.push(`policy "${policy.id}": @${annotation}${what}`);
    if (group === undefined) {
      problem(ttl !== undefined ? APPROVAL_TTL_ANNOTATION : APPROVALS_ANNOTATION, ` needs @${APPROVAL_ANNOTATION}("<approver group>") on the same policy`);
      continue;
    }
    if (policy.json.effect !== 'permit') {
      problem(APPROVAL_ANNOTATION, ' is for permit policies only (a forbid always denies)');
      continue;
    }
    if (!GROUP.test(group)) problem(APPROVAL_ANNOTATION, `("${group}"): the approver group must be 1-128 of [A-Za-z0-9_.:@/-]`);
    const ttlSeconds = ttl === undefined ? undefined : parseTtl(ttl);
    if (ttlSeconds === null) problem(APPROVAL_TTL_ANNOTATION, `("${ttl}"): must be a whole number of seconds, minutes or hours ("90s", "10m", "2h"), at most 24h`);
    const count = quorum === undefined ? 1 : parseQuorum(quorum);
    if (count === null) problem(APPROVALS_ANNOTATION, `("${quorum}"): must be a whole number from 1 to ${MAX_QUORUM}`);
    if (!GROUP.test(group) || ttlSeconds === null || count === null) continue;
    approvals.set(policy.id, { group, quorum: count, ...(ttlSeconds !== undefined && { ttlSeconds }) });
  }
  return { approvals: approvals.size === 0 ? undefined : approvals, problems };
}

/**
 * What a call permitted only by `@approval` permits needs: the determining permits' own
 * terms, combined to the most demanding (the first in set order names the group; the
 * largest quorum; the shortest TTL). Undefined when any determining permit has no
 * `@approval`: one unconditional permit suffices to allow.
 */
export function approvalRequired(permits: readonly string[], approvals: ReadonlyMap<string, PolicyApproval>): ApprovalRequirement | undefined {
  if (permits.length === 0) return undefined;
  let group: string | undefined;
  let quorum = 1;
  let ttlSeconds: number | undefined;
  for (const id of permits) {
    const approval = approvals.get(id);
    if (approval === undefined) return undefined;
    group ??= approval.group;
    quorum = Math.max(quorum, approval.quorum);
    if (approval.ttlSeconds !== undefined) ttlSeconds = Math.min(ttlSeconds ?? Infinity, approval.ttlSeconds);
  }
  return Object.freeze({ group: group!, quorum, ...(ttlSeconds !== undefined && { ttlSeconds }), policies: Object.freeze(permits.slice()) });
}

function parseTtl(value: string): number | null {
  const match = /^([1-9][0-9]{0,5})(s|m|h)$/.exec(value);
  if (match === null) return null;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
  return seconds <= MAX_TTL_SECONDS ? seconds : null;
}

function parseQuorum(value: string): number | null {
  if (!/^[1-9][0-9]?$/.test(value)) return null;
  const n = Number(value);
  return n <= MAX_QUORUM ? n : null;
}
