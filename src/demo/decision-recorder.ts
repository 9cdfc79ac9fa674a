import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { DecisionSink } from '../observability/decision-log';

export interface DecisionLine {
  decisionId: string;
  decision: 'allow' | 'deny' | 'escalate';
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
        this.take(chunk.toString());
        done();
      },
    }),
  );
  /** For the decision log, which writes its own lines: its records are kept, its chain's genesis and checkpoints are not. */
  readonly sink: DecisionSink = { write: (text: string) => this.take(text) };

  private take(text: string): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      const parsed = JSON.parse(line) as Partial<DecisionLine>;
      if (!('origin' in parsed) || 'decisionId' in parsed) this.lines.push(parsed as DecisionLine);
    }
  }

  /** Lines logged after `mark` (a previous `lines.length`). */
  since(mark: number): DecisionLine[] {
    return this.lines.slice(mark);
  }
}
