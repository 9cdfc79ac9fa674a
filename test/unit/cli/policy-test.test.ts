import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/main';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLE = join(ROOT, 'examples/toolgate.yaml');

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out, err: err.join('\n') };
}

function testFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tg-policy-test-')), 'cases.test.yaml');
  writeFileSync(file, text);
  return file;
}

const READ = 'tools.files.v1.Files/ReadFile';

describe('toolgate policy test', () => {
  it('passes every case of the example policies\' own test file (policies/example.test.yaml)', async () => {
    const { code, out, err } = await cli(['policy', 'test', join(ROOT, 'policies/example.test.yaml')]);
    expect(err).toBe('');
    expect(out.filter((line) => !line.startsWith('✓ '))).toEqual([`${out.length - 1} passed, 0 failed`]);
    expect(out.length).toBeGreaterThan(10);
    expect(code).toBe(0);
  });

  it('reports each failing case with what it expected and what it got, and exits 1', async () => {
    const file = testFile(`config: ${EXAMPLE}
cases:
  - name: passes
    principal: research-bot
    action: ${READ}
    request: { path: /reports/q3.md, maxBytes: 0 }
    expect: allow
  - name: wrong decision
    principal: research-bot
    action: ${READ}
    request: { path: /secrets/k, maxBytes: 0 }
    expect: allow
  - name: wrong policies
    principal: build-7
    action: ${READ}
    request: { path: /reports/q3.md, maxBytes: 0 }
    expect: allow
    policies: [researchers-read-files]
  - name: a deny that only an error made
    principal: research-bot
    action: ${READ}
    expect: deny
  - name: a header the gateway would drop
    principal: research-bot
    action: ${READ}
    metadata: { x-other: a }
    request: { path: /a, maxBytes: 0 }
    expect: deny
`);
    const { code, out } = await cli(['policy', 'test', file]);
    expect(out).toEqual([
      '✓ passes',
      '✗ wrong decision: expected allow, got deny (policies: no-reading-secrets)',
      '✗ wrong policies: expected allow by policies researchers-read-files, got allow by ci-uses-files',
      '✗ a deny that only an error made: expected deny, got deny with errors: policy "no-reading-secrets": record does not have the attribute `request`',
      "✗ a header the gateway would drop: cannot build the request: metadata x-other not in the config's metadata.allow: the gateway never passes it to policies",
      '1 passed, 4 failed',
    ]);
    expect(code).toBe(1);
  });

  it('resolves agent names and SPIFFE IDs through the identity rules, as the gateway does', async () => {
    const file = testFile(`cases:
  - name: exact rule
    principal: research-bot
    action: ${READ}
    request: { path: /a, maxBytes: 0 }
    context: { peer: { spiffeId: spiffe://example.org/agents/research-bot, trustDomain: example.org, authn: x509-svid } }
    expect: allow
    policies: [researchers-read-files]
  - name: prefix rule, by name
    principal: build-7
    action: ${READ}
    request: { path: /a, maxBytes: 0 }
    expect: allow
    policies: [ci-uses-files]
  - name: unmapped SPIFFE ID is a Workload
    principal: spiffe://example.org/tools/indexer
    action: tools.files.v1.Files/WriteFile
    request: { path: /a, data: "" }
    context: { stream: { index: 0 } }
    expect: deny
    policies: [workloads-never-write]
  - name: foreign trust domain
    principal: spiffe://evil.example/agents/research-bot
    action: ${READ}
    expect: deny
  - name: unknown service
    principal: research-bot
    action: tools.mail.v1.Mail/Send
    expect: deny
`);
    const { out } = await cli(['policy', 'test', file, '--config', EXAMPLE]);
    expect(out).toEqual([
      '✓ exact rule',
      '✓ prefix rule, by name',
      '✓ unmapped SPIFFE ID is a Workload',
      expect.stringMatching(/^✗ foreign trust domain: cannot build the request: .*trust domain "evil\.example", which is not accepted/),
      '✗ unknown service: cannot build the request: no upstream routes service "tools.mail.v1.Mail" of action "tools.mail.v1.Mail/Send"; give the resource',
      '3 passed, 2 failed',
    ]);
  });

  it('refuses a malformed test file, naming each problem by line', async () => {
    const file = testFile(`config: ${EXAMPLE}
cases:
  - name: typo
    principal: { type: Robot, id: r }
    action: ReadFile
    expected: allow
    request: { ratio: 0.5, note: null }
  - 3
`);
    const { code, out, err } = await cli(['policy', 'test', file]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err.split('\n')).toEqual([
      `toolgate policy: ${file} cannot be used:`,
      `  ${file}:3: cases[0].expect: must be allow or deny`,
      `  ${file}:4: cases[0].principal: must be an agent name, a SPIFFE ID, or {type: Agent|Workload, id, attrs?, groups?}`,
      `  ${file}:5: cases[0].action: must be "<package.Service>/<Method>"`,
      `  ${file}:6: cases[0].expected: unknown key (expected name, principal, action, resource, authn, metadata, request, context, expect, policies)`,
      `  ${file}:7: cases[0]: request.ratio: 0.5 is not a Cedar Long (an integer within ±(2^53 - 1))`,
      `  ${file}:8: cases[1]: must be a mapping (name, principal, action, expect, ...)`,
    ]);
  });

  it('needs one FILE and a config, from --config or the file', async () => {
    const file = testFile(`cases:\n  - { name: x, principal: research-bot, action: ${READ}, expect: deny }\n`);
    expect(await cli(['policy', 'test', file])).toMatchObject({ code: 2, err: expect.stringContaining('no config: give --config FILE') });
    expect(await cli(['policy', 'test'])).toMatchObject({ code: 2, err: expect.stringContaining('expected one test FILE, got 0') });
    expect(await cli(['policy', 'test', join(tmpdir(), 'no-such.test.yaml'), '--config', EXAMPLE])).toMatchObject({ code: 1, err: expect.stringContaining('file not found') });
  });
});
