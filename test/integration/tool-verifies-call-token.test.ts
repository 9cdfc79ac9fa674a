import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { mintCallToken, type CallTokenClaims } from '../../src/credentials/call-token';
import { JWKS_PATH, jwksHandler } from '../../src/credentials/jwks-route';
import { createCallTokenVerifier, type VerifiedCallClaims } from '../../src/credentials/call-token-verifier';
import { FilesClient, filesService } from '../../src/examples/files-proto';
import { filesServiceImplementation } from '../../src/examples/files-service';
import { ToolServer } from '../../src/examples/tool-server';
import { AdminServer } from '../../src/observability/admin-server';
import { authorizeId } from '../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../src/spiffe/tls/grpc-credentials';
import { SigningKeys } from '../../src/tasks/signing-keys';
import { SpiffeWorld } from './support/spiffe-world';

const GATEWAY_ID = 'spiffe://example.org/toolgate';
const FILES_ID = 'spiffe://example.org/tools/files';
const OTHER_TOOL_ID = 'spiffe://example.org/tools/other';
const AGENT_ID = 'spiffe://example.org/agents/research-bot';
const READ_FILE = 'tools.files.v1.Files/ReadFile';

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * The tool side of call tokens, end to end on loopback: the gateway's keys published by a
 * real admin server, the example files tool over SPIFFE mTLS verifying every call's token
 * against that JWKS with jose, and a grpc-js client (as the gateway) calling it directly.
 */
