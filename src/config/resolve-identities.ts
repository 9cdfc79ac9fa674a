import { RESERVED_ATTRIBUTES, type AttributeValue, type IdentityRule } from '../identity/identity-rule';
import { parseSpiffeIdPrefix } from '../identity/spiffe-id-prefix';
import type { TrustDomain } from '../spiffe/id';
import type { IssueList } from './issue-list';
import { formatKeyPath, type KeyPath } from './key-path';
import { asList, asRecord, asString, stringItems } from './raw-value';
import { parseWorkloadId } from './spiffe-id-value';

/** An earlier rule, kept to find later rules it makes unreachable. */
interface Matcher {
  path: KeyPath;
  exact?: string;
  prefix?: string;
}

/**
 * The `identities` list: SPIFFE ID syntax, exactly one matcher per rule, an agent for
 * exact rules, no reserved attribute names, and no rule that can never match (its trust
 * domain is not accepted, or an earlier rule matches everything it would).
 */
export function resolveIdentities(value: unknown, trustDomains: TrustDomain[] | undefined, issues: IssueList): IdentityRule[] {
  const earlier: Matcher[] = [];
  const rules: IdentityRule[] = [];
  asList(value).forEach((item, i) => {
    const path: KeyPath = ['identities', i];
    const raw = asRecord(item);
    const exact = asString(raw.spiffeId);
    const prefix = asString(raw.spiffeIdPrefix);
    const agent = asString(raw.agent);

    if ('spiffeId' in raw && 'spiffeIdPrefix' in raw) {
      issues.add(path, 'has both spiffeId and spiffeIdPrefix; a rule matches by exactly one');
    } else if (!('spiffeId' in raw) && !('spiffeIdPrefix' in raw)) {
      issues.add(path, 'needs spiffeId (one workload) or spiffeIdPrefix (every workload under a path)');
    }
    if ('spiffeId' in raw && !('agent' in raw)) issues.add([...path, 'agent'], 'missing required key (a spiffeId rule names its agent)');

    const rule: IdentityRule = { groups: stringItems(raw.groups).map(([g]) => g), attributes: attributes(raw.attributes, path, issues) };
    const matcher: Matcher = { path };
    if (exact !== undefined) {
      const keyPath = [...path, 'spiffeId'];
      const id = issues.check(keyPath, `invalid SPIFFE ID ${JSON.stringify(exact)}`, () => parseWorkloadId(exact));
      if (id) {
        rule.spiffeId = id;
        matcher.exact = exact;
        checkReachable(keyPath, exact, id.trustDomain, trustDomains, earlier, issues);
      }
    } else if (prefix !== undefined) {
      const keyPath = [...path, 'spiffeIdPrefix'];
      const td = issues.check(keyPath, `invalid SPIFFE ID prefix ${JSON.stringify(prefix)}`, () => parseSpiffeIdPrefix(prefix));
      if (td) {
        rule.spiffeIdPrefix = prefix;
        matcher.prefix = prefix;
        checkReachable(keyPath, prefix, td, trustDomains, earlier, issues);
      }
    }
    if (agent !== undefined) rule.agent = agent;
    earlier.push(matcher);
    rules.push(rule);
  });
  return rules;
}

function attributes(value: unknown, path: KeyPath, issues: IssueList): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, v] of Object.entries(asRecord(value))) {
    if (RESERVED_ATTRIBUTES.includes(name)) {
      issues.add([...path, 'attributes', name], `"${name}" is reserved: the gateway sets it on every principal`);
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[name] = v;
    }
  }
  return out;
}

/** Reports `value` (a SPIFFE ID or prefix) when no caller can ever reach its rule. */
function checkReachable(path: KeyPath, value: string, trustDomain: TrustDomain, trustDomains: TrustDomain[] | undefined, earlier: readonly Matcher[], issues: IssueList): void {
  if (trustDomains && !trustDomains.some((td) => td.equals(trustDomain))) {
    issues.add(path, `never matches: trust domain "${trustDomain.name}" is not in spiffe.trustDomains`);
    return;
  }
  // A prefix ends in "/" and an ID never does, so startsWith compares whole segments.
  const first = earlier.find((m) => m.exact === value || (m.prefix !== undefined && value.startsWith(m.prefix)));
  if (first) {
    const by = first.exact !== undefined ? `spiffeId ${JSON.stringify(first.exact)}` : `spiffeIdPrefix ${JSON.stringify(first.prefix)}`;
    issues.add(path, `never matches: ${formatKeyPath(first.path)} (${by}) matches first`);
  }
}
