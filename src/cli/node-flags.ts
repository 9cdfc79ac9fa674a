/**
 * The node flags the gateway runs with in production. The image's ENTRYPOINT passes exactly
 * these (test/unit/deploy/node-flags.test.ts holds the Dockerfile to this list), and the
 * relay bench starts its toolgate and bare-forwarder processes with them, so that what is
 * measured is what runs. Outside the image, give them on the command line
 * (`node <flags> dist/cli/main.js run …`, README "Operations"); V8 reads the last two only
 * at start, so the gateway cannot set them itself.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = [
  // The V8 guard for cedar-wasm (src/policy/v8-guard.ts). The gateway sets it itself before
  // cedar-wasm loads; on the command line it is certain.
  '--no-turbo-inline-js-wasm-calls',
  // A young generation of 4 MB semi-spaces instead of V8's 16 MB: ~20 MB less RSS under the
  // bench's load, CPU per call unchanged within its noise (bench/RESULTS.md, "Memory").
  // Calls' garbage dies young either way; a smaller nursery only scavenges more often.
  '--max-semi-space-size=4',
  // cedar-wasm compiled once, by TurboFan, instead of by Liftoff first and TurboFan again
  // for its hot functions: ~20 MB less RSS, the same decision time (132 µs against 143 µs
  // a decision in a tight loop, noise), paid once at start (~0.65 s of CPU).
  '--no-liftoff',
  // The heap V8 grew for a burst is kept for the next one. V8's memory reducer shrinks it
  // after a few seconds without allocation, and the next burst pays to grow it again: in the
  // relay bench, the first window of cached calls after the gateway sat idle cost 205–217 µs
  // a call with it and 154–170 µs without (every toolgate topology steadier the same way);
  // an idle gateway then holds its peak RSS instead of giving ~70 MB back.
  '--no-memory-reducer',
];

/**
 * The flags above that this process was not started with (on the command line or in
 * NODE_OPTIONS), but for the V8 guard, which the gateway sets itself. `toolgate run` logs
 * them once at `warn`: without them the gateway decides and relays the same, with ~40 MB
 * more memory and a slower first burst of calls after an idle spell.
 */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)]);
  return GATEWAY_NODE_FLAGS.filter((flag) => flag !== '--no-turbo-inline-js-wasm-calls' && !given.has(flag));
}
