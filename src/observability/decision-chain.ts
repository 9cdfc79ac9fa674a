import * as crypto from 'node:crypto';
import { canonicalJson, canonicalJsonOfParts } from './canonical-json';
import type { DecisionRecord } from './decision-log';
import { canonicalRecordLine } from './record-line';

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
  return sha256(canonicalJson(rest));
}

/** A line as written: its JSON, and its hash appended as the last member. */
export interface SealedLine {
  readonly text: string;
  readonly hash: string;
}

/**
 * base64 SHA-256. One-shot `crypto.hash` costs half of createHash().update().digest() for a
 * line (measured); it came in Node 20.12, and package.json allows any Node 20.
 */
const sha256: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'base64') : (text) => crypto.createHash('sha256').update(text).digest('base64');

/** The head of one origin's chain: what the next line links to. */
export class DecisionChain {
  #seq = 0;
  #head = '';
  readonly #originJson: string;

  constructor(readonly origin: string) {
    this.#originJson = JSON.stringify(origin);
  }

  /** Records chained so far (the genesis line is not one). */
  get size(): number {
    return this.#seq;
  }

  get head(): string {
    return this.#head;
  }

  /** The genesis line (`line` with origin and seq 0, no prev), sealed. Call once, first. */
  genesis(line: object): SealedLine {
    return this.seal([line, { origin: this.origin, seq: 0 }]);
  }

  /** `stamp` and `record`, with origin, the next seq and the head as prev, sealed; the head moves to it. */
  link(stamp: object, record: object): SealedLine {
    this.#seq += 1;
    return this.seal([stamp, record, { origin: this.origin, seq: this.#seq, prev: this.#head }]);
  }

  /**
   * A decision record's line, `{level: "info", time, log: "decision", ...record, origin, seq,
   * prev, hash}`: the same line and hash as `link({level, time, log}, record)`, made in a
   * fraction of its time for a record of plain members (record-line.ts; any other record is
   * linked by `link`). Every decision pays this (bench/micro/decision-log.bench.ts).
   */
  linkRecord(time: string, record: DecisionRecord): SealedLine {
    const prev = this.#head;
    const canonical = canonicalRecordLine(time, record, this.origin, this.#seq + 1, prev);
    if (canonical === undefined) return this.link({ level: 'info', time, log: 'decision' }, record);
    this.#seq += 1;
    const hash = sha256(canonical);
    this.#head = hash;
    // The line seal() writes: the parts' members in their order. An ISO time and a base64 prev need no escaping.
    const members = JSON.stringify(record).slice(1, -1);
    const text = `{"level":"info","time":"${time}","log":"decision",${members === '' ? '' : `${members},`}"origin":${this.#originJson},"seq":${this.#seq},"prev":"${prev}","hash":"${hash}"}`;
    return { text, hash };
  }

  /**
   * The line the parts make (members in their order, the chain's last), its hash appended as
   * the last member. Parts are serialized one by one rather than merged into one object:
   * merging cost more than the hash (bench/micro/decision-log.bench.ts).
   */
  private seal(parts: readonly object[]): SealedLine {
    const hash = sha256(canonicalJsonOfParts(parts));
    this.#head = hash;
    let text = '{';
    for (const part of parts) {
      const members = JSON.stringify(part).slice(1, -1);
      if (members !== '') text += `${members},`;
    }
    return { text: `${text}"hash":"${hash}"}`, hash };
  }
}
