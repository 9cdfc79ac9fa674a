import * as grpc from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { FILES_ID, GATEWAY_ID, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { call, taskMetadata, tasksOf } from './support/task-calls';

describe('the gateway hands each relayed call a JWT that the tool verifies against the JWKS (jose)', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({
      verifyCallTokens: true,
      policies: { ...POLICIES, 'tasks.cedar': 'permit (principal, action == Action::"toolgate.v1.Tasks/BeginTask", resource);' },
    });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });
  afterAll(() => world.close());

  it('names the gateway, the caller, the tool, the method and the agent; lives at most 60 s', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const before = Math.floor(Date.now() / 1000);
    expect((await call<{ content: Buffer }>(bot, 'readFile', { path: '/notes/a.txt' })).content.toString()).toBe('alpha');
    const claims = world.verifiedCalls.at(-1)!;
    expect(claims).toMatchObject({ subject: RESEARCH_BOT, actor: GATEWAY_ID, scope: 'tools.files.v1.Files/ReadFile', agent: 'research-bot' });
    expect(claims.payload).toMatchObject({ iss: GATEWAY_ID, aud: FILES_ID, act: { sub: GATEWAY_ID } });
    expect(claims.taskId).toBeUndefined();
    expect(claims.payload.exp! - claims.payload.iat!).toBeLessThanOrEqual(60);
    expect(claims.payload.iat!).toBeGreaterThanOrEqual(before);
  });

  it('carries the task id, and expires no later than the task', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 5 });
    const bot = await world.agent(RESEARCH_BOT);
    await call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token));
    const claims = world.verifiedCalls.at(-1)!;
    expect(claims.taskId).toBe(begun.taskId);
    expect(claims.payload.exp).toBeLessThanOrEqual(begun.expiresAt.seconds);
    expect(decodeJwt(begun.token).exp).toBe(begun.expiresAt.seconds);
  });

  it("never relays the caller's own authorization header: the tool sees only the gateway's token", async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer not-for-the-tool');
    await call(bot, 'readFile', { path: '/notes/a.txt' }, metadata);
    expect(world.verifiedCalls.at(-1)).toMatchObject({ subject: RESEARCH_BOT });
  });
});
