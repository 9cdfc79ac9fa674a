import { configErrors, FIXTURES } from './support/config-errors';
import { ConfigError, parseConfig } from '../../../src/config';

const TD_CHARS = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';

const UPSTREAM = `upstreams:
  - name: files
    services: [tools.files.v1.Files]
    address: 127.0.0.1:7001
    spiffeId: spiffe://example.org/tools/files
`;

/** The error lines for `text`, parsed as `toolgate.yaml` in the fixture folder. */

describe('config errors name the file, line and key path', () => {
  it('unknown keys, top-level and nested, with a suggestion when one is close', () => {
    expect(configErrors(`policies: policies\nlisten: 0.0.0.0:8443\nlisen: x\n${UPSTREAM}    protocols: []\n`)).toEqual([
      'toolgate.yaml:3: lisen: unknown key (did you mean "listen"?)',
      'toolgate.yaml:9: upstreams[0].protocols: unknown key',
    ]);
    expect(configErrors(`policies: policies\nspiffe: { trustdomains: [a.org] }\n${UPSTREAM}`)).toEqual([
      'toolgate.yaml:2: spiffe.trustdomains: unknown key (did you mean "trustDomains"?)',
    ]);
  });

  it("a bad SPIFFE ID, with go-spiffe's reason", () => {
    expect(configErrors(`policies: policies\n${UPSTREAM.replace('spiffe://example.org/tools/files', 'spiffe://Bad')}`)).toEqual([
      `toolgate.yaml:6: upstreams[0].spiffeId: invalid SPIFFE ID "spiffe://Bad": ${TD_CHARS}`,
    ]);
    expect(configErrors(`policies: policies\n${UPSTREAM.replace('spiffe://example.org/tools/files', 'spiffe://example.org')}`)).toEqual([
      'toolgate.yaml:6: upstreams[0].spiffeId: invalid SPIFFE ID "spiffe://example.org": names a trust domain only; the ID in an SVID always has a path',
    ]);
  });

  it('missing files and folders, with the absolute path tried', () => {
    expect(configErrors(`policies: nowhere\n${UPSTREAM}    protos: [missing.proto, proto]\ndecisionLog: { destination: logs/d.log }\n`)).toEqual([
      `toolgate.yaml:1: policies: directory not found: ${FIXTURES}/nowhere`,
      `toolgate.yaml:7: upstreams[0].protos[0]: file not found: ${FIXTURES}/missing.proto`,
      `toolgate.yaml:7: upstreams[0].protos[1]: not a file: ${FIXTURES}/proto`,
      `toolgate.yaml:8: decisionLog.destination: folder not found: ${FIXTURES}/logs`,
    ]);
    expect(configErrors(`policies: toolgate.yaml\n${UPSTREAM}`)).toEqual([`toolgate.yaml:1: policies: not a directory: ${FIXTURES}/toolgate.yaml`]);
  });

  it('an upstream with both protos and reflection: which descriptors policy sees must not be a guess', () => {
    expect(configErrors(`policies: policies\n${UPSTREAM}    protos: [proto/examples/files.proto]\n    reflection: true\n`)).toEqual([
      'toolgate.yaml:8: upstreams[0].reflection: set either protos or reflection, not both',
    ]);
    expect(configErrors(`policies: policies\n${UPSTREAM}    reflection: yes\n`)[0]).toMatch(/^toolgate\.yaml:7: upstreams\[0\]\.reflection: /);
  });

  it('per-caller and idle limits out of range', () => {
    expect(configErrors(`policies: policies\n${UPSTREAM}limits: { perCaller: { maxConcurrentCalls: 0, maxConcurentCalls: 3 }, streamIdleSeconds: 0 }\n`)).toEqual([
      'toolgate.yaml:7: limits.perCaller.maxConcurentCalls: unknown key (did you mean "maxConcurrentCalls"?)',
      'toolgate.yaml:7: limits.perCaller.maxConcurrentCalls: must be at least 1, not 0',
      'toolgate.yaml:7: limits.streamIdleSeconds: must be > 0',
    ]);
  });

  it('wrong types, missing required keys and out-of-range values', () => {
    expect(
      configErrors(`listen: 8443
admin: true
identities: {}
upstreams:
  - name: files
    services: tools.files.v1.Files
    spiffeId: spiffe://example.org/tools/files
limits: { maxMessageBytes: 0 }
drainTimeoutSeconds: "15s"
logLevel: verbose
`),
    ).toEqual([
      'toolgate.yaml: policies: missing required key',
      'toolgate.yaml:1: listen: must be a string, not the number 8443',
      'toolgate.yaml:2: admin: must be host:port, or false for no admin listener',
      'toolgate.yaml:3: identities: must be a list or empty, not a mapping',
      'toolgate.yaml:5: upstreams[0].address: missing required key',
      'toolgate.yaml:6: upstreams[0].services: must be a list, not the string "tools.files.v1.Files"',
      'toolgate.yaml:8: limits.maxMessageBytes: must be at least 1, not 0',
      'toolgate.yaml:9: drainTimeoutSeconds: must be a number, not the string "15s"',
      'toolgate.yaml:10: logLevel: "verbose" is not one of: fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('an empty admin value is not "off": only false is', () => {
    expect(configErrors(`policies: policies\nadmin:\n${UPSTREAM}`)).toEqual(['toolgate.yaml:2: admin: must be a string or a boolean, not empty (null)']);
  });

  it('bad addresses and syntax the schema describes', () => {
    expect(
      configErrors(`policies: policies
listen: ":::8443"
admin: 127.0.0.1:99999
upstreams:
  - name: files server
    services: [tools/files, tools.files.v1.Files, tools.files.v1.Files]
    address: localhost
    spiffeId: spiffe://example.org/tools/files
metadata: { allow: [X-Request-Id] }
`),
    ).toEqual([
      'toolgate.yaml:2: listen: invalid address ":::8443": an IPv6 host must be in brackets, e.g. [::1]:8443',
      'toolgate.yaml:3: admin: invalid address "127.0.0.1:99999": the port must be a number from 0 to 65535',
      'toolgate.yaml:5: upstreams[0].name: "files server" is not an upstream name (letters, digits, ".", "_", "-"), e.g. files',
      'toolgate.yaml:6: upstreams[0].services[0]: "tools/files" is not a fully-qualified gRPC service name, e.g. tools.files.v1.Files',
      'toolgate.yaml:6: upstreams[0].services[2]: "tools.files.v1.Files" is listed twice (also upstreams[0].services[1])',
      'toolgate.yaml:7: upstreams[0].address: invalid address "localhost": expected host:port',
      'toolgate.yaml:9: metadata.allow[0]: "X-Request-Id" is not a lowercase gRPC metadata key (a-z, 0-9, "_", ".", "-"), e.g. x-request-id',
    ]);
  });

  it('duplicate upstream names and a service routed to two upstreams, naming both', () => {
    expect(
      configErrors(`policies: policies
${UPSTREAM}  - name: files
    services: [tools.search.v1.Search, tools.files.v1.Files, grpc.health.v1.Health]
    address: 127.0.0.1:7002
    spiffeId: spiffe://example.org/tools/search
`),
    ).toEqual([
      'toolgate.yaml:7: upstreams[1].name: duplicate upstream name "files" (also upstreams[0].name)',
      'toolgate.yaml:8: upstreams[1].services[1]: service "tools.files.v1.Files" is routed to two upstreams: "files" (upstreams[0]) and "files" (upstreams[1])',
      'toolgate.yaml:8: upstreams[1].services[2]: service "grpc.health.v1.Health" is served by the gateway itself',
    ]);
  });

  it('identity rules: one matcher, an agent for exact rules, reserved attributes, valid prefixes', () => {
    expect(
      configErrors(`policies: policies
${UPSTREAM}identities:
  - spiffeId: spiffe://example.org/agents/a
    spiffeIdPrefix: spiffe://example.org/agents/
    agent: a
  - groups: [g]
  - spiffeId: spiffe://example.org/agents/b
  - spiffeIdPrefix: spiffe://example.org/agents/ci
  - spiffeIdPrefix: spiffe://example.org//
  - spiffeIdPrefix: spiffe://example.org/ci/
    attributes: { spiffeId: x, trustDomain: y, attributes: z, tier-x: 1, ok: 1.5 }
`),
    ).toEqual([
      'toolgate.yaml:8: identities[0]: has both spiffeId and spiffeIdPrefix; a rule matches by exactly one',
      'toolgate.yaml:11: identities[1]: needs spiffeId (one workload) or spiffeIdPrefix (every workload under a path)',
      'toolgate.yaml:12: identities[2].agent: missing required key (a spiffeId rule names its agent)',
      'toolgate.yaml:13: identities[3].spiffeIdPrefix: invalid SPIFFE ID prefix "spiffe://example.org/agents/ci": must end with "/" so that it matches whole path segments',
      'toolgate.yaml:14: identities[4].spiffeIdPrefix: invalid SPIFFE ID prefix "spiffe://example.org//": path cannot contain empty segments',
      'toolgate.yaml:16: identities[5].attributes["tier-x"]: "tier-x" is not an attribute name (letters, digits, _)',
      'toolgate.yaml:16: identities[5].attributes.ok: must be a string, an integer or a boolean, not the number 1.5',
      'toolgate.yaml:16: identities[5].attributes.spiffeId: "spiffeId" is reserved: the gateway sets it on every principal',
      'toolgate.yaml:16: identities[5].attributes.trustDomain: "trustDomain" is reserved: the gateway sets it on every principal',
      'toolgate.yaml:16: identities[5].attributes.attributes: "attributes" is reserved: the gateway sets it on every principal',
    ]);
  });

  it('identity rules that can never match', () => {
    expect(
      configErrors(`policies: policies
spiffe: { trustDomains: [example.org] }
${UPSTREAM}identities:
  - spiffeIdPrefix: spiffe://example.org/agents/
  - spiffeId: spiffe://example.org/agents/a
    agent: a
  - spiffeIdPrefix: spiffe://example.org/agents/ci/
  - spiffeId: spiffe://partner.org/agents/b
    agent: b
`),
    ).toEqual([
      'toolgate.yaml:10: identities[1].spiffeId: never matches: identities[0] (spiffeIdPrefix "spiffe://example.org/agents/") matches first',
      'toolgate.yaml:12: identities[2].spiffeIdPrefix: never matches: identities[0] (spiffeIdPrefix "spiffe://example.org/agents/") matches first',
      'toolgate.yaml:13: identities[3].spiffeId: never matches: trust domain "partner.org" is not in spiffe.trustDomains',
    ]);
  });

  it('headers the policy context must not see', () => {
    expect(configErrors(`policies: policies\n${UPSTREAM}metadata:\n  allow: [x-toolgate-agent, authorization, grpc-timeout, x-trace-bin, x-task-id]\n`)).toEqual([
      'toolgate.yaml:8: metadata.allow[0]: "x-toolgate-agent" is owned by the gateway (its own headers, and the task and on-behalf-of tokens callers send it): never context.metadata',
      'toolgate.yaml:8: metadata.allow[1]: "authorization" carries credentials, which must never reach the policy context or a log',
      'toolgate.yaml:8: metadata.allow[2]: "grpc-timeout" is reserved by gRPC for the transport',
      'toolgate.yaml:8: metadata.allow[3]: "x-trace-bin" is a binary header; context.metadata holds strings only',
    ]);
  });

  it('reports every problem at once, in file order, one per line', () => {
    const err = (() => {
      try {
        return parseConfig(
          `bogus: 1\npolicies: policies\nspiffe: { trustDomains: [Example.org], endpointSocket: "unix:relative" }\n${UPSTREAM.replace('example.org/tools', 'Bad/tools')}`,
          FIXTURES,
          'toolgate.yaml',
        );
      } catch (e) {
        return e as ConfigError;
      }
    })() as ConfigError;
    expect(err.message).toBe(
      [
        'toolgate.yaml:1: bogus: unknown key',
        'toolgate.yaml:3: spiffe.endpointSocket: invalid Workload API address "unix:relative": workload endpoint unix socket URI must not be opaque',
        'toolgate.yaml:3: spiffe.trustDomains[0]: invalid trust domain "Example.org": ' + TD_CHARS,
        `toolgate.yaml:8: upstreams[0].spiffeId: invalid SPIFFE ID "spiffe://Bad/tools/files": ${TD_CHARS}`,
      ].join('\n'),
    );
    expect(err.issues[0]).toEqual({ path: 'bogus', line: 1, message: 'unknown key' });
  });

  it('YAML syntax errors, an empty file and a file that is not a mapping', () => {
    expect(configErrors('policies: a\npolicies: b\n')).toEqual(['toolgate.yaml:2: Map keys must be unique']);
    expect(configErrors('listen: [unclosed\n')).toEqual(['toolgate.yaml:2: Flow sequence in block collection must be sufficiently indented and end with a ]']);
    expect(configErrors('policies: a\n---\npolicies: b\n')).toEqual(['toolgate.yaml:2: the file must hold one YAML document, not several']);
    expect(configErrors('')).toEqual(['toolgate.yaml: top level: must be a mapping, not empty (null)']);
    expect(configErrors('- a\n')).toEqual(['toolgate.yaml:1: top level: must be a mapping, not a list']);
  });
});
