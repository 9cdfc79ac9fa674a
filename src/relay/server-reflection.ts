import * as grpc from '@grpc/grpc-js';
import { resolve } from 'node:path';
import type * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';
import { loadProtoRoot } from '../protos/proto-files';
import { errorMessage } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

/** proto/grpc/reflection/v1alpha/reflection.proto, from src/relay or dist/relay alike. */
export const REFLECTION_PROTO_PATH = resolve(__dirname, '../../proto/grpc/reflection/v1alpha/reflection.proto');

/**
 * v1 first, the current name; v1alpha for servers that only have the older one (both have
 * the same messages, so one proto file encodes both). An upstream answering UNIMPLEMENTED
 * to v1 is asked v1alpha; any other failure is final.
 */
export const REFLECTION_METHODS = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'] as const;

/** An upstream that does not answer server reflection with the descriptors asked for. */
export class ServerReflectionError extends ToolgateError<'ERR_SERVER_REFLECTION'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_SERVER_REFLECTION', message, options);
  }
}

/** A reflection request, with `keepCase` field names: one of the oneof set. */
export interface ReflectionRequest {
  file_by_filename?: string;
  file_containing_symbol?: string;
}

/** The parts of a reflection response the gateway reads. */
export interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Uint8Array[] } | null;
  error_response?: { error_code: number; error_message: string } | null;
}

let messages: { request: protobuf.Type; response: protobuf.Type } | undefined;

/** The request and response types, read once on first use. */
export function reflectionMessages(): { request: protobuf.Type; response: protobuf.Type } {
  if (!messages) {
    const root = loadProtoRoot([REFLECTION_PROTO_PATH]);
    messages = {
      request: root.lookupType('grpc.reflection.v1alpha.ServerReflectionRequest'),
      response: root.lookupType('grpc.reflection.v1alpha.ServerReflectionResponse'),
    };
  }
  return messages;
}

/**
 * Asks the server behind `client` for the files declaring each of `symbols`, then for
 * every file they import, until none is missing: the serialized FileDescriptorProtos, one
 * per file. Rejects with `ServerReflectionError` when the server has no reflection
 * service, does not know a symbol or file, or the call fails or passes `deadline`.
 */
export async function fetchFileDescriptors(client: grpc.Client, symbols: readonly string[], deadline: Date): Promise<Uint8Array[]> {
  for (const [i, method] of REFLECTION_METHODS.entries()) {
    try {
      return await fetchOver(client, method, symbols, deadline);
    } catch (err) {
      const last = i === REFLECTION_METHODS.length - 1;
      if (!last && (err as Partial<grpc.ServiceError>).code === grpc.status.UNIMPLEMENTED) continue;
      if (err instanceof ServerReflectionError) throw err;
      const e = err as Partial<grpc.ServiceError>;
      const code = e.code === undefined ? '' : `${grpc.status[e.code]}: `;
      throw new ServerReflectionError(`${code}${e.details ?? e.message}`, { cause: err });
    }
  }
  throw new ServerReflectionError('unreachable'); // the loop returns or throws
}

/**
 * One stream, one request at a time: a server may leave out of an answer the files it
 * already sent on the stream, so the files are collected by name across the answers.
 */
function fetchOver(client: grpc.Client, method: string, symbols: readonly string[], deadline: Date): Promise<Uint8Array[]> {
  const { request, response } = reflectionMessages();
  const call = client.makeBidiStreamRequest<ReflectionRequest, ReflectionResponse>(
    method,
    (r) => Buffer.from(request.encode(request.create(r)).finish()),
    (b) => response.decode(b) as unknown as ReflectionResponse,
    new grpc.Metadata(),
    { deadline },
  );
  const files = new Map<string, Uint8Array>();
  const askedFiles = new Set<string>();
  const queue: ReflectionRequest[] = symbols.map((s) => ({ file_containing_symbol: s }));
  let asking: ReflectionRequest = {};

  return new Promise((resolvePromise, reject) => {
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      call.cancel();
      reject(err);
    };
    const next = () => {
      const ask = queue.shift();
      if (ask) {
        asking = ask;
        call.write(ask);
        return;
      }
      done = true;
      call.end();
      resolvePromise([...files.values()]);
    };
    call.on('data', (answer: ReflectionResponse) => {
      if (done) return;
      if (answer.error_response) {
        const { error_code, error_message } = answer.error_response;
        return fail(new ServerReflectionError(`${describe(asking)}: ${grpc.status[error_code] ?? error_code}: ${error_message}`));
      }
      const protos = answer.file_descriptor_response?.file_descriptor_proto;
      if (!protos) return fail(new ServerReflectionError(`${describe(asking)}: the answer has no file descriptors`));
      let decoded: Array<{ name: string; dependency: string[] }>;
      try {
        decoded = protos.map((bytes) => descriptor.FileDescriptorProto.decode(bytes) as unknown as { name: string; dependency: string[] });
      } catch (err) {
        // Thrown in an event handler it would take the process down: reject instead.
        return fail(new ServerReflectionError(`${describe(asking)}: a file descriptor does not decode: ${errorMessage(err)}`, { cause: err }));
      }
      decoded.forEach((file, i) => files.set(file.name, protos[i]!));
      for (const dep of decoded.flatMap((file) => file.dependency)) {
        if (files.has(dep) || askedFiles.has(dep)) continue;
        askedFiles.add(dep);
        queue.push({ file_by_filename: dep });
      }
      next();
    });
    call.on('error', (err) => fail(err));
    call.on('end', () => fail(new ServerReflectionError('the server ended the stream before answering')));
    next();
  });
}

function describe(r: ReflectionRequest): string {
  return r.file_containing_symbol !== undefined ? `file_containing_symbol ${r.file_containing_symbol}` : `file_by_filename ${r.file_by_filename}`;
}
