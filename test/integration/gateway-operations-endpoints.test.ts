import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT, STRANGER, unaryCall } from './support/gateway-world';
import { nextEvent } from './support/workload-fixtures';

const raw = (b: Buffer) => b;

async function get(world: GatewayWorld, path: string): Promise<{ status: number; body: string }> {
  const { address, port } = world.gateway.adminAddress!;
  const res = await fetch(`http://${address}:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('operations: admin endpoints, gRPC health, and an SVID withdrawn', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start();
    world.files.set('/m', Buffer.from('m'));
  });
  afterAll(() => world.close());

  it('serves /healthz, /readyz and /metrics with decisions, latency and SVID expiry', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    await unaryCall(bot, 'readFile', { path: '/m' });
    const stranger = await world.agent(STRANGER);
    await expect(unaryCall(stranger, 'readFile', { path: '/m' })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });

    expect(await get(world, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(world, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
    const metrics = (await get(world, '/metrics')).body;
    expect(metrics).toMatch(/toolgate_decisions_total\{decision="allow"\} [1-9]/);
    expect(metrics).toMatch(/toolgate_decisions_total\{decision="deny"\} [1-9]/);
    expect(metrics).toMatch(/toolgate_decision_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/toolgate_call_duration_seconds_count\{grpc_status="0"\} [1-9]/);
    const expiry = Number(/^toolgate_svid_expiry_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(expiry).toBeGreaterThan(3000); // the dev provider issues 1 h SVIDs
    expect(expiry).toBeLessThanOrEqual(3700);
    expect((await get(world, '/nope')).status).toBe(404);
  });

  it('answers grpc.health.v1.Health/Check SERVING to an authenticated caller, without a policy decision', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const before = world.decisions.lines.length;
    const reply = await new Promise<Buffer>((resolve, reject) =>
      bot.makeUnaryRequest('/grpc.health.v1.Health/Check', raw, raw, Buffer.alloc(0), (e, r) => (e ? reject(e) : resolve(r!))),
    );
    expect([...reply]).toEqual([0x08, 1]); // HealthCheckResponse { status: SERVING }
    expect(world.decisions.lines.length).toBe(before);
  });

  it('goes unready and refuses new connections when the Workload API withdraws its SVID', async () => {
    const withdrawn = nextEvent(world.gateway.source, 'withdrawn');
    world.gatewayApi.setX509SvidResponse(null); // PermissionDenied "no identity issued", as SPIRE
    await withdrawn;
    const ready = await get(world, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('no X.509-SVID');
    const expiry = await world.gateway.metrics.registry.getSingleMetricAsString('toolgate_svid_expiry_seconds');
    expect(expiry).toMatch(/\ntoolgate_svid_expiry_seconds 0$/);

    const late = await world.agent(RESEARCH_BOT); // a new client: a new connection
    const err = await unaryCall(late, 'readFile', { path: '/m' }, { deadline: Date.now() + 2000 }).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
  });
});
