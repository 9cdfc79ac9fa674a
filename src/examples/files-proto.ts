import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { resolve } from 'node:path';

/** proto/examples/files.proto, from src/examples or dist/examples alike. */
export const FILES_PROTO_PATH = resolve(__dirname, '../../proto/examples/files.proto');

const definition = loadSync(FILES_PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  tools: { files: { v1: { Files: grpc.ServiceClientConstructor } } };
};

/** The `tools.files.v1.Files` service definition and client constructor. */
export const FilesClient = pkg.tools.files.v1.Files;
export const filesService = FilesClient.service;
