import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidValueError } from '../errors/invalid-value-error';

/*
 * Paths in the config resolve against the config file's folder and are checked at load,
 * so that a wrong path stops the gateway at start with the key named, not at first use.
 * Each function returns the absolute path or throws `InvalidValueError` with the reason.
 */

export function existingDirectory(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const stats = stat(absolute);
  if (!stats) throw new InvalidValueError(`directory not found: ${absolute}`);
  if (!stats.isDirectory()) throw new InvalidValueError(`not a directory: ${absolute}`);
  return absolute;
}

export function existingFile(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const stats = stat(absolute);
  if (!stats) throw new InvalidValueError(`file not found: ${absolute}`);
  if (!stats.isFile()) throw new InvalidValueError(`not a file: ${absolute}`);
  return absolute;
}

/** A file to write: its folder must exist; the file itself may not yet. */
export function writableFileLocation(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const folder = stat(dirname(absolute));
  if (!folder?.isDirectory()) throw new InvalidValueError(`folder not found: ${dirname(absolute)}`);
  if (stat(absolute)?.isDirectory()) throw new InvalidValueError(`is a directory: ${absolute}`);
  return absolute;
}

function stat(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}
