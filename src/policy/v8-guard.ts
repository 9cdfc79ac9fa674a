import { setFlagsFromString } from 'node:v8';
import { PolicyError } from './errors';

/**
 * Node 20.20.2 aborts the whole process (V8 "unreachable code" in
 * `Deoptimizer::DoComputeBuiltinContinuation`) when a function into which TurboFan inlined
 * a JS→Wasm call is deoptimized while that wasm call is on the stack. cedar-wasm calls back
 * into JS from inside every call (its glue JSON.stringify-s the request and JSON.parse-s the
 * answer), so under per-request load that coincidence comes within seconds. Turning the
 * inlining off prevents it at no measurable cost. Seen here: forcing that deoptimization
 * on the engine's own `authorize` aborts every time without this flag and never with it
 * (test/unit/policy/sustained-load.test.ts does exactly that); a plain loop of
 * `statefulIsAuthorized` under `--deopt-every-n-times=1000` aborted within ~1.5 s in 5 runs
 * of 5 without it, and 0 of 3 with it.
 *
 * V8 reads the flag when it optimizes a function, so it must be set before any function
 * that calls into cedar-wasm can be optimized: every module of this package reaches
 * cedar-wasm only through ./cedar, which imports this module first.
 */
export const WASM_INLINING_GUARD_FLAG = '--no-turbo-inline-js-wasm-calls';

const CEDAR_MODULE = '@cedar-policy/cedar-wasm';

// Whether something required cedar-wasm before this guard ran: functions optimized in that
// window may already inline wasm calls. (Under jest, `require.cache` is the test file's
// module registry, which works the same way.)
const cedarLoadedFirst = Object.keys(require.cache).some((path) => path.includes(CEDAR_MODULE));
setFlagsFromString(WASM_INLINING_GUARD_FLAG);

/**
 * Throws `ERR_V8_GUARD` unless the guard is known to be in force: either the flag was given
 * on the command line (`node --no-turbo-inline-js-wasm-calls`, also via NODE_OPTIONS), or
 * this module set it before cedar-wasm was loaded. The CLI calls this before it serves.
 */
export function assertWasmInliningGuard(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): void {
  const onCommandLine = execArgv.includes(WASM_INLINING_GUARD_FLAG) || nodeOptions.split(/\s+/).includes(WASM_INLINING_GUARD_FLAG);
  if (onCommandLine || !cedarLoadedFirst) return;
  throw new PolicyError('ERR_V8_GUARD', `${CEDAR_MODULE} was loaded before the V8 guard: import it only through src/policy, or run node with ${WASM_INLINING_GUARD_FLAG}`);
}
