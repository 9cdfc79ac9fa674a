import type { IssueList } from './issue-list';
import { stringItems } from './raw-value';

/** Headers that carry credentials: never into the policy context, which may be logged. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * `metadata.allow`: request headers copied into `context.metadata`. The schema checks the
 * syntax (lowercase gRPC metadata keys); this refuses headers that must not be there.
 */
export function resolveMetadataAllow(value: unknown, issues: IssueList): string[] {
  const allow: string[] = [];
  for (const [header, i] of stringItems(value)) {
    const reason = refusal(header);
    if (reason) issues.add(['metadata', 'allow', i], `${JSON.stringify(header)} ${reason}`);
    else allow.push(header);
  }
  return allow;
}

function refusal(header: string): string | undefined {
  if (header.startsWith('x-toolgate-')) return 'is owned by the gateway (its own headers, and the task and on-behalf-of tokens callers send it): never context.metadata';
  if (CREDENTIAL_HEADERS.has(header)) return 'carries credentials, which must never reach the policy context or a log';
  if (header.startsWith('grpc-')) return 'is reserved by gRPC for the transport';
  if (header.endsWith('-bin')) return 'is a binary header; context.metadata holds strings only';
  return undefined;
}
