import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'node_modules/.bin');

/**
 * `toolgate/spiffe` as a user gets it: the package is built with tsc into a temp dir laid out
 * as `npm pack` would ship it (package.json and its "files": dist, proto), installed as
 * node_modules/toolgate beside the real dependencies. Then publint lints it (failing on
 * warnings too), a fresh Node process imports it, and tsc compiles the docs' examples and
 * the entry points against the built declarations through the "exports" map.
 */
describe('the built toolgate package', () => {
  let dir: string;
  let pkg: string;

  const run = (file: string, args: string[], options: ExecFileSyncOptions = {}): string => {
    try {
      return execFileSync(file, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe', ...options }) as string;
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      throw new Error(`${file} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tg-pkg-'));
    const modules = join(dir, 'node_modules');
    pkg = join(modules, 'toolgate');
    mkdirSync(pkg, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    run(join(BIN, 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--sourceMap', 'false', '--declarationMap', 'false']);
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    for (const entry of manifest.files.filter((f) => f !== 'dist')) cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== 'toolgate' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    }
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes publint with warnings counted as errors', () => {
    const out = run(join(BIN, 'publint'), ['run', pkg, '--pack', 'false', '--strict']);
    expect(out).toContain('All good!');
  });

  it('imports toolgate/spiffe in a fresh process without touching any global; toolgate/spiffe/dev installs reflect-metadata', () => {
    const probe = `
      const snapshot = () => ({ globals: Object.getOwnPropertyNames(globalThis), reflect: Reflect.ownKeys(Reflect).map(String) });
      const added = (before) => { const now = snapshot(); return { globals: now.globals.filter((k) => !before.globals.includes(k)), reflect: now.reflect.filter((k) => !before.reflect.includes(k)) }; };
      const before = snapshot();
      const spiffe = require('toolgate/spiffe');
      const afterMain = added(before);
      require('toolgate/spiffe/dev');
      console.log(JSON.stringify({ exports: Object.keys(spiffe).length, afterMain, afterDev: added(before) }));
    `;
    const result = JSON.parse(run(process.execPath, ['-e', probe])) as {
      exports: number;
      afterMain: { globals: string[]; reflect: string[] };
      afterDev: { globals: string[]; reflect: string[] };
    };
    expect(result.exports).toBe(36);
    expect(result.afterMain).toEqual({ globals: [], reflect: [] });
    expect(result.afterDev.reflect).toEqual(expect.arrayContaining(['getMetadata', 'defineMetadata']));
  });

  it('type-checks the docs examples and both entry points against the built declarations, and hides the internals', () => {
    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    const examples = readFileSync(join(ROOT, 'test/types/spiffe-examples.ts'), 'utf8');
    expect(examples).toContain("from '../../src/spiffe/index'");
    expect(examples).toContain("from '../../src/spiffe/dev/index'");
    const asUser = examples.replace("from '../../src/spiffe/index'", "from 'toolgate/spiffe'").replace("from '../../src/spiffe/dev/index'", "from 'toolgate/spiffe/dev'");
    expect(asUser).not.toContain('../src/');
    writeFileSync(join(consumer, 'examples.ts'), asUser);
    writeFileSync(
      join(consumer, 'entries.ts'),
      [
        "import { X509Source } from 'toolgate/spiffe';",
        "import { DevIdentityProvider } from 'toolgate/spiffe/dev';",
        '// @ts-expect-error internals are not exported',
        "import { WireClient } from 'toolgate/spiffe/workload/wire-client';",
        'export const used = [X509Source, DevIdentityProvider, WireClient];',
      ].join('\n'),
    );
    // A CommonJS project, as strict as ours, that also checks declaration files (skipLibCheck
    // off) so that an error in toolgate's own .d.ts fails here.
    const compilerOptions = { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2023'], types: ['node'], noEmit: true, skipLibCheck: false };
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    let output = '';
    try {
      execFileSync(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      output = (err as { stdout: string }).stdout;
    }
    // Errors inside other packages' declarations are theirs (@peculiar/x509 assumes the DOM
    // lib, for one) and a user's skipLibCheck hides them; ours and the consumer's are kept.
    const errors = output.split('\n').filter((line) => {
      const file = /^(\S+)\(\d+,\d+\): error/.exec(line)?.[1];
      return file !== undefined && (!file.includes('node_modules/') || file.includes('node_modules/toolgate/'));
    });
    expect(errors).toEqual([]);
  });
});
