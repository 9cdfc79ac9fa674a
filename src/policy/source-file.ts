import type { DetailedError } from './cedar';

/** A 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Source text from a policy or schema file, for turning Cedar's offsets into
 * `file:line:column`. The text may be one policy cut from a file: `origin` is then where
 * it starts in that file. Cedar (Rust) reports byte offsets into the UTF-8 text, not UTF-16
 * string indexes, so all offsets here are bytes.
 */
export class SourceFile {
  private readonly bytes: Buffer;
  private code: Uint8Array | undefined;
  /** Byte offset where each line starts; built on first use. */
  private lineStarts: number[] | undefined;

  constructor(
    readonly name: string,
    text: string,
    private readonly origin: Position = { line: 1, column: 1 },
  ) {
    this.bytes = Buffer.from(text, 'utf8');
  }

  /** Line and column in the file of the byte at `offset` of this text. */
  positionOf(offset: number): Position {
    const end = Math.max(0, Math.min(offset, this.bytes.length));
    // Binary search over line starts: a file of 10,000 policies asks this once per policy.
    const starts = this.starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= end) lo = mid;
      else hi = mid - 1;
    }
    const newlines = lo;
    const lineStart = starts[lo];
    const column = this.bytes.subarray(lineStart, end).toString('utf8').length + 1;
    return newlines === 0 ? { line: this.origin.line, column: this.origin.column + column - 1 } : { line: this.origin.line + newlines, column };
  }

  private starts(): number[] {
    if (this.lineStarts) return this.lineStarts;
    const starts = [0];
    for (let i = this.bytes.indexOf(10); i !== -1; i = this.bytes.indexOf(10, i + 1)) starts.push(i + 1);
    return (this.lineStarts = starts);
  }

  /** `name:line:column` of the byte at `offset`. */
  where(offset: number): string {
    const { line, column } = this.positionOf(offset);
    return `${this.name}:${line}:${column}`;
  }

  /**
   * Byte offset of `part` at or after byte `from`, or -1. A match that starts inside a
   * comment or a string literal is skipped, so a policy quoted in a comment is not taken
   * for the policy itself.
   */
  find(part: string, from: number): number {
    const code = this.codeMask();
    let at = this.bytes.indexOf(part, from, 'utf8');
    while (at !== -1 && code[at] === 0) at = this.bytes.indexOf(part, at + 1, 'utf8');
    return at;
  }

  /** One line for a Cedar error about this text: `file:line:column: message: label (help)`. */
  describe(error: DetailedError): string {
    const location = error.sourceLocations?.[0];
    const label = location?.label ? `: ${location.label}` : '';
    const help = error.help ? ` (${error.help})` : '';
    return `${this.where(location?.start ?? 0)}: ${error.message}${label}${help}`;
  }

  /**
   * 1 for each byte outside comments and string literals. Cedar has only `//` line
   * comments, and double-quoted strings with backslash escapes.
   */
  private codeMask(): Uint8Array {
    if (this.code !== undefined) return this.code;
    const b = this.bytes;
    const code = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0x2f && b[i + 1] === 0x2f) {
        while (i < b.length && b[i] !== 0x0a) i++;
      } else if (b[i] === 0x22) {
        for (i++; i < b.length && b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
      } else {
        code[i] = 1;
      }
    }
    this.code = code;
    return code;
  }
}
