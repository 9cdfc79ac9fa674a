import * as grpc from '@grpc/grpc-js';
import { CI_BUILDER, GatewayWorld, RESEARCH_BOT, unaryCall } from './support/gateway-world';

describe('the gateway authorizes every call by Cedar policy before relaying it', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start();
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });
  afterAll(() => world.close());

  it('relays a permitted call and logs the decision with the policy that allowed it', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const trailers = new Promise<grpc.Metadata>((resolve) => {
      const call = bot.readFile({ path: '/notes/a.txt' }, (err: Error | null, reply: { content: Buffer }) => {
        expect(err).toBeNull();
        expect(reply.content.toString()).toBe('alpha');
      }) as grpc.ClientUnaryCall;
      call.on('status', (s: grpc.StatusObject) => resolve(s.metadata));
    });
    // The tool learned who called from the gateway alone.
    expect((await trailers).get('x-served-for')).toEqual(['research-bot']);

    const line = world.decisions.lines.find((l) => l.action === 'tools.files.v1.Files/ReadFile');
    expect(line).toMatchObject({
      caller: RESEARCH_BOT,
      principal: 'Agent::"research-bot"',
      resource: 'files',
      decision: 'allow',
      policies: ['researchers-read-files'],
      errors: [],
    });
    expect(typeof line!.policySet).toBe('string');
    expect(typeof line!.decisionId).toBe('string');
  });

  it('denies a call no policy permits with PERMISSION_DENIED naming the decision, and the tool never sees it', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = bot.writeFile((e: grpc.ServiceError | null) => resolve(e)) as grpc.ClientWritableStream<unknown>;
      call.write({ path: '/notes/evil.txt', data: Buffer.from('x') });
      call.end();
    });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    const id = /decision ([0-9a-f]+-[0-9a-z]+)/.exec(err!.details)?.[1];
    expect(id).toBeDefined();
    expect(world.decisions.byDecisionId(id!)).toMatchObject({ decision: 'deny', action: 'tools.files.v1.Files/WriteFile', policies: [] });
    expect(world.files.has('/notes/evil.txt')).toBe(false);
  });

  it('maps a SPIFFE ID prefix to an agent and its group', async () => {
    const ci = await world.agent(CI_BUILDER);
    const reply = await unaryCall<{ content: Buffer }>(ci, 'readFile', { path: '/notes/a.txt' });
    expect(reply.content.toString()).toBe('alpha');
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: 'Agent::"builder-7"', decision: 'allow', policies: ['ci-writes-files'] });
  });

  it('answers UNIMPLEMENTED for a service no upstream serves', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      bot.makeUnaryRequest(
        '/tools.secrets.v1.Vault/Read',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e!),
      ),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: 'tools.secrets.v1.Vault/Read', decision: 'deny' });
  });
});
