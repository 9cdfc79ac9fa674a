import { Transform, type TransformCallback } from 'node:stream';
import { asError } from '../errors/unknown-error';
import { McpMessageError } from './mcp-message-error';

/**
 * Rewrites the `data` of chosen events of a `text/event-stream` and passes every other
 * byte through unchanged, event by event: each event leaves as soon as its blank line has
 * arrived, so a progress notification or an elicitation request sent in the middle of a
 * tool call reaches the client while the call runs. Only one event is ever held, and an
 * event (or a line) over `maxEventBytes` ends the stream with an error (fail closed: the
 * gateway does not relay what it could not inspect).
 *
 * `rewrite` gets an event's data (its `data:` lines joined with "\n", per the HTML SSE
 * parsing rules) and returns the new data, or undefined to relay the event as it came.
 */
export class SseRewriter extends Transform {
  private pending = '';
  /** The raw lines of the event being read, terminators included. */
  private eventLines: string[] = [];
  private eventBytes = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly rewrite: (data: string) => string | undefined,
    private readonly maxEventBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending += this.decoder.decode(chunk, { stream: true });
      this.drainLines();
      if (this.pending.length + this.eventBytes > this.maxEventBytes)
        throw new McpMessageError('ERR_MCP_UPSTREAM', `the upstream sent an SSE event over ${this.maxEventBytes} bytes`);
      callback();
    } catch (err) {
      callback(asError(err));
    }
  }

  override _flush(callback: TransformCallback): void {
    // A stream that ends mid-event: relay what came, unchanged (the client sees the same truncation).
    this.push(this.eventLines.join('') + this.pending);
    callback();
  }

  private drainLines(): void {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.pending);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (match === null || (match[0] === '\r' && match.index === this.pending.length - 1)) return;
      const end = match.index + match[0].length;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end);
      if (match.index === 0) this.endEvent(line);
      else {
        this.eventLines.push(line);
        this.eventBytes += line.length;
      }
    }
  }

  private endEvent(blankLine: string): void {
    const lines = this.eventLines;
    this.eventLines = [];
    this.eventBytes = 0;
    const data = dataOf(lines);
    const rewritten = data === undefined ? undefined : this.rewrite(data);
    if (rewritten === undefined) {
      this.push(lines.join('') + blankLine);
      return;
    }
    const kept = lines.filter((line) => fieldOf(line) !== 'data');
    this.push(
      `${kept.join('')}${rewritten
        .split('\n')
        .map((l) => `data: ${l}\n`)
        .join('')}${blankLine}`,
    );
  }
}

/** An SSE line's field name (`data`, `id`, `event`, `retry`; '' for a comment). */
function fieldOf(line: string): string {
  const colon = line.indexOf(':');
  return (colon === -1 ? line : line.slice(0, colon)).replace(/[\r\n]+$/, '');
}

function dataOf(lines: readonly string[]): string | undefined {
  const data: string[] = [];
  for (const line of lines) {
    if (fieldOf(line) !== 'data') continue;
    let value = line.replace(/[\r\n]+$/, '').slice('data'.length);
    if (value.startsWith(':')) value = value.slice(1);
    if (value.startsWith(' ')) value = value.slice(1);
    data.push(value);
  }
  return data.length === 0 ? undefined : data.join('\n');
}
