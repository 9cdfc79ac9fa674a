import type { KeyPath } from './key-path';
import { errorMessage } from '../errors/unknown-error';

export interface PathIssue {
  path: KeyPath;
  message: string;
}

/**
 * The problems found in one config, collected so that all of them are reported at once.
 * One problem per key path: the schema pass runs first, so a value of the wrong type is
 * reported as such and not again by the checks that run after it.
 */
export class IssueList {
  private readonly byPath = new Map<string, PathIssue>();

  add(path: KeyPath, message: string): void {
    const key = JSON.stringify(path);
    if (!this.byPath.has(key)) this.byPath.set(key, { path, message });
  }

  /** Runs `check`; what it throws (`InvalidValueError`, `SpiffeIdError`) becomes an issue at `path`, after `context` if given. */
  check<T>(path: KeyPath, context: string | undefined, check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      const reason = errorMessage(err);
      this.add(path, context === undefined ? reason : `${context}: ${reason}`);
      return undefined;
    }
  }

  get size(): number {
    return this.byPath.size;
  }

  list(): PathIssue[] {
    return [...this.byPath.values()];
  }
}
