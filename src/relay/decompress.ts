import { gunzipSync, inflateSync } from 'node:zlib';
import type { GrpcMessage } from './grpc-frames';

/**
 * The payload of a request message, decompressed when its flag says so (gRPC's `gzip`
 * and `deflate` encodings), never beyond `maxBytes`. An unknown encoding throws: a
 * message the gateway cannot read is a message it cannot authorize.
 */
export function decompress(message: GrpcMessage, encoding: string | string[] | undefined, maxBytes: number): Buffer {
  if (!message.compressed) return message.payload;
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return gunzipSync(message.payload, options);
    if (encoding === 'deflate') return inflateSync(message.payload, options);
  } catch (err) {
    throw new Error(`cannot decompress a ${encoding} message: ${(err as Error).message}`);
  }
  throw new Error(`compressed message with unsupported grpc-encoding "${encoding ?? ''}"`);
}
