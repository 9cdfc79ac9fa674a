import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReloadWatcher, type WatchPlan } from '../../../src/policy/reload-watcher';
import { ConfigMapVolume } from '../../integration/support/config-map-volume';

const DEBOUNCE_MS = 40;
/** Long enough for a burst's debounce to fire; inotify itself reports in well under a millisecond. */
const SETTLE_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ReloadWatcher', () => {
  let dir: string;
  let changes: number;
  let errors: string[];
  let watcher: ReloadWatcher;
  const plan = (folders: string[], relevant: WatchPlan['relevant'] = (n) => n.endsWith('.cedar') || n.startsWith('..')): WatchPlan => ({
    folders,
    relevant,
    debounceMs: DEBOUNCE_MS,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toolgate-watch-'));
    changes = 0;
    errors = [];
    watcher = new ReloadWatcher({ onChange: () => changes++, onError: (folder, err) => errors.push(`${folder}: ${err.message}`) });
  });
  afterEach(() => {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls onChange once for a burst of writes, and ignores names that are not relevant', async () => {
    watcher.update(plan([dir]));
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'a.cedar'), `// ${i}`);
    writeFileSync(join(dir, 'b.cedar'), '');
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);

    writeFileSync(join(dir, 'decisions.log'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);
  });

  it('sees an atomic save (write a temp file, rename it over the old one)', async () => {
    writeFileSync(join(dir, 'a.cedar'), 'old');
    watcher.update(plan([dir]));
    writeFileSync(join(dir, '.a.cedar.tmp'), 'new');
    renameSync(join(dir, '.a.cedar.tmp'), join(dir, 'a.cedar'));
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);
  });

  it('sees a Kubernetes ConfigMap update: the ..data link swapped, no key file written in place', async () => {
    const volume = ConfigMapVolume.create(join(dir, 'cm'), { 'a.cedar': 'one' });
    watcher.update(plan([volume.path], (n) => n.startsWith('..')));
    volume.update({ 'a.cedar': 'two' });
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);
  });

  it('re-arms on update when the watched path now resolves to another folder (link swapped, folder replaced)', async () => {
    mkdirSync(join(dir, 'v1'));
    mkdirSync(join(dir, 'v2'));
    symlinkSync('v1', join(dir, 'current'));
    const folder = join(dir, 'current');
    watcher.update(plan([folder]));

    unlinkSync(folder);
    symlinkSync('v2', folder);
    watcher.update(plan([folder]));
    writeFileSync(join(dir, 'v2', 'a.cedar'), 'x');
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);

    writeFileSync(join(dir, 'v1', 'a.cedar'), 'x'); // the old target is no longer watched
    await sleep(SETTLE_MS);
    expect(changes).toBe(1);
  });

  it('stops watching folders left out of the plan, and reports a folder it cannot watch', async () => {
    watcher.update(plan([dir, join(dir, 'missing')]));
    expect(watcher.folders).toEqual([dir]);
    expect(errors).toEqual([`${join(dir, 'missing')}: cannot watch ${join(dir, 'missing')}: not a folder`]);
    watcher.update(plan([]));
    writeFileSync(join(dir, 'a.cedar'), 'x');
    await sleep(SETTLE_MS);
    expect(changes).toBe(0);
  });

  it('runs no pending reload after close', async () => {
    watcher.update(plan([dir]));
    writeFileSync(join(dir, 'a.cedar'), 'x');
    await sleep(5);
    watcher.close();
    await sleep(SETTLE_MS);
    expect(changes).toBe(0);
  });
});
