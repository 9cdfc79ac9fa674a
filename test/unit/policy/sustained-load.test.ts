import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Guards against the V8 abort that Node 20.20.2 hits when cedar-wasm is called on every
 * request (src/policy/v8-guard.ts): the process dies with "unreachable code" in
 * `Deoptimizer::DoComputeBuiltinContinuation` when a function whose JS→Wasm call TurboFan
 * inlined is deoptimized while that call is on the stack. Under real load that takes a rare
 * coincidence; the child below first makes it happen on purpose to the engine's own
 * `authorize` (V8 intrinsics, --allow-natives-syntax), then runs uncached decisions for a
 * few seconds while another task churns the heap and the event loop, checking each one.
 * Without the guard the child aborts at the first step, every time.
 *
 * The child is a plain node process, not jest: code in jest's vm context never got the
 * wasm call inlined, so the abort did not reproduce there even without the guard.
 */
const RUN_MS = 3000;

describe('sustained load', () => {
  it('decides every call correctly, uncached, for a few seconds while the event loop churns, and never aborts', () => {
    const child = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--require', join(__dirname, 'support/register-ts.js'), join(__dirname, 'support/sustained-load-worker.ts'), String(RUN_MS)],
      { encoding: 'utf8', timeout: RUN_MS + 20_000 },
    );
    // An abort shows as SIGTRAP or SIGABRT, with V8's "Fatal error ... unreachable code" on stderr.
    expect({ signal: child.signal, status: child.status, stderr: child.stderr.slice(0, 2000) }).toEqual({ signal: null, status: 0, stderr: '' });
    const result = JSON.parse(child.stdout) as { trap: { optimized: boolean; trapped: number; allow: boolean }; decisions: number; wrong: string[] };
    // The trap really ran inside an optimized authorize, and the decision was still right.
    expect(result.trap).toEqual({ optimized: true, trapped: 1, allow: true });
    expect(result.wrong).toEqual([]);
    // Wasm starts slow (~1.5 ms a decision until V8 tiers it up): enough to show the loop ran.
    expect(result.decisions).toBeGreaterThan(500);
  });
});
