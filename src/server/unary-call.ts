import type { ServerHttp2Stream } from 'node:http2';
import { GrpcFrameReader, grpcFrame } from '../relay/grpc-frames';
import { closeUnfinishedRequest } from '../relay/grpc-status';
import { MessageDecodeError } from '../relay/exact-decode';

/**
 * The one request message of a unary call the gateway answers itself, uncompressed and at
 * most `maxBytes`. Rejects with a `MessageDecodeError` for a stream that carries none, several, a
 * compressed one, or one too large; resolves undefined when the caller went away.
 */
export function readUnaryRequest(stream: ServerHttp2Stream, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const messages: Buffer[] = [];
    let problem: string | undefined;
    const reader = new GrpcFrameReader(maxBytes, (message) => {
      if (message.compressed) problem ??= 'compressed request messages are not accepted here';
      messages.push(message.payload);
    });
    stream.on('data', (chunk: Buffer) => {
      problem ??= reader.push(chunk);
      if (problem !== undefined) {
        stream.pause();
        reject(new MessageDecodeError(problem));
      }
    });
    stream.on('end', () => {
      if (problem !== undefined) return;
      if (!reader.atBoundary) return reject(new MessageDecodeError('request stream ended inside a message'));
      if (messages.length !== 1) return reject(new MessageDecodeError(`a unary call carries one request message, not ${messages.length}`));
      resolve(messages[0]);
    });
    stream.on('close', () => resolve(undefined));
  });
}

/** Answers a unary call with one response message and status OK. */
export function respondUnary(stream: ServerHttp2Stream, message: Uint8Array): void {
  if (stream.closed || stream.destroyed) return;
  const frame = grpcFrame(message);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => {
    stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' });
    closeUnfinishedRequest(stream);
  });
  stream.end(frame);
}
