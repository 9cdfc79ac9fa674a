import { configErrors, FIXTURES } from './support/config-errors';
import { join } from 'node:path';
import { configSchema, DEFAULTS, parseConfig } from '../../../src/config';

const BASE = `policies: policies
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
`;

describe('config keys of hot reload and shadow policies', () => {
  it('defaults: watching on with a 300 ms debounce, no shadow folder named (the loader looks for <policies>/shadow)', () => {
    const config = parseConfig(BASE, FIXTURES);
    expect(config.reload).toEqual({ watch: true, debounceMs: 300 });
    expect('shadowPolicies' in config).toBe(false);
    expect(configSchema.properties.reload.properties.watch.default).toBe(DEFAULTS.reloadWatch);
    expect(configSchema.properties.reload.properties.debounceMs.default).toBe(DEFAULTS.reloadDebounceMs);
  });

  it('takes reload settings and a shadow folder, resolved against the config file folder', () => {
    const config = parseConfig(`${BASE}shadowPolicies: proto\nreload: { watch: false, debounceMs: 0 }\n`, FIXTURES);
    expect(config.shadowPolicies).toBe(join(FIXTURES, 'proto'));
    expect(config.reload).toEqual({ watch: false, debounceMs: 0 });
    expect(parseConfig(`${BASE}reload:\n`, FIXTURES).reload).toEqual({ watch: true, debounceMs: 300 });
  });

  it('names the key of a missing shadow folder and of bad reload settings', () => {
    expect(configErrors(`${BASE}shadowPolicies: nowhere\n`)).toEqual([`toolgate.yaml:4: shadowPolicies: directory not found: ${join(FIXTURES, 'nowhere')}`]);
    expect(configErrors(`${BASE}reload: { watch: yes, debounceMs: -1, every: 5 }\n`)).toEqual([
      'toolgate.yaml:4: reload.every: unknown key',
      'toolgate.yaml:4: reload.watch: must be a boolean, not the string "yes"',
      'toolgate.yaml:4: reload.debounceMs: must be at least 0, not -1',
    ]);
  });
});
