import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from '../../../src/cli/node-flags';
import { WASM_INLINING_GUARD_FLAG } from '../../../src/policy/v8-guard';

const ROOT = join(__dirname, '../../..');

describe('the node flags production runs the gateway with', () => {
  it('are exactly what the image entrypoint passes, before the CLI', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
    expect(entry).not.toBeNull();
    expect(JSON.parse(entry![1]!)).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'dist/cli/main.js']);
  });

  it('include the V8 guard for cedar-wasm', () => {
    expect(GATEWAY_NODE_FLAGS).toContain(WASM_INLINING_GUARD_FLAG);
  });

  it('are flags this node accepts', () => {
    // node exits non-zero ("bad option") for a flag it does not know.
    const { status, stderr } = spawnSync(process.execPath, [...GATEWAY_NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('missingNodeFlags', () => {
  it('names the memory flags a process was started without, from the command line or NODE_OPTIONS, never the V8 guard', () => {
    expect(missingNodeFlags([], '')).toEqual(['--max-semi-space-size=4', '--no-liftoff', '--no-memory-reducer']);
    expect(missingNodeFlags(['--no-liftoff'], '')).toEqual(['--max-semi-space-size=4', '--no-memory-reducer']);
    expect(missingNodeFlags(['--no-liftoff', '--no-memory-reducer'], '--max-semi-space-size=4 --enable-source-maps')).toEqual([]);
    expect(missingNodeFlags([...GATEWAY_NODE_FLAGS], '')).toEqual([]);
  });
});
