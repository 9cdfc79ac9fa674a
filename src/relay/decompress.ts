import { gunzipSync, inflateSync } from 'node:zlib';
import type { GrpcMessage } from './grpc-frames';
import { errorMessage } from '../errors/unknown-error';
import { MessageDecodeError } from './exact-decode';

/**
 * The payload of a request message, decompressed when its flag says so (gRPC's `gzip`
 * and `deflate` encodings), never beyond `maxBytes`. An unknown encoding throws, and so
 * does a flag other than 0 or 1 (gRPC defines no other): a message the gateway cannot read
 * is a message it cannot authorize (`MessageDecodeError`). gzip is read as Node's zlib reads it, every
 * concatenated member; a tool's decompressor may stop after the first, but it never sees
 * these bytes: the gateway relays its own uncompressed re-encoding of what it decided on.
 */
export function decompress(message: GrpcMessage, encoding: string | string[] | undefined, maxBytes: number): Buffer {
  const flag = message.frame[0];
  if (flag > 1) throw new MessageDecodeError(`compressed-flag byte ${flag} (gRPC defines 0 and 1)`);
  if (!message.compressed) return message.payload;
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return gunzipSync(message.payload, options);
    if (encoding === 'deflate') return inflateSync(message.payload, options);
  } catch (err) {
    throw new MessageDecodeError(`cannot decompress a ${encoding} message: ${errorMessage(err)}`, { cause: err });
  }
  throw new MessageDecodeError(`compressed message with unsupported grpc-encoding "${encoding ?? ''}"`);
}
