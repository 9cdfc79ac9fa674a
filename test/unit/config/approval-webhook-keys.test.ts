import { join } from 'node:path';
import { parseConfig } from '../../../src/config';
import { configErrors, FIXTURES } from './support/config-errors';

const BASE = `spiffe: { trustDomains: [example.org] }
policies: policies
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
`;

describe('config keys of approvals.webhook', () => {
  it('is off by default', () => {
    expect(parseConfig(BASE, FIXTURES).approvals.webhook).toBeUndefined();
  });

  it('takes an https URL and a secret file resolved against the config folder, with defaults', () => {
    const config = parseConfig(`${BASE}approvals: { webhook: { url: "https://chat.example/hooks/T1/abc", secretFile: toolgate.yaml } }\n`, FIXTURES);
    expect(config.approvals.webhook).toEqual({
      url: new URL('https://chat.example/hooks/T1/abc'),
      secretFile: join(FIXTURES, 'toolgate.yaml'),
      timeoutSeconds: 10,
      maxAttempts: 10,
      maxQueued: 1000,
    });
    const loopback = parseConfig(
      `${BASE}approvals: { webhook: { url: "http://127.0.0.1:9000/h", secretFile: toolgate.yaml, timeoutSeconds: 3, maxAttempts: 2, maxQueued: 5 } }\n`,
      FIXTURES,
    );
    expect(loopback.approvals.webhook).toMatchObject({ url: new URL('http://127.0.0.1:9000/h'), timeoutSeconds: 3, maxAttempts: 2, maxQueued: 5 });
  });

  it('refuses plain http off loopback, credentials in the URL, a missing secret file, and never prints the URL', () => {
    const errors = configErrors(`${BASE}approvals: { webhook: { url: "http://chat.example/hooks/T1/s3cr3t", secretFile: nothing.secret } }\n`).join('\n');
    expect(errors).toMatch(/approvals\.webhook\.url: http is allowed to a loopback host only/);
    expect(errors).toMatch(/approvals\.webhook\.secretFile: file not found/);
    expect(errors).not.toContain('s3cr3t');
    expect(configErrors(`${BASE}approvals: { webhook: { url: "https://u:p@chat.example/", secretFile: toolgate.yaml } }\n`).join('\n')).toMatch(/must not hold credentials/);
    expect(configErrors(`${BASE}approvals: { webhook: { url: "ftp://chat.example/", secretFile: toolgate.yaml } }\n`).join('\n')).toMatch(/must be https/);
    expect(configErrors(`${BASE}approvals: { webhook: { secretFile: toolgate.yaml } }\n`).join('\n')).toMatch(/approvals\.webhook.*url/);
    expect(configErrors(`${BASE}approvals: { webhook: { url: "https://a.example/", secretFile: toolgate.yaml, timeoutSeconds: 0 } }\n`).join('\n')).toMatch(/timeoutSeconds/);
  });
});
