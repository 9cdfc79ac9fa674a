import * as grpc from '@grpc/grpc-js';
import { resolve } from 'node:path';
import { rootFromFileDescriptors } from '../../../src/relay/descriptor-root';
import { MethodCatalog, ProtoLoadError } from '../../../src/relay/method-catalog';
import { decodeRequest } from '../../../src/relay/proto-json';
import { fetchFileDescriptors, REFLECTION_METHODS, ServerReflectionError, type ReflectionRequest } from '../../../src/relay/server-reflection';
import { reflectionService, servedFiles } from '../../integration/support/reflection-service';

const PROTO = resolve(__dirname, '../../fixtures/proto/mapping.proto');
const SERVICE = 'test.mapping.v1.Mapping';

describe('a method catalog from reflected descriptors', () => {
  const files = servedFiles([PROTO]);
  const fromProtos = MethodCatalog.load('mapping', [PROTO], [SERVICE]).get(`${SERVICE}/Do`)!;
  const fromReflection = MethodCatalog.fromRoot('mapping', rootFromFileDescriptors(files.map((f) => f.bytes)), [SERVICE], 'reflection').get(`${SERVICE}/Do`)!;

  it('decodes a request exactly as the catalog from the .proto files does (names, json_name, maps, well-known types)', () => {
    const type = fromProtos.requestType;
    const payload = type
      .encode(
        type.fromObject({
          text: 'hi',
          huge: '9007199254740991',
          color: 'COLOR_RED',
          inner: { name: 'n', scores: [1, 2] },
          counts: { x: 1 },
          at: { seconds: 1700000000, nanos: 500_000_000 },
          wrapped: { value: 7 },
          extra: { fields: { k: { stringValue: 'v' } } },
          renamed: 'r',
        }),
      )
      .finish();
    const expected = decodeRequest(type, payload);
    expect(expected).toHaveProperty('otherName', 'r');
    expect(decodeRequest(fromReflection.requestType, payload)).toEqual(expected);
    expect(fromReflection.requestStream).toBe(fromProtos.requestStream);
  });

  it('needs every routed service to be described', () => {
    expect(() => MethodCatalog.fromRoot('mapping', rootFromFileDescriptors(files.map((f) => f.bytes)), ['x.Nope'], 'the descriptors from its server reflection')).toThrow(
      new ProtoLoadError('upstream "mapping": service x.Nope is not defined in the descriptors from its server reflection'),
    );
  });
});

describe('fetchFileDescriptors', () => {
  let server: grpc.Server;
  let client: grpc.Client;
  const asked: ReflectionRequest[] = [];
  // The service's file imports the well-known types' file, which must be fetched by name.
  const files = servedFiles([PROTO], { 'test_mapping_v1.proto': ['google_protobuf.proto'] });

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(...reflectionService(files, REFLECTION_METHODS[0], asked));
    const port = await new Promise<number>((ok, fail) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('follows dependencies until every file is fetched', async () => {
    expect(files.map((f) => f.name).sort()).toEqual(['google_protobuf.proto', 'test_mapping_v1.proto']);
    const fetched = await fetchFileDescriptors(client, [SERVICE], new Date(Date.now() + 5000));
    expect(fetched).toHaveLength(2);
    expect(asked).toEqual([{ file_containing_symbol: SERVICE }, { file_by_filename: 'google_protobuf.proto' }]);
  });

  it('rejects naming the request the server could not answer', async () => {
    await expect(fetchFileDescriptors(client, ['x.Nope'], new Date(Date.now() + 5000))).rejects.toThrow(
      new ServerReflectionError('file_containing_symbol x.Nope: NOT_FOUND: not found'),
    );
  });
});
