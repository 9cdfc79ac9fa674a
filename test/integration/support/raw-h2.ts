import { connect as h2Connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../../src/spiffe/tls/mtls-client';
import { GATEWAY_ID, type GatewayWorld } from './gateway-world';

/**
 * An HTTP/2 session to the gateway's mTLS listener as the workload `id`, with no gRPC
 * library in between: for requests grpc-js would not send (a `host` header, a message cut
 * short before END_STREAM).
 */
export async function rawSession(world: GatewayWorld, id: string): Promise<ClientHttp2Session> {
  const tls = mtlsClientOptions(await world.spiffe.workload(id), authorizeId(GATEWAY_ID));
  const { port } = world.gateway.address;
  const session = h2Connect(`https://127.0.0.1:${port}`, { createConnection: () => tlsConnect({ host: '127.0.0.1', port, ...tls() }) });
  session.on('error', () => {});
  return session;
}

export interface RawOutcome {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  /** grpc-status and grpc-message, from the trailers (or a trailers-only response). */
  status: number;
  message: string;
}

/** One gRPC request of `body` bytes (already framed, or deliberately not) with `headers`, read to its end. */
export function rawCall(session: ClientHttp2Session, path: string, body: Buffer, headers: OutgoingHttpHeaders = {}): Promise<RawOutcome> {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  return new Promise((resolve, reject) => {
    let response: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    stream.on('response', (h) => (response = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', () => {});
    stream.on('error', reject);
    stream.on('close', () => {
      const final = trailers['grpc-status'] !== undefined ? trailers : response;
      if (final['grpc-status'] === undefined) return reject(new Error(`stream closed without a gRPC status (rst code ${stream.rstCode})`));
      resolve({ headers: response, trailers, status: Number(final['grpc-status']), message: decodeURIComponent(String(final['grpc-message'] ?? '')) });
    });
    stream.end(body);
  });
}

/** A gRPC message frame: uncompressed, `payload` as it is. */
export function grpcFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** What the gateway answered a hand-made request on stream 1 with. */
export type HandMadeOutcome = { frame: 'headers' } | { frame: 'rst'; code: number };

/**
 * Sends one request on a fresh connection, written frame by frame (HPACK literals, no
 * library): Node's HTTP/2 client refuses to send connection-specific headers at all, so this
 * is the only way to see what the gateway does with them. Resolves with the first frame the
 * gateway sends on the request's stream.
 */
export async function handMadeRequest(world: GatewayWorld, id: string, headers: Array<[string, string]>, body: Buffer): Promise<HandMadeOutcome> {
  const tls = mtlsClientOptions(await world.spiffe.workload(id), authorizeId(GATEWAY_ID));
  const socket = tlsConnect({ host: '127.0.0.1', port: world.gateway.address.port, ...tls() });
  try {
    return await new Promise<HandMadeOutcome>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('connection closed before the gateway answered the stream')));
      socket.on('secureConnect', () => {
        const block = Buffer.concat(headers.map(([name, value]) => literal(name, value)));
        socket.write(
          Buffer.concat([
            Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
            frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)),
            frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, block),
            frame(FRAME.DATA, FLAG.END_STREAM, 1, body),
          ]),
        );
      });
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 9) {
          const length = pending.readUIntBE(0, 3);
          if (pending.length < 9 + length) break;
          const [type, flags, streamId, payload] = [pending[3], pending[4]!, pending.readUInt32BE(5) & 0x7fffffff, pending.subarray(9, 9 + length)];
          pending = pending.subarray(9 + length);
          if (type === FRAME.SETTINGS && (flags & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0, Buffer.alloc(0)));
          // A PING must be answered (RFC 9113 §6.7): the gateway relays a half-close only once it is.
          if (type === FRAME.PING && (flags & 1) === 0) socket.write(frame(FRAME.PING, 1, 0, payload));
          if (streamId !== 1) continue;
          if (type === FRAME.HEADERS) return resolve({ frame: 'headers' });
          if (type === FRAME.RST_STREAM) return resolve({ frame: 'rst', code: payload.readUInt32BE(0) });
        }
      });
    });
  } finally {
    socket.destroy();
  }
}

const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6 } as const;
const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK "literal header field without indexing, new name", no Huffman coding. */
function literal(name: string, value: string): Buffer {
  const [n, v] = [Buffer.from(name), Buffer.from(value)];
  return Buffer.concat([Buffer.from([0]), hpackLength(n.length), n, hpackLength(v.length), v]);
}

/** An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), the Huffman bit clear. */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const bytes = [127];
  for (n -= 127; n >= 128; n = Math.floor(n / 128)) bytes.push((n % 128) + 128);
  bytes.push(n);
  return Buffer.from(bytes);
}
