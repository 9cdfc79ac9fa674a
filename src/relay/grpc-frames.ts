/** A complete gRPC message: its 5-byte prefix and payload, as one buffer. */
export interface GrpcMessage {
  frame: Buffer;
  payload: Buffer;
  compressed: boolean;
}

/**
 * Follows gRPC length-prefixed messages (1 byte compressed flag + 4 bytes big-endian
 * length + payload) across the chunks of a byte stream and enforces the size limit.
 * Without `onMessage` it only counts: bytes are relayed as they arrive, never copied.
 * With it, each message is assembled (at most `maxMessageBytes` held) and handed over
 * whole, for the gateway to decode and authorize before relaying it.
 */
export class GrpcFrameReader {
  /** Bytes of the current frame still to come (its header or its payload). */
  private remaining = 0;
  private inHeader = true;
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private parts: Buffer[] = [];
  private messageLength = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly onMessage?: (message: GrpcMessage) => void,
  ) {}

  /** True between messages: a stream that ends here ended cleanly. */
  get atBoundary(): boolean {
    return this.inHeader && this.headerFill === 0;
  }

  /** Advances over a chunk. Returns a problem (message too large) or undefined. */
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
        if (length > this.maxMessageBytes) return `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`;
        this.headerFill = 0;
        this.remaining = this.messageLength = length;
        this.inHeader = false;
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        if (this.onMessage && take > 0) this.parts.push(chunk.subarray(offset, offset + take));
        this.remaining -= take;
        offset += take;
      }
      if (!this.inHeader && this.remaining === 0) this.completeMessage();
    }
    return undefined;
  }

  private completeMessage(): void {
    this.inHeader = true;
    if (!this.onMessage) return;
    const frame = Buffer.concat([this.header, ...this.parts], 5 + this.messageLength);
    this.parts = [];
    this.onMessage({ frame, payload: frame.subarray(5), compressed: frame[0] === 1 });
  }
}

/** One uncompressed gRPC message: the 5-byte prefix (flag 0, big-endian length) and the payload. */
export function grpcFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  return frame;
}
