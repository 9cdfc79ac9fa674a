import { TrustDomain } from '../spiffe/id';
import { parseHostPort } from '../net/host-port';
import { DEFAULTS } from './defaults';
import type { ApprovalConsoleConfig } from './gateway-config';
import type { IssueList } from './issue-list';
import { asList, asRecord, asString } from './raw-value';
import { parseWorkloadId } from './spiffe-id-value';

/**
 * `approvals.console`. People get SPIFFE IDs in the proxy's `trustDomain`, so that trust
 * domain must be the people's own: shared with SPIFFE callers or an OIDC issuer, the proxy
 * could name a person as an agent (and an agent could pass for a person).
 */
export function resolveApprovalConsole(value: unknown, taken: readonly TrustDomain[], issues: IssueList): ApprovalConsoleConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = asRecord(value);
  const proxy = asRecord(raw.proxy);
  const path = ['approvals', 'console'];
  const address = asString(raw.listen);
  const listen =
    address === undefined ? undefined : issues.check([...path, 'listen'], `invalid address ${JSON.stringify(address)}`, () => parseHostPort(address, { allowPortZero: true }));
  const id = asString(proxy.spiffeId);
  const spiffeId = id === undefined ? undefined : issues.check([...path, 'proxy', 'spiffeId'], `invalid SPIFFE ID ${JSON.stringify(id)}`, () => parseWorkloadId(id));
  const name = asString(proxy.trustDomain);
  const trustDomain =
    name === undefined ? undefined : issues.check([...path, 'proxy', 'trustDomain'], `invalid trust domain ${JSON.stringify(name)}`, () => TrustDomain.parse(name));
  if (trustDomain && taken.some((td) => td.equals(trustDomain))) {
    issues.add([...path, 'proxy', 'trustDomain'], `trust domain "${trustDomain.name}" is also a caller's (spiffe.trustDomains or an OIDC issuer's): people need one of their own`);
    return undefined;
  }
  const redact = asList(raw.redact).filter((item): item is string => typeof item === 'string');
  const userHeader = (asString(proxy.userHeader) ?? DEFAULTS.approvalConsoleUserHeader).toLowerCase();
  return listen && spiffeId && trustDomain ? { listen, proxy: { spiffeId, userHeader, trustDomain }, redact } : undefined;
}
