import { statSync, watch, type FSWatcher } from 'node:fs';
import { asError } from '../errors/unknown-error';
import { InvalidValueError } from '../errors/invalid-value-error';

/** What to watch; replaced as a whole by `ReloadWatcher.update`. */
export interface WatchPlan {
  /** Folders whose entries are watched (not the files themselves; see ReloadWatcher). */
  readonly folders: readonly string[];
  /** Whether a change to the entry `name` of a watched folder calls for a reload. */
  relevant(name: string): boolean;
  /** Quiet time after the last relevant change before `onChange` runs. */
  readonly debounceMs: number;
}

export interface ReloadWatcherOptions {
  /** Runs once per burst of relevant changes. */
  onChange(): void;
  /** A folder could not be watched, or its watch failed; it is retried at the next `update`. */
  onError(folder: string, err: Error): void;
}

interface FolderWatch {
  watcher: FSWatcher;
  /** Device and inode of the folder watched: a different one at the same path means re-arm. */
  identity: string;
}

/**
 * Watches folders for changes to the files a reload reads, and calls `onChange` once per
 * burst (trailing debounce): an editor's save or a `kubectl apply` is several events.
 *
 * Folders, not files, are watched. A watch on a file follows its inode, which an atomic
 * save (write a temp file, rename it over) or a Kubernetes ConfigMap update replaces: a
 * ConfigMap volume holds `name -> ..data/name` links and `..data -> ..<timestamp>/`, and an
 * update writes a new timestamped folder and renames a new `..data` link over the old one.
 * In the folder that shows as events on `..data`, `..data_tmp` and `..<timestamp>`, which
 * the plan's `relevant` should accept; the reload then re-reads through the links.
 *
 * A watched path that is itself a link (or a folder that was deleted and recreated) is
 * re-armed by `update` when the folder it resolves to changes, so the caller calls
 * `update` after every reload. Watches do not keep the process alive.
 */
export class ReloadWatcher {
  private readonly watches = new Map<string, FolderWatch>();
  private plan: WatchPlan = { folders: [], relevant: () => false, debounceMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ReloadWatcherOptions) {}

  /** Watches exactly `plan.folders` from now on; an empty list stops watching. */
  update(plan: WatchPlan): void {
    if (this.closed) return;
    this.plan = plan;
    const wanted = new Set(plan.folders);
    for (const [folder, current] of this.watches) {
      if (!wanted.has(folder) || current.identity !== identityOf(folder)) this.unwatch(folder);
    }
    for (const folder of wanted) if (!this.watches.has(folder)) this.watchFolder(folder);
  }

  /** The folders being watched now. */
  get folders(): string[] {
    return [...this.watches.keys()];
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const folder of [...this.watches.keys()]) this.unwatch(folder);
  }

  private watchFolder(folder: string): void {
    const identity = identityOf(folder);
    if (identity === undefined) {
      this.options.onError(folder, new InvalidValueError(`cannot watch ${folder}: not a folder`));
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        // Some platforms do not say which entry changed: then it may be any of them.
        if (name === null || this.plan.relevant(name.toString())) this.changed();
      });
    } catch (err) {
      this.options.onError(folder, asError(err));
      return;
    }
    watcher.on('error', (err) => {
      this.unwatch(folder);
      this.options.onError(folder, err);
    });
    this.watches.set(folder, { watcher, identity });
  }

  private unwatch(folder: string): void {
    this.watches.get(folder)?.watcher.close();
    this.watches.delete(folder);
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.options.onChange(), this.plan.debounceMs);
    this.timer.unref();
  }
}

/** `dev:ino` of the folder `path` resolves to, or undefined when it is not a folder. */
function identityOf(path: string): string | undefined {
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    return stats?.isDirectory() ? `${stats.dev}:${stats.ino}` : undefined;
  } catch {
    return undefined; // unreadable: watching it would fail too
  }
}
