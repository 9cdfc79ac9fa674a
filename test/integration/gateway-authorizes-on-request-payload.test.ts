import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { expectReadFileDecidedByArguments } from './support/payload-checks';
import { nextEvent } from './support/workload-fixtures';

const POLICIES = {
  'payload.cedar': `
@id("read-public-small")
permit (principal in AgentGroup::"researchers", action == Action::"tools.files.v1.Files/ReadFile", resource == Tool::"files")
when { context.request.path like "/public/*" && context.request.maxBytes <= 1024 };

@id("sync-outside-secrets")
permit (principal in AgentGroup::"researchers", action == Action::"tools.files.v1.Files/Sync", resource == Tool::"files")
when { !(context.request.path like "/secrets/*") };

@id("short-syncs-only")
forbid (principal, action == Action::"tools.files.v1.Files/Sync", resource)
when { context.stream.index >= 5 };
`,
};

type SyncCall = grpc.ClientDuplexStream<{ path: string; op: string }, { path: string; status: string }>;

describe('payload-aware and per-message authorization', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true });
    world.files.set('/public/a.txt', Buffer.from('public data'));
    world.files.set('/secrets/key.txt', Buffer.from('hunter2'));
  });
  afterAll(() => world.close());

  it('allows and denies the same method by a request field: a path prefix and a numeric limit', async () => {
    await expectReadFileDecidedByArguments(world, 'read-public-small');
  });

  it('denies a request message that does not decode', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const garbage = Buffer.from([0x0a, 0x05, 0x61]); // field 1 says 5 bytes; 1 follows
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      bot.makeUnaryRequest(
        '/tools.files.v1.Files/ReadFile',
        (b: Buffer) => b,
        (b: Buffer) => b,
        garbage,
        (e) => resolve(e!),
      ),
    );
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', reason: 'cannot decode tools.files.v1.ReadFileRequest: field 1 runs past the end of the message' });
  });

  it('authorizes every message of a bidi stream and cuts it at the first denied one; nothing after reaches the upstream', async () => {
    world.files.set('/public/b.txt', Buffer.from('b'));
    const bot = await world.agent(RESEARCH_BOT);
    const call = bot.sync() as SyncCall;
    const answers: string[] = [];
    call.on('data', (r) => answers.push(`${r.path} ${r.status}`));
    const status = nextEvent<[grpc.StatusObject]>(call, 'status');
    call.on('error', () => {});

    for (const path of ['/public/a.txt', '/public/b.txt']) {
      const answered = nextEvent(call, 'data');
      call.write({ path, op: 'OP_STAT' });
      await answered;
    }
    call.write({ path: '/secrets/key.txt', op: 'OP_DELETE' }); // denied
    call.write({ path: '/public/a.txt', op: 'OP_DELETE' }); // must never arrive
    const [s] = await status;

    expect([s.code, s.details]).toEqual([grpc.status.PERMISSION_DENIED, expect.stringMatching(/^permission denied \(decision \S+\)$/)]);
    expect(answers).toEqual(['/public/a.txt present, 11 bytes', '/public/b.txt present, 1 bytes']);
    expect(world.files.has('/secrets/key.txt')).toBe(true);
    expect(world.files.has('/public/a.txt')).toBe(true);
    const lines = world.decisions.lines.filter((l) => l.action === 'tools.files.v1.Files/Sync');
    expect(lines.map((l) => [l.message, l.decision])).toEqual([
      [0, 'allow'],
      [1, 'allow'],
      [2, 'deny'],
    ]);
    expect(new Set(lines.map((l) => l.decisionId)).size).toBe(3);
  });

  it('exposes the message index as context.stream.index', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const call = bot.sync() as SyncCall;
    let answered = 0;
    call.on('data', () => answered++);
    call.on('error', () => {});
    const status = nextEvent<[grpc.StatusObject]>(call, 'status');
    for (let i = 0; i < 7; i++) call.write({ path: '/public/a.txt', op: 'OP_STAT' });
    const [s] = await status;
    expect(s.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(answered).toBeLessThanOrEqual(5); // answers in flight when the call was cut are dropped
    const lines = world.decisions.lines.slice(-6);
    expect(lines.map((l) => [l.message, l.decision])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i < 5 ? 'allow' : 'deny']));
    expect(lines[5].policies).toEqual(['short-syncs-only']);
  });
});
