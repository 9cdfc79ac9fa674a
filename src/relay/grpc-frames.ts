/**
 * Follows gRPC length-prefixed message boundaries (1 byte compressed flag + 4 bytes
 * big-endian length + payload) across the chunks of a byte stream, without copying or
 * re-encoding anything: bytes are relayed as they arrive, this only counts.
 */
export class GrpcFrameTracker {
  /** Bytes of the current frame still to come (its header or its payload). */
  private remaining = 0;
  private inHeader = true;
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;

  constructor(
    private readonly maxMessageBytes: number,
    /** Called with each message's payload length as its header completes. */
    private readonly onMessage?: (length: number, compressed: boolean) => void,
  ) {}

  /** Advances over a chunk. Returns an error message when a message exceeds the limit. */
  push(chunk: Buffer): string | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.inHeader) {
        const take = Math.min(5 - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < 5) break;
        const length = this.header.readUInt32BE(1);
        if (length > this.maxMessageBytes) {
          return `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`;
        }
        this.onMessage?.(length, this.header[0] === 1);
        this.headerFill = 0;
        this.remaining = length;
        this.inHeader = length === 0;
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= take;
        offset += take;
        if (this.remaining === 0) this.inHeader = true;
      }
    }
    return undefined;
  }
}
