import * as grpc from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { runGatewayProcess } from './support/gateway-process';
import { ApprovalsClient } from '../../src/approvals/approvals-client';
import { FilesClient } from '../../src/examples/files-proto';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { CI_BUILDER, GATEWAY_ID, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { describeWithRedis } from './support/redis-server';
import { waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';

const POLICIES = {
  'files.cedar': `
@id("payroll-needs-ci-approval")
@approval("ci")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };
`,
};

type Dynamic = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function unary<T>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<T> {
  const fn = (client as Dynamic)[method]!;
  return new Promise((resolve, reject) => fn.call(client, request, metadata, (err: grpc.ServiceError | null, reply: T) => (err ? reject(err) : resolve(reply))));
}

describeWithRedis('two gateway replicas sharing one Redis: approvals', () => {
  let redis: DevRedisServer;
  let world: GatewayWorld;
  let other: ChildProcess;
  let otherPort: number;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    redis = await startDevRedisServer();
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraConfig: `state:\n  redis:\n    url: ${redis.url}\n` });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
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
  });

  it('releases a call held on one replica when an approver approves it through the other, and the approval is used once', async () => {
    const bot = (await world.agent(RESEARCH_BOT)) as Dynamic;
    const seen = world.decisions.lines.length;
    const held = unary<{ content: Buffer }>(bot, 'readFile', { path: '/payroll/q3.csv' });
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    const id = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string;

    const approverThere = new ApprovalsClient(`127.0.0.1:${otherPort}`, grpcChannelCredentials(await world.spiffe.workload(CI_BUILDER), authorizeId(GATEWAY_ID)));
    clients.push(approverThere);
    // The other replica lists the request made on this one, and takes the approval.
    const listed = await unary<{ approvals: { approvalId: string }[] }>(approverThere, 'list', {});
    expect(listed.approvals.map((a) => a.approvalId)).toContain(id);
    expect(await unary<{ state: string }>(approverThere, 'approve', { approvalId: id })).toMatchObject({ state: 'approved' });

    expect((await held).content.toString()).toBe('salaries');
    expect(world.decisions.lines.slice(seen).find((l) => l.decision === 'allow')).toMatchObject({ approval: id, by: [CI_BUILDER] });

    // Used once, for both replicas: a retry with the id on the other replica is refused.
    const filesThere = (await otherFiles()) as Dynamic;
    const metadata = new grpc.Metadata();
    metadata.set('x-toolgate-approval', id);
    const replay = await unary(filesThere, 'readFile', { path: '/payroll/q3.csv' }, metadata).then(
      () => grpc.status.OK,
      (err: grpc.ServiceError) => err.code,
    );
    expect(replay).toBe(grpc.status.FAILED_PRECONDITION);
  });

  async function otherFiles(): Promise<grpc.Client> {
    const client = new FilesClient(`127.0.0.1:${otherPort}`, grpcChannelCredentials(await world.spiffe.workload(RESEARCH_BOT), authorizeId(GATEWAY_ID)));
    clients.push(client);
    return client;
  }
});
