import { FILES_PROTO_PATH } from '../../src/examples/files-proto';
import { REFLECTION_METHODS, type ReflectionRequest } from '../../src/relay/server-reflection';
import { reflectionService, servedFiles } from './support/reflection-service';
import { GatewayWorld } from './support/gateway-world';
import { expectReadFileDecidedByArguments } from './support/payload-checks';

const POLICIES = {
  'payload.cedar': `
@id("read-public")
permit (principal in AgentGroup::"researchers", action == Action::"tools.files.v1.Files/ReadFile", resource == Tool::"files")
when { context.request.path like "/public/*" && context.request.maxBytes <= 1024 };
`,
};

describe('payload-aware policy for an upstream described by its gRPC server reflection', () => {
  let world: GatewayWorld;
  const asked: ReflectionRequest[] = [];
  beforeAll(async () => {
    // The upstream serves only v1alpha reflection (as many servers still do): the gateway
    // asks v1 first, is told UNIMPLEMENTED, and falls back.
    const reflection = reflectionService(servedFiles([FILES_PROTO_PATH]), REFLECTION_METHODS[1], asked);
    world = await GatewayWorld.start({ policies: POLICIES, reflection: true, unroutedServices: [reflection] });
    world.files.set('/public/a.txt', Buffer.from('public data'));
    world.files.set('/secrets/key.txt', Buffer.from('hunter2'));
  });
  afterAll(() => world.close());

  it('read the routed service from the upstream at start, over mTLS', () => {
    expect(asked).toEqual([{ file_containing_symbol: 'tools.files.v1.Files' }]);
  });

  it('allows and denies the same method by request fields (snake_case max_bytes seen as maxBytes)', async () => {
    await expectReadFileDecidedByArguments(world, 'read-public');
  });
});

describe('a reflection upstream that cannot be read refuses the start (fail closed)', () => {
  it('when it does not serve reflection: the error names the upstream and the reason', async () => {
    await expect(GatewayWorld.start({ policies: POLICIES, reflection: true })).rejects.toThrow(/^upstream "files": server reflection failed: UNIMPLEMENTED: /);
  });

  it('asks only the upstream of the configured SPIFFE ID: another identity fails the start', async () => {
    const reflection = reflectionService(servedFiles([FILES_PROTO_PATH]));
    await expect(
      GatewayWorld.start({ policies: POLICIES, reflection: true, unroutedServices: [reflection], filesUpstreamId: 'spiffe://example.org/tools/impostor-check' }),
    ).rejects.toThrow(/^upstream "files": server reflection failed: UNAVAILABLE: /);
  });

  it('refuses to start when the upstream does not know a routed service', async () => {
    const reflection = reflectionService([]);
    await expect(GatewayWorld.start({ policies: POLICIES, reflection: true, unroutedServices: [reflection] })).rejects.toThrow(
      'upstream "files": server reflection failed: file_containing_symbol tools.files.v1.Files: NOT_FOUND: not found',
    );
  });
});
