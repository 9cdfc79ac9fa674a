import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../../src/spiffe/tls/mtls-client';
import { GATEWAY_ID, type GatewayWorld } from './gateway-world';

/** One raw HTTP/2 connection to the gateway, with its TLS socket (to cut it). */
export interface RawConnection {
  session: ClientHttp2Session;
  socket: TLSSocket;
  /** With `holdUntilFirstRequestEnds`: every frame the gateway sent on a stream, in order. */
  received: ReceivedFrame[];
}

/** A frame the gateway sent on a stream (not on the connection). */
export interface ReceivedFrame {
  stream: number;
  type: 'DATA' | 'HEADERS' | 'RST_STREAM' | number;
  endStream: boolean;
  /** The error code of a RST_STREAM. */
  code?: number;
}

export interface RawConnectOptions {
  /**
   * Send nothing until the first request has ended, then the connection preface, SETTINGS,
   * HEADERS and DATA with END_STREAM in one write, as grpcio sends a unary call on a fresh
   * connection; and record the frames the gateway sends back (`received`).
   */
  holdUntilFirstRequestEnds?: boolean;
}

/**
 * Opens raw `node:http2` connections to the gateway as the workload `id` (its SVID over
 * mTLS), for tests that need frames no gRPC library sends: a reset mid-stream, a dropped
 * socket, duplicated headers, a whole request in one write.
 */
export async function rawCaller(world: GatewayWorld, id: string): Promise<(options?: RawConnectOptions) => RawConnection> {
  const tls = mtlsClientOptions(await world.spiffe.workload(id), authorizeId(GATEWAY_ID));
  const port = world.gateway.address.port;
  return (options = {}) => {
    let socket: TLSSocket | undefined;
    const received: ReceivedFrame[] = [];
    const session = connect(`https://127.0.0.1:${port}`, {
      createConnection: () => {
        socket = tlsConnect({ ...tls(), host: '127.0.0.1', port });
        return options.holdUntilFirstRequestEnds ? new HeldUntilFirstRequestEnds(socket, received) : socket;
      },
    });
    session.on('error', () => {});
    return { session, socket: socket!, received };
  };
}

const PREFACE_BYTES = 24;
const END_STREAM = 0x1;
const FRAME_TYPES = ['DATA', 'HEADERS', 2, 'RST_STREAM'] as const;

/** The client side of a connection that holds its first bytes back (see RawConnectOptions). */
class HeldUntilFirstRequestEnds extends Duplex {
  private held: Buffer[] | undefined = [];
  private unparsed = Buffer.alloc(0);

  constructor(
    private readonly socket: TLSSocket,
    private readonly received: ReceivedFrame[],
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      this.record(chunk);
      this.push(chunk);
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.held === undefined) return void this.socket.write(chunk, done);
    this.held.push(chunk);
    const bytes = Buffer.concat(this.held);
    if (firstStreamEnded(bytes)) {
      this.held = undefined;
      this.socket.write(bytes);
    }
    done();
  }

  override _read(): void {}

  override _final(done: () => void): void {
    this.socket.end(done);
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }

  private record(chunk: Buffer): void {
    let bytes = Buffer.concat([this.unparsed, chunk]);
    while (bytes.length >= 9 && bytes.length >= 9 + bytes.readUIntBE(0, 3)) {
      const stream = bytes.readUInt32BE(5) & 0x7fffffff;
      if (stream !== 0) {
        const type = FRAME_TYPES[bytes[3]] ?? bytes[3];
        this.received.push({ stream, type, endStream: (bytes[4] & END_STREAM) !== 0, ...(type === 'RST_STREAM' && { code: bytes.readUInt32BE(9) }) });
      }
      bytes = bytes.subarray(9 + bytes.readUIntBE(0, 3));
    }
    this.unparsed = bytes;
  }
}

/** Whether `bytes` (the preface, then whole frames) hold a frame ending stream 1. */
function firstStreamEnded(bytes: Buffer): boolean {
  for (let at = PREFACE_BYTES; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    const flags = bytes[at + 4];
    const stream = bytes.readUInt32BE(at + 5) & 0x7fffffff;
    if (stream === 1 && flags & END_STREAM) return true;
  }
  return false;
}

/** The request headers of a gRPC call to `path`, plus `extra`. */
export function grpcRequestHeaders(path: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra };
}

/** One gRPC message frame (uncompressed) around `payload`. */
export function grpcFrame(payload: Buffer): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

/** How a raw call ended, as the caller saw it on the wire. */
export interface RawOutcome {
  headers?: IncomingHttpHeaders;
  trailers?: IncomingHttpHeaders;
  /** `grpc-status` from the headers (trailers-only) or the trailers; undefined when none came. */
  grpcStatus?: string;
  /** The RST_STREAM code the stream closed with (0 also for a clean end). */
  rstCode: number;
}

/** Collects what `stream` receives until it closes. */
export function rawOutcome(stream: ClientHttp2Stream): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const outcome: Partial<RawOutcome> = {};
    stream.on('response', (headers) => (outcome.headers = headers));
    stream.on('trailers', (trailers) => (outcome.trailers = trailers));
    stream.on('error', () => {});
    stream.resume();
    stream.on('close', () => {
      const status = outcome.trailers?.['grpc-status'] ?? outcome.headers?.['grpc-status'];
      resolve({ ...outcome, grpcStatus: status === undefined ? undefined : String(status), rstCode: stream.rstCode ?? 0 });
    });
  });
}
