/**
 * Importing `toolgate/spiffe` must leave the process as it was: no global added or changed
 * (as `reflect-metadata` adds `Reflect.getMetadata`, or tslib's CommonJS build its
 * `__extends` and friends), no file read. Each entry is loaded in a fresh module registry;
 * the same check against the built package, in a fresh process, is in
 * test/package/spiffe-package.test.ts.
 */
function globalState(): { globals: string[]; reflect: (string | symbol)[] } {
  return { globals: Object.getOwnPropertyNames(globalThis).sort(), reflect: Reflect.ownKeys(Reflect).map(String).sort() };
}

describe('importing toolgate/spiffe', () => {
  it('adds no global and reads no file', () => {
    const before = globalState();
    const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
    const reads = jest.spyOn(fs, 'readFileSync');
    let entry: Record<string, unknown> = {};
    jest.isolateModules(() => {
      entry = jest.requireActual('../../../src/spiffe/index');
    });
    expect(Object.keys(entry)).toContain('X509Source');
    // jest itself reads the module files through its own fs; a read by the library would be of the proto.
    expect(reads.mock.calls.map((c) => String(c[0])).filter((p) => p.endsWith('.proto'))).toEqual([]);
    reads.mockRestore();
    expect(globalState()).toEqual(before);
  });

  it('toolgate/spiffe/dev, by contrast, installs reflect-metadata (so the check above can fail)', () => {
    const before = globalState();
    expect(typeof (Reflect as unknown as Record<string, unknown>).getMetadata).toBe('undefined');
    jest.isolateModules(() => {
      jest.requireActual('../../../src/spiffe/dev/index');
    });
    expect(typeof (Reflect as unknown as Record<string, unknown>).getMetadata).toBe('function');
    expect(globalState()).not.toEqual(before);
  });
});
