/**
 * Synchronous micro-benchmark sides timed against each other in one process: each side's
 * round is sized by a short trial to about `roundMs`, and the sides run in alternating order
 * round after round (reversed every other round), so that a burst of foreign load or a GC
 * lands on every side alike. Env: BENCH_MICRO_ROUNDS (default 9), BENCH_MICRO_ROUND_MS
 * (default 150).
 */
export const ROUNDS = Number(process.env.BENCH_MICRO_ROUNDS ?? 9);
export const ROUND_MS = Number(process.env.BENCH_MICRO_ROUND_MS ?? 150);

/** µs per operation of each side, one entry per round, in the sides' order. */
export function alternatingRounds(sides: readonly (readonly [string, () => void])[], rounds = ROUNDS, roundMs = ROUND_MS): number[][] {
  const sizes = sides.map(([, op]) => calibrate(op, roundMs));
  const results = sides.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) results[i]!.push(runRound(sides[i]![1], sizes[i]!));
  }
  return results;
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function runRound(op: () => void, count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) op();
  return ((performance.now() - t0) * 1000) / count;
}

/** How many operations make a round of about `roundMs`, from trials growing until one takes 30 ms. */
function calibrate(op: () => void, roundMs: number): number {
  let count = 16;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) op();
    const ms = performance.now() - t0;
    if (ms > 30) return Math.max(32, Math.round((count * roundMs) / ms));
    count *= 4;
  }
}
