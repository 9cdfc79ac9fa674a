import * as grpc from '@grpc/grpc-js';
import { FilesClient } from '../../src/examples/files-proto';
import { GatewayWorld, RESEARCH_BOT, STRANGER } from './support/gateway-world';

function readFile(client: grpc.Client): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    (client as unknown as { readFile: (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void }).readFile(
      { path: '/x' },
      { deadline: Date.now() + 3000 },
      (e) => resolve(e),
    ),
  );
}

describe('the gateway authenticates callers by SPIFFE ID', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start();
  });
  afterAll(() => world.close());

  it('refuses a caller with no client certificate at the handshake', async () => {
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const client = new FilesClient(world.target, grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }));
    const err = await readFile(client);
    client.close();
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses a caller from a trust domain the gateway does not accept, even with a valid federated SVID', async () => {
    const before = world.decisions.lines.length;
    const partner = world.client(FilesClient, await world.spiffe.workload('spiffe://partner.test/agents/helper'));
    const err = await readFile(partner);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(world.decisions.lines.length).toBe(before); // refused before any call existed
  });

  it('treats a trusted but unmapped SPIFFE ID as a Workload principal, denied by default', async () => {
    const stranger = await world.agent(STRANGER);
    const err = await readFile(stranger);
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: `Workload::"${STRANGER}"`, decision: 'deny' });
  });

  it('still serves mapped agents', async () => {
    world.files.set('/x', Buffer.from('ok'));
    const bot = await world.agent(RESEARCH_BOT);
    expect(await readFile(bot)).toBeNull();
  });
});
