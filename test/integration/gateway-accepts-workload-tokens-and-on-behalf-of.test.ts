import * as grpc from '@grpc/grpc-js';
import { FilesClient } from '../../src/examples/files-proto';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GATEWAY_ID, GatewayWorld, POLICIES, RESEARCH_BOT, STRANGER } from './support/gateway-world';
import { call, listDirStatus, statusOf } from './support/task-calls';

const K8S_AGENT = 'spiffe://k8s.example/system/serviceaccount/tools/agent';

const TOKEN_POLICIES = {
  ...POLICIES,
  'tokens.cedar': `
// An unmapped workload reads only when it came with a bearer workload token.
@id("bearer-workloads-read")
permit (principal is Workload, action == Action::"tools.files.v1.Files/ReadFile", resource)
when { context.peer.authn == "jwt-svid" || context.peer.authn == "oidc" };

// Listing needs a user the agent acts for, and only alice may have it done for her.
@id("list-for-alice-only")
forbid (principal, action == Action::"tools.files.v1.Files/ListDir", resource)
unless { context has onBehalfOf && context.onBehalfOf.subject == "alice" };
`,
};

describe('callers without an SVID use workload tokens; agents may act on behalf of a user', () => {
  let k8s: OidcFixture;
  let users: OidcFixture;
  let world: GatewayWorld;
  let bearer: grpc.Client;

  beforeAll(async () => {
    k8s = await OidcFixture.create('https://oidc.k8s.example');
    users = await OidcFixture.create('https://login.example.com');
    world = await GatewayWorld.start({
      policies: TOKEN_POLICIES,
      verifyCallTokens: true,
      extraConfig: `
workloadTokens:
  listen: 127.0.0.1:0
  oidc:
    - { issuer: ${k8s.issuer}, audience: toolgate, jwksFile: ${k8s.jwksFile}, trustDomain: k8s.example }
onBehalfOf: { issuer: ${users.issuer}, audience: toolgate-users, jwksUri: "${users.jwksUri}" }
`,
    });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
    // A caller with no SVID: it trusts the gateway's CA and presents no certificate.
    const ca = world.spiffe.provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    bearer = new FilesClient(
      `127.0.0.1:${world.gateway.tokenAddress!.port}`,
      // The gateway's certificate names its SPIFFE ID, not a host name.
      grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }),
    );
  });
  afterAll(async () => {
    bearer?.close();
    await world?.close();
    await k8s?.close();
    await users?.close();
  });

  const withBearer = (token: string, metadata = new grpc.Metadata()) => {
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };

  it('accepts a JWT-SVID whose audience is the gateway, with context.peer.authn "jwt-svid"', async () => {
    const svid = await world.spiffe.provider.mintJwtSvid(STRANGER, [GATEWAY_ID]);
    const reply = await call<{ content: Buffer }>(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(svid));
    expect(reply.content.toString()).toBe('alpha');
    expect(world.decisions.lines.at(-1)).toMatchObject({ caller: STRANGER, principal: `Workload::"${STRANGER}"`, decision: 'allow', policies: ['bearer-workloads-read'] });
    expect(world.verifiedCalls.at(-1)).toMatchObject({ subject: STRANGER });
    // The same workload over mTLS has no bearer token: the policy does not permit it.
    expect(await statusOf(call(await world.agent(STRANGER), 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("maps a mapped agent's JWT-SVID to its agent, like its X.509-SVID", async () => {
    const svid = await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID]);
    await call(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(svid));
    expect(world.decisions.lines.at(-1)).toMatchObject({ principal: 'Agent::"research-bot"', decision: 'allow', policies: ['researchers-read-files'] });
  });

  it('accepts an OIDC workload token of a configured issuer, named spiffe://<trustDomain>/<sub>', async () => {
    const token = await k8s.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });
    await call(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(token));
    expect(world.decisions.lines.at(-1)).toMatchObject({ caller: K8S_AGENT, principal: `Workload::"${K8S_AGENT}"`, decision: 'allow', policies: ['bearer-workloads-read'] });
    expect(world.verifiedCalls.at(-1)).toMatchObject({ subject: K8S_AGENT });
  });

  it('refuses with UNAUTHENTICATED a missing, foreign-audience, or unknown-issuer token, and the tool sees nothing', async () => {
    const seen = world.verifiedCalls.length;
    expect(await statusOf(call(bearer, 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.UNAUTHENTICATED);
    const elsewhere = await world.spiffe.provider.mintJwtSvid(STRANGER, ['spiffe://example.org/some-other-service']);
    expect(await statusOf(call(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(elsewhere)))).toBe(grpc.status.UNAUTHENTICATED);
    const wrongAudience = await k8s.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'someone-else' });
    expect(await statusOf(call(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(wrongAudience)))).toBe(grpc.status.UNAUTHENTICATED);
    const userToken = await users.sign({ sub: 'alice', aud: 'toolgate' }); // a user token is no workload identity
    expect(await statusOf(call(bearer, 'readFile', { path: '/notes/a.txt' }, withBearer(userToken)))).toBe(grpc.status.UNAUTHENTICATED);
    expect(world.verifiedCalls.length).toBe(seen);
  });

  it('exposes a verified on-behalf-of user token as context.onBehalfOf and tells the tool', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const list = (metadata?: grpc.Metadata) => listDirStatus(bot, metadata);
    const onBehalfOf = async (sub: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('x-toolgate-on-behalf-of', await users.sign({ sub, aud: 'toolgate-users' }));
      return metadata;
    };
    expect(await list()).toBe(grpc.status.PERMISSION_DENIED);
    expect(await list(await onBehalfOf('bob'))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await list(await onBehalfOf('alice'))).toBe(grpc.status.OK);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'allow', onBehalfOf: 'alice' });
    expect(world.verifiedCalls.at(-1)!.onBehalfOf).toEqual({ issuer: users.issuer, subject: 'alice' });

    const forged = new grpc.Metadata();
    forged.set('x-toolgate-on-behalf-of', await k8s.sign({ sub: 'alice', aud: 'toolgate-users' }));
    expect(await list(forged)).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe("an OIDC issuer may not name its callers in the gateway's own trust domain", () => {
  it("refuses to start, naming the issuer, when the trust domain is the one of the gateway's SVID", async () => {
    const idp = await OidcFixture.create('https://oidc.example');
    try {
      const start = GatewayWorld.start({
        ownTrustDomainOnly: true,
        extraConfig: `workloadTokens:\n  listen: 127.0.0.1:0\n  oidc: [{ issuer: "${idp.issuer}", audience: toolgate, jwksFile: ${idp.jwksFile}, trustDomain: example.org }]\n`,
      });
      await expect(start).rejects.toThrow(`workloadTokens.oidc: trust domain "example.org" of ${idp.issuer} is the gateway's own`);
    } finally {
      await idp.close();
    }
  });
});
