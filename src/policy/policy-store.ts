import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyError } from './errors';
import { PolicyEngine, type PolicyEngineOptions } from './policy-engine';
import { PolicySet } from './policy-set';
import { ShadowedEngine, type ShadowedEngineOptions } from './shadowed-engine';

/** The shadow folder used when none is configured: a sub-folder of the live one. */
export const DEFAULT_SHADOW_FOLDER = 'shadow';

/** Where the policies come from. */
export interface PolicyFolders {
  /** The live set's folder. */
  readonly live: string;
  /** The candidate set's folder, if any. */
  readonly shadow: string | undefined;
}

/**
 * The policies in force: the live set, the optional shadow set, and the engine that
 * decides with them. Immutable; a reload builds a new one and swaps it in as a whole, so
 * the shadow set always reloads with the live one.
 */
export interface LoadedPolicies {
  readonly folders: PolicyFolders;
  /** Digest of the folders' files as read for this load; undefined when they could not all be read. */
  readonly digest: string | undefined;
  readonly live: PolicySet;
  readonly shadow: PolicySet | undefined;
  /** A `ShadowedEngine` when there is a shadow set. */
  readonly engine: PolicyEngine;
}

export type PolicyStoreOptions = Pick<ShadowedEngineOptions, 'onDisagreement' | 'onError'> & {
  /** The engines' fast path (policy-engine.ts); off when absent. */
  readonly engine?: Pick<PolicyEngineOptions, 'fastPath' | 'fastPathCheckEvery' | 'onFastPathDisagreement' | 'evaluations'>;
};

/**
 * The folders to load: `shadow` as configured, else `<live>/shadow` when that folder
 * exists. The default is looked up at every load, so creating the folder later (and
 * reloading) starts shadow evaluation, and removing it stops it.
 */
export function policyFolders(live: string, shadow: string | undefined): PolicyFolders {
  if (shadow !== undefined) return { live, shadow };
  const fallback = join(live, DEFAULT_SHADOW_FOLDER);
  return { live, shadow: statSync(fallback, { throwIfNoEntry: false })?.isDirectory() ? fallback : undefined };
}

/**
 * Loads both sets. Either one failing refuses the whole load with a `PolicyError` whose
 * message names the set and its folder (its problems name the files and policies): a
 * broken candidate is reported like a broken live set, never half applied.
 *
 * With `previous`, unchanged folders return `previous` itself, engine and decision cache
 * included, so a reload that changed nothing (or only the config) costs the calls nothing.
 * Unchanged is decided before parsing, by a digest of the files: loading is ~1 ms per
 * policy, all of it on the event loop, so re-parsing 10 000 unchanged policies on every
 * config edit would stall calls for seconds. The digest covers every file in the folders,
 * a superset of what a set reads, so a change can cause a needless load but never be missed.
 */
export function loadPolicies(folders: PolicyFolders, options: PolicyStoreOptions, previous?: LoadedPolicies): LoadedPolicies {
  const digest = folderDigest(folders);
  if (previous !== undefined && digest !== undefined && digest === previous.digest) return previous;
  const live = loadSet('policies', folders.live);
  const shadow = folders.shadow === undefined ? undefined : loadSet('shadow policies', folders.shadow);
  // Same sets from different bytes (a file that no set reads changed): keep the warm engine.
  if (previous !== undefined && sameSets(previous, folders, live, shadow)) return { ...previous, digest };
  const engine = shadow === undefined ? new PolicyEngine(live, options.engine) : new ShadowedEngine(live, shadow, { ...options, ...options.engine });
  return { folders, digest, live, shadow, engine };
}

function loadSet(what: string, folder: string): PolicySet {
  try {
    return PolicySet.loadDirectory(folder);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    // The first line is the summary; the problems follow it (see PolicyError).
    const summary = (err.message.split('\n')[0] as string).replace(/:$/, '');
    throw new PolicyError(err.code, `${what} in ${folder}: ${summary}`, { problems: err.problems, cause: err });
  }
}

/** sha256 over each folder's path and the name and bytes of every file directly in it (links followed). */
function folderDigest(folders: PolicyFolders): string | undefined {
  const hash = createHash('sha256');
  try {
    for (const folder of [folders.live, folders.shadow]) {
      hash.update(`folder\0${folder ?? ''}\0`);
      if (folder === undefined) continue;
      for (const name of readdirSync(folder).sort()) {
        const path = join(folder, name);
        if (!statSync(path).isFile()) continue;
        const bytes = readFileSync(path);
        // Lengths delimit: no name or content boundary can move without changing the digest.
        hash.update(`${name}\0${bytes.length}\0`).update(bytes);
      }
    }
  } catch {
    return undefined; // unreadable (a dangling link, a folder gone): load, and let loading say why
  }
  return hash.digest('hex');
}

function sameSets(previous: LoadedPolicies, folders: PolicyFolders, live: PolicySet, shadow: PolicySet | undefined): boolean {
  const sameFolders = previous.folders.live === folders.live && previous.folders.shadow === folders.shadow;
  return sameFolders && previous.live.hash === live.hash && previous.shadow?.hash === shadow?.hash;
}
