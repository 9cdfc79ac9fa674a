import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '../../../..');
const COMMITTED = join(ROOT, 'src/spiffe/workload/generated');

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.set(relative(dir, join(entry.parentPath, entry.name)), readFileSync(join(entry.parentPath, entry.name), 'utf8'));
  }
  return out;
}

/**
 * The Workload API message types are generated from proto/spiffe/workload/workload.proto and
 * committed. This regenerates them into a temp dir with the same script and fails when the
 * committed copy differs: run `npm run generate:workload-api` after editing the proto or
 * updating @grpc/proto-loader.
 */
describe('generated Workload API types', () => {
  let fresh: string;

  beforeAll(() => {
    fresh = mkdtempSync(join(tmpdir(), 'tg-gen-'));
    execFileSync(process.execPath, [join(ROOT, 'scripts/generate-workload-api-types.js'), fresh], { cwd: ROOT, stdio: 'pipe' });
  });

  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it('are what npm run generate:workload-api makes from the proto today', () => {
    const expected = files(fresh);
    const committed = files(COMMITTED);
    expect([...committed.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected) expect([path, committed.get(path)]).toEqual([path, text]);
  });

  it('cover every message and the service of the proto', () => {
    const messages = [...readFileSync(join(ROOT, 'proto/spiffe/workload/workload.proto'), 'utf8').matchAll(/^message (\w+)/gm)].map((m) => `${m[1]}.ts`);
    expect(messages.length).toBeGreaterThan(10);
    expect([...files(COMMITTED).keys()]).toEqual(expect.arrayContaining([...messages, 'SpiffeWorkloadAPI.ts', 'workload.ts']));
  });
});
