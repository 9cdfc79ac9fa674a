import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main';
import { DecisionLog } from '../../../src/observability/decision-log';
import { NoteSigner } from '../../../src/observability/signed-note';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('toolgate audit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-audit-'));

  it('key prints a new signer key that vkey turns into its verifier key', async () => {
    const key = await cli(['audit', 'key', '--name', 'auditors-key']);
    expect(key).toMatchObject({ code: 0, out: expect.stringMatching(/^PRIVATE\+KEY\+auditors-key\+[0-9a-f]{8}\+\S+$/) });
    writeFileSync(join(dir, 'checkpoint.key'), `${key.out}\n`);
    const vkey = await cli(['audit', 'vkey', join(dir, 'checkpoint.key')]);
    expect(vkey).toMatchObject({ code: 0, out: NoteSigner.parse(key.out).verifier.verifierKey });
    expect((await cli(['audit', 'key', '--name', 'with space'])).code).toBe(2);
  });

  it('check and vkey exit 1 naming a checkpoint key file that holds no signer key, and never print its content', async () => {
    const verifierOnly = NoteSigner.generate('public-only').verifier.verifierKey;
    writeFileSync(join(dir, 'public.key'), verifierOnly);
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `policies: ${join(__dirname, '../../../policies')}
decisionLog: { checkpointKeyFile: ./public.key }
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files, protos: [${join(__dirname, '../../../proto/examples/files.proto')}] }
`,
    );
    for (const argv of [
      ['check', '--config', join(dir, 'toolgate.yaml')],
      ['audit', 'vkey', join(dir, 'public.key')],
    ]) {
      const { code, err } = await cli(argv);
      expect(code).toBe(1);
      expect(err).toContain(`checkpoint key file ${join(dir, 'public.key')}: a signer key is PRIVATE+KEY+`);
      // The key is everything after the name and the key id: its base64 may itself hold a '+'.
      expect(err).not.toContain(verifierOnly.split('+').slice(2).join('+'));
    }
  });

  it('verify: usage errors exit 2; without --keys it checks the chain and says signatures were not', async () => {
    expect((await cli(['audit', 'verify'])).code).toBe(2);
    writeFileSync(join(dir, 'bad-keys.txt'), 'not a key\n');
    expect(await cli(['audit', 'verify', '--keys', join(dir, 'bad-keys.txt'), 'x.log'])).toMatchObject({ code: 2, err: expect.stringContaining('key 1: a verifier key is') });
    expect((await cli(['audit', 'verify', '--at', 'yesterday', 'x.log'])).code).toBe(2);

    const lines: string[] = [];
    const log = new DecisionLog({ sink: { write: (l: string) => lines.push(l) }, checkpointSeconds: 10 });
    log.write({ decisionId: 'a-1', decision: 'allow', policySet: 'f00' });
    log.close();
    writeFileSync(join(dir, 'decisions.log'), `not json\n${lines.join('')}`);
    const { code, out } = await cli(['audit', 'verify', join(dir, 'decisions.log')]);
    expect(code).toBe(0);
    expect(out).toBe(`${log.origin}: 1 records, 2 checkpoints, closed\n1 other lines ignored\ncheckpoint signatures NOT checked: no --keys\nintact`);
  });
});
