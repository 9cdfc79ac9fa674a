/**
 * How big each fault scenario runs. `npm test` (and `npm run faults`) runs the bounded
 * sizes, a few minutes for the whole suite on a 2-core machine; `TOOLGATE_FAULTS=long`
 * (`npm run faults:long`) runs the sizes whose figures docs/faults.md records.
 */
export const LONG = process.env.TOOLGATE_FAULTS === 'long';

/** The bounded value, or the long one under TOOLGATE_FAULTS=long. */
export function sized<T>(suite: T, long: T): T {
  return LONG ? long : suite;
}

/** Jest's timeout for a scenario that runs about `expectedMs`: generous, a loaded machine is slow. */
export function timeoutFor(expectedMs: number): number {
  return 60_000 + expectedMs * 3;
}
