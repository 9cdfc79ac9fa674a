import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * What makes a decision log line part of its origin's chain: `origin` (the process that
 * wrote it), `seq` (1, 2, … per origin; 0 for the genesis line), `prev` (the hash of the line
 * before it in the chain) and `hash`, its own.
 */
export interface ChainFields {
  origin: string;
  seq: number;
  prev?: string;
  hash: string;
}

/**
 * A line's hash: base64 SHA-256 of the RFC 8785 canonical JSON of the line as parsed, less
 * its `hash` member. It covers every other member, `time` and `prev` included, so an edit of
 * any byte of a value, and any member added or removed, changes it.
 */
export function lineHash(line: object): string {
  const { hash: _hash, ...rest } = line as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest)).digest('base64');
}

/** The head of one origin's chain: what the next line links to. */
export class DecisionChain {
  #seq = 0;
  #head = '';

  constructor(readonly origin: string) {}

  /** Records chained so far (the genesis line is not one). */
  get size(): number {
    return this.#seq;
  }

  get head(): string {
    return this.#head;
  }

  /** The genesis line: seq 0, no prev. Call once, first. */
  genesis<T extends object>(line: T): T & ChainFields {
    const linked = { ...line, origin: this.origin, seq: 0 };
    return this.seal(linked);
  }

  /** `line` with the next seq, the head as prev, and its hash; the head moves to it. */
  link<T extends object>(line: T): T & ChainFields {
    const linked = { ...line, origin: this.origin, seq: this.#seq + 1, prev: this.#head };
    this.#seq += 1;
    return this.seal(linked);
  }

  private seal<T extends object>(line: T): T & { hash: string } {
    const hash = lineHash(line);
    this.#head = hash;
    return { ...line, hash };
  }
}
