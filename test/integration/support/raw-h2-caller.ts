import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../../src/spiffe/tls/mtls-client';
import { GATEWAY_ID, type GatewayWorld } from './gateway-world';

/** One raw HTTP/2 connection to the gateway, with its TLS socket (to cut it). */
export interface RawConnection {
  session: ClientHttp2Session;
  socket: TLSSocket;
}

/**
 * Opens raw `node:http2` connections to the gateway as the workload `id` (its SVID over
 * mTLS), for tests that need frames no gRPC library sends: a reset mid-stream, a dropped
 * socket, duplicated headers.
 */
export async function rawCaller(world: GatewayWorld, id: string): Promise<() => RawConnection> {
  const tls = mtlsClientOptions(await world.spiffe.workload(id), authorizeId(GATEWAY_ID));
  const port = world.gateway.address.port;
  return () => {
    let socket: TLSSocket | undefined;
    const session = connect(`https://127.0.0.1:${port}`, {
      createConnection: () => (socket = tlsConnect({ ...tls(), host: '127.0.0.1', port })),
    });
    session.on('error', () => {});
    return { session, socket: socket! };
  };
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
