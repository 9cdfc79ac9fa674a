import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface DecisionLine {
  decisionId: string;
  decision: 'allow' | 'deny';
  principal?: string;
  action: string;
  policies?: string[];
  reason?: string;
  [key: string]: unknown;
}

/** A log kept in memory (pino JSON lines, parsed), so the demo can explain each call from its evidence. */
export class DecisionRecorder {
  readonly lines: DecisionLine[] = [];
  readonly logger: Logger = pino(
    { base: null },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line) as DecisionLine);
        done();
      },
    }),
  );

  /** Lines logged after `mark` (a previous `lines.length`). */
  since(mark: number): DecisionLine[] {
    return this.lines.slice(mark);
  }
}
