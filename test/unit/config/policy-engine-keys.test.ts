import { configErrors, FIXTURES } from './support/config-errors';
import { configSchema, DEFAULTS, parseConfig } from '../../../src/config';
import { reloadableConfig } from '../../../src/server/reloadable-config';

const BASE = `policies: policies
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
`;

describe('config keys of the policy engine', () => {
  it('defaults: the fast path off, and one fast decision in 1000 checked by cedar-wasm when it is on', () => {
    expect(parseConfig(BASE, FIXTURES).policyEngine).toEqual({ fastPath: true, fastPathCheckEvery: 1000 });
    expect(parseConfig(`${BASE}policyEngine:\n`, FIXTURES).policyEngine).toEqual({ fastPath: true, fastPathCheckEvery: 1000 });
    expect(configSchema.properties.policyEngine.properties.fastPath.default).toBe(DEFAULTS.policyFastPath);
    expect(configSchema.properties.policyEngine.properties.fastPathCheckEvery.default).toBe(DEFAULTS.policyFastPathCheckEvery);
  });

  it('takes the switch and the sampling rate; a reload keeps the running ones', () => {
    const on = parseConfig(`${BASE}policyEngine: { fastPath: false, fastPathCheckEvery: 0 }\n`, FIXTURES);
    expect(on.policyEngine).toEqual({ fastPath: false, fastPathCheckEvery: 0 });
    const { config, restartNeeded } = reloadableConfig(parseConfig(BASE, FIXTURES), on);
    expect(config.policyEngine.fastPath).toBe(true);
    expect(restartNeeded).toContain('policyEngine');
  });

  it('names bad values', () => {
    expect(configErrors(`${BASE}policyEngine: { fastPath: yes, fastPathCheckEvery: -1, turbo: true }\n`)).toEqual([
      'toolgate.yaml:4: policyEngine.turbo: unknown key',
      'toolgate.yaml:4: policyEngine.fastPath: must be a boolean, not the string "yes"',
      'toolgate.yaml:4: policyEngine.fastPathCheckEvery: must be at least 0, not -1',
    ]);
  });
});
