import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';
import { jsonName } from '../../../src/protos/proto-files';
import { REFLECTION_METHODS, reflectionMessages, type ReflectionRequest } from '../../../src/relay/server-reflection';

/** A file the reflection service serves: its name and its serialized FileDescriptorProto. */
export interface ServedFile {
  name: string;
  bytes: Uint8Array;
  /** Fully-qualified names this file declares (services, messages). */
  symbols: string[];
}

/**
 * The FileDescriptorProtos of `.proto` files as protoc would ship them in a server: one
 * per package, as protobufjs's `toDescriptor` groups them, with the names as declared and,
 * as protoc does, every field's `json_name` filled in (protobufjs leaves it out).
 * toDescriptor records no imports: `imports` adds them, by file name (`pkg_name.proto`).
 */
export function servedFiles(protoFiles: readonly string[], imports: Record<string, string[]> = {}): ServedFile[] {
  const root = new protobuf.Root();
  root.loadSync([...protoFiles], { keepCase: true });
  root.resolveAll();
  const set = (root as unknown as { toDescriptor(edition: string): descriptor.IFileDescriptorSet }).toDescriptor('proto3');
  return set.file.map((file) => {
    const prefix = file.package ? `${file.package}.` : '';
    for (const message of file.messageType ?? []) fillJsonNames(root, `${prefix}${message.name}`, message as MessageDescriptor);
    const names = [...(file.service ?? []), ...(file.messageType ?? [])].map((d) => `${prefix}${(d as { name: string }).name}`);
    file.dependency = imports[file.name!] ?? [];
    return { name: file.name!, bytes: descriptor.FileDescriptorProto.encode(file).finish(), symbols: names };
  });
}

/**
 * A minimal gRPC server reflection service (one method path, v1alpha by default) that
 * answers `file_containing_symbol` (a service, message or method) and `file_by_filename`
 * from `files`, and NOT_FOUND otherwise, as grpc servers do. `asked` records each request.
 */
export function reflectionService(
  files: readonly ServedFile[],
  path: string = REFLECTION_METHODS[1],
  asked: ReflectionRequest[] = [],
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const { request, response } = reflectionMessages();
  const definition: grpc.ServiceDefinition = {
    ServerReflectionInfo: {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: (r: object) => Buffer.from(request.encode(request.create(r)).finish()),
      requestDeserialize: (b: Buffer) => request.decode(b),
      responseSerialize: (r: object) => Buffer.from(response.encode(response.create(r)).finish()),
      responseDeserialize: (b: Buffer) => response.decode(b),
    },
  };
  const find = (r: ReflectionRequest): ServedFile | undefined =>
    r.file_by_filename
      ? files.find((f) => f.name === r.file_by_filename)
      : files.find((f) => f.symbols.some((s) => r.file_containing_symbol === s || r.file_containing_symbol?.startsWith(`${s}.`)));
  const implementation: grpc.UntypedServiceImplementation = {
    ServerReflectionInfo(call: grpc.ServerDuplexStream<ReflectionRequest, object>) {
      call.on('data', (r: ReflectionRequest) => {
        asked.push({ ...(r.file_by_filename && { file_by_filename: r.file_by_filename }), ...(r.file_containing_symbol && { file_containing_symbol: r.file_containing_symbol }) });
        const file = find(r);
        call.write(
          file
            ? { original_request: r, file_descriptor_response: { file_descriptor_proto: [file.bytes] } }
            : { original_request: r, error_response: { error_code: grpc.status.NOT_FOUND, error_message: 'not found' } },
        );
      });
      call.on('end', () => call.end());
    },
  };
  return [definition, implementation];
}

interface MessageDescriptor {
  name: string;
  field?: Array<{ name: string; jsonName?: string }>;
  nestedType?: MessageDescriptor[];
}

function fillJsonNames(root: protobuf.Root, fullName: string, message: MessageDescriptor): void {
  const type = root.lookup(fullName);
  if (!(type instanceof protobuf.Type)) return; // a map entry, made up by toDescriptor
  for (const field of message.field ?? []) field.jsonName = jsonName(type.fields[field.name]!);
  for (const nested of message.nestedType ?? []) fillJsonNames(root, `${fullName}.${nested.name}`, nested);
}
