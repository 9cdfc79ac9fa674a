import * as grpc from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { runGatewayProcess } from './support/gateway-process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSigningJwk } from '../../src/cli/signing-key';
import { FilesClient } from '../../src/examples/files-proto';
import { TasksClient } from '../../src/tasks/tasks-client';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { GATEWAY_ID, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';
import { call, statusOf, taskMetadata } from './support/task-calls';
import { waitUntil } from './support/workload-fixtures';

const TASK_POLICIES = {
  ...POLICIES,
  'tasks.cedar': `permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");`,
};

describeWithRedis('two gateway processes sharing one Redis agree on tasks and budgets', () => {
  let redis: DevRedisServer;
  let keyDir: string;
  let world: GatewayWorld;
  let other: ChildProcess;
  let otherPort: number;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    redis = await startDevRedisServer();
    // Replicas share the signing key (a mounted Secret in Kubernetes): a task token minted by one verifies on the other.
    keyDir = mkdtempSync(join(tmpdir(), 'toolgate-key-'));
    writeFileSync(join(keyDir, 'signing.jwk'), JSON.stringify(await newSigningJwk()), { mode: 0o600 });
    world = await GatewayWorld.start({
      policies: TASK_POLICIES,
      extraConfig: `state:\n  redis:\n    url: ${redis.url}\ncredentials:\n  signingKeyFile: ${join(keyDir, 'signing.jwk')}\n`,
    });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
    ({ child: other, port: otherPort } = await runGatewayProcess(world.configFile));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (other && other.exitCode === null) {
      const exited = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGTERM');
      await exited;
    }
    await world?.close();
    await redis?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  /** Clients of both gateways as research-bot: [in this process, in the other]. */
  async function botClients<T extends grpc.Client>(ctor: new (target: string, creds: grpc.ChannelCredentials) => T): Promise<[T, T]> {
    const source = await world.spiffe.workload(RESEARCH_BOT);
    const here = world.client(ctor, source);
    const there = new ctor(`127.0.0.1:${otherPort}`, grpcChannelCredentials(source, authorizeId(GATEWAY_ID)));
    clients.push(there);
    return [here, there];
  }

  it('never lets calls spread over both gateways exceed a task budget', async () => {
    const [tasksHere] = await botClients(TasksClient);
    const [filesHere, filesThere] = await botClients(FilesClient);
    const begun = await call<{ taskId: string; token: string }>(tasksHere, 'beginTask', {
      intent: 'budget',
      tools: ['tools.files.v1.Files'],
      ttlSeconds: 60,
      budget: { calls: 10 },
    });
    const read = (client: grpc.Client) => statusOf(call(client, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)));
    // Two calls on each gateway, one after the other: each counts against the one budget.
    const first = [];
    for (const client of [filesHere, filesThere, filesHere, filesThere]) first.push(await read(client));
    expect(first).toEqual(Array(4).fill(grpc.status.OK));
    // Then 26 calls at once, alternating gateways: exactly the 6 left may pass.
    const results = await Promise.all(Array.from({ length: 26 }, (_, i) => read(i % 2 === 0 ? filesHere : filesThere)));
    expect(results.filter((s) => s === grpc.status.OK)).toHaveLength(6);
    expect(results.filter((s) => s === grpc.status.RESOURCE_EXHAUSTED)).toHaveLength(20);
  });

  it('refuses on one gateway, within a second, a task ended on the other, and cuts its open stream there', async () => {
    const [tasksHere] = await botClients(TasksClient);
    const [, filesThere] = await botClients(FilesClient);
    const begun = await call<{ taskId: string; token: string }>(tasksHere, 'beginTask', { intent: 'end', tools: ['tools.files.v1.Files'], ttlSeconds: 600 });
    expect(await statusOf(call(filesThere, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.OK);

    const stream = (filesThere as unknown as { sync: (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object> }).sync(taskMetadata(begun.token));
    const replies: object[] = [];
    stream.on('data', (r: object) => replies.push(r));
    stream.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.write({ path: '/notes/a.txt', op: 'touch' });
    await waitUntil(() => replies.length === 1, 5000);

    const endedAt = Date.now();
    await call(tasksHere, 'endTask', { taskId: begun.taskId });
    expect((await status).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(Date.now() - endedAt).toBeLessThan(1000);
    expect(await statusOf(call(filesThere, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.PERMISSION_DENIED);
    expect(Date.now() - endedAt).toBeLessThan(1000);
  });

  // Last: it stops the shared Redis.
  it('fails closed when Redis is gone: a task call is refused (UNAVAILABLE), a call without a task goes on', async () => {
    const [tasksHere] = await botClients(TasksClient);
    const [filesHere] = await botClients(FilesClient);
    const begun = await call<{ taskId: string; token: string }>(tasksHere, 'beginTask', { intent: 'outage', tools: ['tools.files.v1.Files'], ttlSeconds: 60 });
    expect(await statusOf(call(filesHere, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.OK);
    await redis.stop();
    expect(await statusOf(call(filesHere, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.UNAVAILABLE);
    expect(world.decisions.lines.at(-1)).toMatchObject({ task: begun.taskId, decision: 'deny', reason: expect.stringMatching(/^task store unavailable: /) });
    expect(await statusOf(call(filesHere, 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.OK);
  });
});
