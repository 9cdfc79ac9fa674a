import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../src/config';
import { SpiffeId, TrustDomain } from '../../../src/spiffe/id';

const FIXTURES = resolve(__dirname, '../../fixtures/config');
const EXAMPLE = join(FIXTURES, 'toolgate.yaml');

const MINIMAL = `
policies: policies
upstreams:
  - name: files
    services: [tools.files.v1.Files]
    address: files.tools.svc:7001
    spiffeId: spiffe://example.org/tools/files
`;

describe('loadConfig', () => {
  it('loads the example of docs/config.md with every default applied', () => {
    expect(loadConfig(EXAMPLE, {})).toEqual({
      spiffe: { endpointSocket: 'unix:///run/spire/agent.sock', trustDomains: [TrustDomain.parse('example.org')] },
      listen: { host: '0.0.0.0', port: 8443 },
      mcpUpstreams: [],
      admin: { host: '127.0.0.1', port: 9090 },
      policies: join(FIXTURES, 'policies'),
      identities: [
        {
          spiffeId: SpiffeId.parse('spiffe://example.org/agents/research-bot'),
          agent: 'research-bot',
          groups: ['researchers'],
          attributes: { team: 'research', tier: 'standard' },
        },
        { spiffeIdPrefix: 'spiffe://example.org/agents/ci/', groups: ['ci'], attributes: {} },
      ],
      upstreams: [
        {
          name: 'files',
          services: ['tools.files.v1.Files'],
          address: '127.0.0.1:7001',
          spiffeId: SpiffeId.parse('spiffe://example.org/tools/files'),
          protos: [join(FIXTURES, 'proto/examples/files.proto')],
          reflection: false,
        },
      ],
      metadata: { allow: [] },
      limits: {
        maxMessageBytes: 4194304,
        maxConnections: 1024,
        handshakesPerTurn: 8,
        handshakesPerSecond: 100,
        connectionIdleSeconds: 300,
        perCaller: { maxConcurrentCalls: 64, maxConnections: 64 },
        streamIdleSeconds: 300,
      },
      drainTimeoutSeconds: 15,
      decisionLog: { destination: 'stdout', checkpointRecords: 1000, checkpointSeconds: 10 },
      logLevel: 'info',
      policyEngine: { fastPath: true, fastPathCheckEvery: 1000 },
      reload: { watch: true, debounceMs: 300 },
      tasks: { maxTtlSeconds: 3600, maxOpenPerCaller: 32 },
      credentials: { rotateSeconds: 86400, upstreamTokenTtlSeconds: 60, upstreamTokenReuseSeconds: 5 },
      approvals: { holdSeconds: 30, defaultTtlSeconds: 600, maxTtlSeconds: 3600, maxPendingPerCaller: 16 },
      state: {},
    });
  });

  it("resolves relative paths against the config file's folder, not the working directory", () => {
    const cwd = process.cwd();
    process.chdir(join(FIXTURES, 'proto'));
    try {
      const config = loadConfig('../toolgate.yaml', {});
      expect(config.policies).toBe(join(FIXTURES, 'policies'));
      expect(config.upstreams[0]!.protos).toEqual([join(FIXTURES, 'proto/examples/files.proto')]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('takes $SPIFFE_ENDPOINT_SOCKET when the file names no endpoint, and validates it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-config-'));
    try {
      mkdirSync(join(dir, 'policies'));
      const file = join(dir, 'toolgate.yaml');
      writeFileSync(file, MINIMAL);
      expect(loadConfig(file, { SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/agent.sock' }).spiffe).toEqual({ endpointSocket: 'unix:///tmp/agent.sock' });
      expect(loadConfig(file, {}).spiffe).toEqual({});
      expect(loadConfig(file, { SPIFFE_ENDPOINT_SOCKET: '' }).spiffe).toEqual({});
      expect(() => loadConfig(file, { SPIFFE_ENDPOINT_SOCKET: 'tcp://localhost:1' })).toThrow(
        `${file}: spiffe.endpointSocket: invalid Workload API address "tcp://localhost:1" (from $SPIFFE_ENDPOINT_SOCKET): workload endpoint tcp socket URI host component must be an IP:port`,
      );
      writeFileSync(file, `spiffe: { endpointSocket: "tcp://127.0.0.1:8081" }\n${MINIMAL}`);
      expect(loadConfig(file, { SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/agent.sock' }).spiffe).toEqual({ endpointSocket: 'tcp://127.0.0.1:8081' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file when it cannot be read', () => {
    const missing = join(FIXTURES, 'missing.yaml');
    expect(() => loadConfig(missing, {})).toThrow(new ConfigError(missing, [{ path: '', message: 'cannot read the config file: file not found' }]));
  });
});

describe('parseConfig', () => {
  const parse = (text: string) => parseConfig(text, FIXTURES, 'toolgate.yaml');

  it('reads no environment: an absent endpoint stays undefined', () => {
    expect(parse(MINIMAL).spiffe).toEqual({});
  });

  it('parses listeners, IPv6 included, and admin: false', () => {
    const config = parse(`listen: "[::]:8443"\nadmin: false\n${MINIMAL}`);
    expect(config.listen).toEqual({ host: '::', port: 8443 });
    expect(config).not.toHaveProperty('admin');
    expect(parse(`listen: localhost:0\nadmin: "[::1]:9090"\n${MINIMAL}`)).toMatchObject({
      listen: { host: 'localhost', port: 0 },
      admin: { host: '::1', port: 9090 },
    });
  });

  it('reads every extension key', () => {
    const config = parse(`${MINIMAL}
metadata: { allow: [x-request-id, x-task-id] }
limits: { maxMessageBytes: 1048576, maxConcurrentStreams: 100, perCaller: { maxConcurrentCalls: 8 }, streamIdleSeconds: 1.5 }
drainTimeoutSeconds: 2.5
decisionLog: { destination: ./decisions.log }
logLevel: debug
`);
    expect(config).toMatchObject({
      metadata: { allow: ['x-request-id', 'x-task-id'] },
      limits: { maxMessageBytes: 1048576, maxConcurrentStreams: 100, perCaller: { maxConcurrentCalls: 8 }, streamIdleSeconds: 1.5 },
      drainTimeoutSeconds: 2.5,
      decisionLog: { destination: join(FIXTURES, 'decisions.log') },
      logLevel: 'debug',
    });
  });

  it("reads an upstream's reflection switch", () => {
    expect(parse(`${MINIMAL}    reflection: true\n`).upstreams[0]).toMatchObject({ protos: [], reflection: true });
    expect(parse(`${MINIMAL}    reflection:\n`).upstreams[0]).toMatchObject({ reflection: false });
  });

  it('takes an empty section or list (its contents commented out) as its default', () => {
    const config = parse(`${MINIMAL}    protos:
spiffe:
identities:
metadata:
  allow:
limits:
decisionLog:
`);
    expect(config).toMatchObject({
      spiffe: {},
      identities: [],
      metadata: { allow: [] },
      limits: { maxMessageBytes: 4194304 },
      decisionLog: { destination: 'stdout' },
    });
    expect(config.upstreams[0]!.protos).toEqual([]);
  });

  it('takes an empty limits.perCaller as its default', () => {
    expect(parse(`${MINIMAL}limits:\n  perCaller:\n`).limits).toMatchObject({ perCaller: { maxConcurrentCalls: 64 }, streamIdleSeconds: 300 });
  });

  it('keeps identity rules in order with integer and boolean attributes', () => {
    const config = parse(`${MINIMAL}
identities:
  - spiffeIdPrefix: spiffe://example.org/
    agent: anyone
    attributes: { level: 3, admin: false }
`);
    expect(config.identities).toEqual([{ spiffeIdPrefix: 'spiffe://example.org/', agent: 'anyone', groups: [], attributes: { level: 3, admin: false } }]);
  });
});
