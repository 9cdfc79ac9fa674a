import * as grpc from '@grpc/grpc-js';

type What = 'call' | 'message' | 'stream';

/**
 * Every outcome of a load run, by gRPC status and time: a unary call or a stream message
 * is one "call" (what the figures count); a stream's own end is kept apart. Times are
 * `performance.now()` milliseconds, so that recovery can be measured from a fault's end.
 */
export class Outcomes {
  /** Calls (unary calls and stream messages): their times and codes, in completion order. */
  private readonly times: number[] = [];
  private readonly codes: number[] = [];
  /** Streams that ended, by code. */
  readonly streamEnds = new Map<number, number>();

  /** The hook to give LoadRun (`onOutcome`). */
  readonly record = (code: grpc.status, what: What): void => {
    if (what === 'stream') {
      this.streamEnds.set(code, (this.streamEnds.get(code) ?? 0) + 1);
      return;
    }
    this.times.push(performance.now());
    this.codes.push(code);
  };

  get calls(): number {
    return this.codes.length;
  }

  get streamsEnded(): number {
    let n = 0;
    for (const count of this.streamEnds.values()) n += count;
    return n;
  }

  /** Calls that did not end OK. */
  get failed(): number {
    return this.codes.filter((c) => c !== grpc.status.OK).length;
  }

  /** Calls by status name, e.g. `{ OK: 812, UNAVAILABLE: 3 }`, from `since` on (default: all). */
  byCode(since = -Infinity, until = Infinity): Record<string, number> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < this.codes.length; i++) {
      if (this.times[i]! < since || this.times[i]! > until) continue;
      const name = grpc.status[this.codes[i]!]!;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  /** Stream ends by status name. */
  streamsByCode(): Record<string, number> {
    return Object.fromEntries([...this.streamEnds].map(([code, n]) => [grpc.status[code]!, n]));
  }

  /** When the first call completing after `t` with `code` did, or undefined. */
  firstAfter(t: number, code: grpc.status): number | undefined {
    for (let i = 0; i < this.codes.length; i++) if (this.times[i]! > t && this.codes[i] === code) return this.times[i];
    return undefined;
  }

  /** When the last call completing with a code other than `code` did, or undefined. */
  lastOtherThan(code: grpc.status): number | undefined {
    for (let i = this.codes.length - 1; i >= 0; i--) if (this.codes[i] !== code) return this.times[i];
    return undefined;
  }

  /** Calls completed after `t`. */
  countAfter(t: number): number {
    let n = 0;
    for (let i = this.times.length - 1; i >= 0 && this.times[i]! > t; i--) n++;
    return n;
  }
}
