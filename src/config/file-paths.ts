import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/*
 * Paths in the config resolve against the config file's folder and are checked at load,
 * so that a wrong path stops the gateway at start with the key named, not at first use.
 * Each function returns the absolute path or throws `Error` with the reason.
 */

export function existingDirectory(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const stats = stat(absolute);
  if (!stats) throw new Error(`directory not found: ${absolute}`);
  if (!stats.isDirectory()) throw new Error(`not a directory: ${absolute}`);
  return absolute;
}

export function existingFile(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const stats = stat(absolute);
  if (!stats) throw new Error(`file not found: ${absolute}`);
  if (!stats.isFile()) throw new Error(`not a file: ${absolute}`);
  return absolute;
}

/** A file to write: its folder must exist; the file itself may not yet. */
export function writableFileLocation(path: string, baseDir: string): string {
  const absolute = resolve(baseDir, path);
  const folder = stat(dirname(absolute));
  if (!folder?.isDirectory()) throw new Error(`folder not found: ${dirname(absolute)}`);
  if (stat(absolute)?.isDirectory()) throw new Error(`is a directory: ${absolute}`);
  return absolute;
}

function stat(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}
