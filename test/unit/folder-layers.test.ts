import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The folders of src/ import one way (docs/architecture.md, "Folders"): dependency-cruiser
 * checks src/ against the layers in .dependency-cruiser.cjs, so a new upward import, a new
 * folder cycle, an import of test code, or a module only tests use fails here.
 */

const ROOT = join(__dirname, '../..');
// dependency-cruiser is ESM only; its CLI runs in a process of its own (~3 s).
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}
interface CruiseResult {
  summary: { violations: Violation[]; totalCruised: number; ruleSetUsed: { forbidden: Array<{ name: string }> } };
}

let result: CruiseResult;

beforeAll(() => {
  // depcruise exits non-zero when it finds violations; the JSON on stdout lists them either way.
  let out: string;
  try {
    out = execFileSync(process.execPath, [DEPCRUISE, 'src', '--output-type', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string };
    if (!failed.stdout) throw new Error(`dependency-cruiser failed: ${failed.stderr ?? String(err)}`);
    out = failed.stdout;
  }
  result = JSON.parse(out) as CruiseResult;
}, 60_000);

describe('the folders of src/', () => {
  it('import only folders of lower layers, no test code, and hold only what ships', () => {
    const violations = result.summary.violations.map((v) => (v.from === v.to ? `${v.rule.name}: ${v.from}` : `${v.rule.name}: ${v.from} → ${v.to}`));
    expect(violations).toEqual([]);
    expect(result.summary.totalCruised).toBeGreaterThan(100);
  });

  it('each have a layer', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const layered = result.summary.ruleSetUsed.forbidden
      .map((rule) => /^layer-(.+)$/.exec(rule.name)?.[1])
      .filter((folder): folder is string => folder !== undefined)
      .sort();
    expect(layered).toEqual(folders);
  });
});
