import { configErrors, FIXTURES } from './support/config-errors';
import { parseConfig } from '../../../src/config';

const BASE = `spiffe: { trustDomains: [example.org] }
policies: policies
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
`;

describe('config keys of the approvers console (approvals.console)', () => {
  it('is off by default', () => {
    expect(parseConfig(BASE, FIXTURES).approvals.console).toBeUndefined();
  });

  it('takes its listener, the proxy (user header lower-cased, X-Forwarded-User by default) and the redacted fields', () => {
    const config = parseConfig(
      `${BASE}approvals:
  console:
    listen: 0.0.0.0:8445
    proxy: { spiffeId: spiffe://example.org/oauth2-proxy, trustDomain: people.example }
    redact: [password, "*.secret"]
identities:
  - { spiffeId: spiffe://people.example/alice, agent: alice, groups: [payroll-owners] }
`,
      FIXTURES,
    );
    const console = config.approvals.console!;
    expect(console.listen).toEqual({ host: '0.0.0.0', port: 8445 });
    expect(console.proxy.spiffeId.toString()).toBe('spiffe://example.org/oauth2-proxy');
    expect(console.proxy.trustDomain.name).toBe('people.example');
    expect(console.proxy.userHeader).toBe('x-forwarded-user');
    expect(console.redact).toEqual(['password', '*.secret']);
    // A rule for people is reachable: their trust domain counts as a caller's for the identity rules.
    expect(config.identities).toHaveLength(1);
    const custom = parseConfig(
      `${BASE}approvals: { console: { listen: "127.0.0.1:0", proxy: { spiffeId: spiffe://example.org/p, trustDomain: people.example, userHeader: X-Auth-Request-User } } }\n`,
      FIXTURES,
    );
    expect(custom.approvals.console!.proxy.userHeader).toBe('x-auth-request-user');
  });

  it("refuses a people's trust domain that is a caller's, a proxy ID without a path, a bad field pattern, a missing proxy", () => {
    const errors = configErrors(`${BASE}approvals:
  console:
    listen: 127.0.0.1:0
    proxy: { spiffeId: spiffe://example.org/p, trustDomain: example.org }
`);
    expect(errors.join('\n')).toMatch(/approvals\.console\.proxy\.trustDomain.*people need one of their own/);
    expect(configErrors(`${BASE}approvals: { console: { listen: "127.0.0.1:0", proxy: { spiffeId: "spiffe://example.org", trustDomain: people.example } } }\n`).join('\n')).toMatch(
      /approvals\.console\.proxy\.spiffeId/,
    );
    expect(
      configErrors(`${BASE}approvals: { console: { listen: "127.0.0.1:0", proxy: { spiffeId: spiffe://example.org/p, trustDomain: people.example }, redact: ["a..b"] } }\n`).join(
        '\n',
      ),
    ).toMatch(/approvals\.console\.redact/);
    expect(configErrors(`${BASE}approvals: { console: { listen: "127.0.0.1:0" } }\n`).join('\n')).toMatch(/proxy/);
  });
});
