/** Where a value sits in the config: map keys and list indexes, from the top. */
export type KeyPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The path as the user would write it: `upstreams[0].spiffeId`, `identities[1].attributes["a b"]`. */
export function formatKeyPath(path: KeyPath): string {
  if (path.length === 0) return 'top level';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * A key path from ajv's JSON Pointer (`/upstreams/0/name`). Whether a segment is a list
 * index depends on the data (a map may have the key "0"), so the data is walked along.
 */
export function keyPathFromPointer(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>)[segment] : undefined;
  }
  return path;
}
