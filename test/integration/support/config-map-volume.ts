import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A folder laid out and updated as the kubelet does a ConfigMap volume (its AtomicWriter):
 * the files live in a timestamped folder `..<ts>/`, `..data` links to it, and each key is
 * a link `name -> ..data/name`. An update writes a new timestamped folder, points a new
 * `..data_tmp` link at it, renames that over `..data` (the atomic step), fixes the key
 * links, and removes the old folder. No file a reader opens is ever written in place.
 */
export class ConfigMapVolume {
  private generation = 0;

  private constructor(readonly path: string) {}

  static create(path: string, files: Record<string, string>): ConfigMapVolume {
    mkdirSync(path, { recursive: true });
    const volume = new ConfigMapVolume(path);
    volume.update(files);
    return volume;
  }

  update(files: Record<string, string>): void {
    const previous = this.dataTarget();
    const next = `..2024_01_01_00_00_00.${++this.generation}`;
    mkdirSync(join(this.path, next));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.path, next, name), text);
    symlinkSync(next, join(this.path, '..data_tmp'));
    renameSync(join(this.path, '..data_tmp'), join(this.path, '..data'));
    for (const name of readdirSync(this.path)) {
      if (!name.startsWith('..') && !(name in files)) unlinkSync(join(this.path, name));
    }
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.path, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    if (previous !== undefined) rmSync(join(this.path, previous), { recursive: true, force: true });
  }

  private dataTarget(): string | undefined {
    try {
      return readlinkSync(join(this.path, '..data'));
    } catch {
      return undefined;
    }
  }
}
