import * as grpc from '@grpc/grpc-js';
import { DecisionLog, type DecisionRecord } from '../../src/observability/decision-log';
import { DecisionLogVerifier } from '../../src/observability/decision-log-verifier';
import { raw, startEchoWorld } from './support/echo-service';
import { GatewayWorld, RESEARCH_BOT, STRANGER } from './support/gateway-world';
import { rawCall, rawSession, grpcFrame } from './support/raw-h2';
import { statusOf, tasksOf } from './support/task-calls';

/**
 * Every decision record leaves the gateway through `DecisionLog.write`, which chains it
 * (tamper evidence): each kind of decision and refusal is written by it, in one shape.
 */
describe('every decision and refusal is one record, written by the one decision log writer', () => {
  let world: GatewayWorld;
  let echo: grpc.Client;
  let written: DecisionRecord[];
  let spy: jest.SpyInstance;

  beforeAll(async () => {
    written = [];
    const write = DecisionLog.prototype.write;
    spy = jest.spyOn(DecisionLog.prototype, 'write').mockImplementation(function (this: DecisionLog, record: DecisionRecord) {
      written.push(record);
      write.call(this, record);
    });
    ({ world, echo } = await startEchoWorld('workloadTokens:\n  listen: 127.0.0.1:0\n'));
  });
  afterAll(async () => {
    spy?.mockRestore();
    await world?.close();
  });

  const unary = (client: grpc.Client, path: string, metadata = new grpc.Metadata()) =>
    new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(path, raw, raw, Buffer.from('x'), metadata, (e) => resolve(e)));

  it('allow, deny, no route, a bearer token refused, a content-type refused, the Tasks service denying and refusing: as many lines as records written', async () => {
    expect(await unary(echo, '/test.v1.Echo/Unary')).toBeNull();
    const stranger = world.client(grpc.makeGenericClientConstructor({}, 'X'), await world.spiffe.workload(STRANGER));
    expect((await unary(stranger, '/test.v1.Echo/Unary'))?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await unary(echo, '/no.such.v1.Service/Call'))?.code).toBe(grpc.status.UNIMPLEMENTED);

    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const bearer = new grpc.Client(
      `127.0.0.1:${world.gateway.tokenAddress!.port}`,
      grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer nonsense');
    expect((await unary(bearer, '/test.v1.Echo/Unary', metadata))?.code).toBe(grpc.status.UNAUTHENTICATED);
    bearer.close();

    const session = await rawSession(world, RESEARCH_BOT);
    expect((await rawCall(session, '/test.v1.Echo/Unary', grpcFrame(Buffer.from('x')), { 'content-type': 'text/plain' })).status).toBe(grpc.status.INVALID_ARGUMENT);
    session.close();

    // The Tasks service: no policy here permits BeginTask; EndTask of a task that is not the caller's.
    const tasks = await tasksOf(world, RESEARCH_BOT);
    expect(await statusOf(tasks.begin({ tools: ['test.v1.Echo/Unary'], ttlSeconds: 60 }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await statusOf(tasks.end('no-such-task'))).toBe(grpc.status.NOT_FOUND);

    await new Promise((r) => setTimeout(r, 50));
    expect(world.decisions.lines).toHaveLength(written.length);
    expect(world.decisions.lines.map((l) => l.decisionId)).toEqual(written.map((r) => r.decisionId));
    expect(written.map((r) => [r.decision, r.status])).toEqual([
      ['allow', undefined],
      ['deny', grpc.status.PERMISSION_DENIED],
      ['deny', grpc.status.UNIMPLEMENTED],
      ['deny', grpc.status.UNAUTHENTICATED],
      ['deny', grpc.status.INVALID_ARGUMENT],
      ['deny', grpc.status.PERMISSION_DENIED],
      ['deny', grpc.status.NOT_FOUND],
    ]);
    // One shape: every record names its decision id and the policy set in force.
    const policySet = world.gateway.pipeline.current.policyHash;
    for (const line of world.decisions.lines) expect(line).toMatchObject({ decisionId: expect.any(String), policySet });
  });

  it('chains every record it wrote, whatever its kind: the log verifies, one origin, as many records as written', () => {
    const verifier = new DecisionLogVerifier({ at: Date.now() });
    world.decisions.text.forEach((text, i) => verifier.line(text, { file: 'decisions', line: i + 1 }));
    const report = verifier.report();
    expect(report.failure).toBeUndefined();
    expect(report.origins).toEqual([expect.objectContaining({ records: written.length, end: 'open' })]);
    expect(world.decisions.lines.map((l) => l.seq)).toEqual(written.map((_, i) => i + 1));
  });
});