describe('a tool verifies the call token the gateway sends', () => {
  let world: SpiffeWorld;
  let admin: AdminServer;
  let keys: SigningKeys;
  let tool: ToolServer;
  let client: Client;
  const verified: VerifiedCallClaims[] = [];
  const files = new Map([['/docs/a.md', Buffer.from('hello')]]);

  beforeAll(async () => {
    world = await SpiffeWorld.create();
    keys = await SigningKeys.generate(Date.now);
    // The next key is in the JWKS the tool fetches on its first call, before it signs anything.
    await keys.prepare();
    admin = new AdminServer(new Registry(), () => undefined);
    admin.route(JWKS_PATH, jwksHandler(keys));
    const { port } = await admin.listen(0, '127.0.0.1');
    const callTokens = createCallTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}${JWKS_PATH}`, issuer: GATEWAY_ID, audience: FILES_ID });
    tool = await ToolServer.start(await world.workload(FILES_ID), authorizeId(GATEWAY_ID), [[filesService, filesServiceImplementation(files, { callTokens, verified })]]);
    const gatewaySource = await world.workload(GATEWAY_ID);
    client = new FilesClient(tool.target, grpcChannelCredentials(gatewaySource, authorizeId(FILES_ID))) as unknown as Client;
  });

  afterAll(async () => {
    client?.close();
    await tool?.close();
    await admin?.close();
    await world?.close();
  });

  const claims = (overrides: Partial<CallTokenClaims> = {}): CallTokenClaims => ({
    issuer: GATEWAY_ID,
    subject: AGENT_ID,
    audience: FILES_ID,
    scope: READ_FILE,
    taskId: 'task-7',
    taskExpiresAt: new Date(Date.now() + 600_000),
    agent: 'research-bot',
    ...overrides,
  });
  const bearer = (token: string) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };

  function readFile(md: grpc.Metadata): Promise<{ reply: { content: Buffer }; trailer: grpc.Metadata }> {
    return new Promise((resolve, reject) => {
      let trailer = new grpc.Metadata();
      const call = client.readFile({ path: '/docs/a.md' }, md, (err: grpc.ServiceError | null, reply: { content: Buffer }) =>
        err ? reject(err) : setImmediate(() => resolve({ reply, trailer })),
      ) as grpc.ClientUnaryCall;
      call.on('status', (status: grpc.StatusObject) => (trailer = status.metadata));
    });
  }

  function listDir(md: grpc.Metadata): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const names: string[] = [];
      const call = client.listDir({ path: '/docs' }, md) as grpc.ClientReadableStream<{ name: string }>;
      call.on('data', (entry: { name: string }) => names.push(entry.name));
      call.on('error', reject);
      call.on('end', () => resolve(names));
    });
  }

  function writeFile(md: grpc.Metadata): Promise<{ bytesWritten: number }> {
    return new Promise((resolve, reject) => {
      const call = client.writeFile(md, (err: grpc.ServiceError | null, reply: { bytesWritten: number }) =>
        err ? reject(err) : resolve(reply),
      ) as grpc.ClientWritableStream<object>;
      call.write({ path: '/docs/b.md', data: Buffer.from('ab') });
      call.write({ path: '/docs/b.md', data: Buffer.from('cd') });
      call.end();
    });
  }

  function sync(md: grpc.Metadata): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const statuses: string[] = [];
      const call = client.sync(md) as grpc.ClientDuplexStream<object, { status: string }>;
      call.on('data', (reply: { status: string }) => statuses.push(reply.status));
      call.on('error', reject);
      call.on('end', () => resolve(statuses));
      call.write({ path: '/docs/a.md', op: 'OP_STAT' });
      call.end();
    });
  }

  const refused = async (promise: Promise<unknown>, details?: RegExp) => {
    const err = (await promise.then(
      () => undefined,
      (e: unknown) => e,
    )) as grpc.ServiceError | undefined;
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    if (details) expect(err?.details).toMatch(details);
  };

  it('serves a call whose token verifies, and the handler sees the verified claims', async () => {
    verified.length = 0;
    const { reply, trailer } = await readFile(bearer(mintCallToken(keys, claims())));
    expect(reply.content.toString()).toBe('hello');
    expect(trailer.get('x-call-token-sub')).toEqual([AGENT_ID]);
    expect(trailer.get('x-call-token-task')).toEqual(['task-7']);
    expect(trailer.get('x-served-for')).toEqual(['research-bot']);
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({ subject: AGENT_ID, actor: GATEWAY_ID, scope: READ_FILE, taskId: 'task-7', agent: 'research-bot' });
  });

  it('serves every call type, each with a token scoped to its method', async () => {
    const scoped = (method: string) => bearer(mintCallToken(keys, claims({ scope: `tools.files.v1.Files/${method}` })));
    expect(await listDir(scoped('ListDir'))).toEqual(['a.md']);
    expect(await writeFile(scoped('WriteFile'))).toMatchObject({ bytesWritten: 4 });
    expect(files.get('/docs/b.md')?.toString()).toBe('abcd');
    expect(await sync(scoped('Sync'))).toEqual(['present, 5 bytes']);
  });

  it('refuses a token for another audience', async () => {
    await refused(readFile(bearer(mintCallToken(keys, claims({ audience: OTHER_TOOL_ID })))), /aud/);
  });

  it('refuses an expired token', async () => {
    await refused(readFile(bearer(mintCallToken(keys, claims(), Date.now() - 120_000))), /ERR_JWT_EXPIRED/);
    await refused(readFile(bearer(mintCallToken(keys, claims({ taskExpiresAt: new Date(Date.now() - 10_000) })))), /ERR_JWT_EXPIRED/);
  });

  it('refuses a token scoped to another method, on every call type', async () => {
    const forRead = () => bearer(mintCallToken(keys, claims({ scope: READ_FILE })));
    await refused(readFile(bearer(mintCallToken(keys, claims({ scope: 'tools.files.v1.Files/WriteFile' })))), /scope/);
    await refused(listDir(forRead()), /scope/);
    await refused(writeFile(forRead()), /scope/);
    await refused(sync(forRead()), /scope/);
  });

  it('refuses a call without a token, or with a malformed one', async () => {
    await refused(readFile(new grpc.Metadata()), /no authorization/);
    const basic = new grpc.Metadata();
    basic.set('authorization', 'Basic dXNlcjpwYXNz');
    await refused(readFile(basic), /Bearer/);
    await refused(readFile(bearer('not.a.jwt')));
  });

  it('refuses a token signed by a key not in the JWKS, or by another issuer', async () => {
    const stranger = await SigningKeys.generate(Date.now);
    await refused(readFile(bearer(mintCallToken(stranger, claims()))), /ERR_JWKS_NO_MATCHING_KEY/);
    await refused(readFile(bearer(mintCallToken(keys, claims({ issuer: 'spiffe://example.org/impostor' })))), /iss/);
  });

  it('across a rotation: accepts tokens of the old key while retained, and of a key published ahead at once', async () => {
    const before = mintCallToken(keys, claims());
    await keys.rotate();
    // The tool fetched the JWKS before this rotation and may not refetch for 30 s (jose's
    // cooldown): the new key verifies only because it was published ahead of signing.
    await expect(readFile(bearer(before))).resolves.toBeDefined();
    await expect(readFile(bearer(mintCallToken(keys, claims())))).resolves.toBeDefined();
    // A key never published ahead is refused until the tool's cache refreshes.
    await keys.rotate();
    await refused(readFile(bearer(mintCallToken(keys, claims()))), /ERR_JWKS_NO_MATCHING_KEY/);
  });
});
