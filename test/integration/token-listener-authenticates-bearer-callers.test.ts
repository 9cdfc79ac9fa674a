import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadTokenAuthenticator } from '../../src/identity';
import type { Caller } from '../../src/server/call-context';
import { TokenListener } from '../../src/server/token-listener';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import { TrustDomain } from '../../src/spiffe/id';
import { JwtSource } from '../../src/spiffe/workload/jwt-source';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { OidcFixture, tamper } from '../unit/identity/support/oidc-fixture';

const GATEWAY = 'spiffe://example.org/gateway';
const BOT = 'spiffe://example.org/agents/bot';
const METHOD = '/test.v1.Echo/Unary';

/** Stands in for the call pipeline: records who called, and answers OK with an empty message. */
class RecordingPipeline {
  readonly calls: { caller: Caller; headers: IncomingHttpHeaders }[] = [];

  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, caller: Caller): void {
    this.calls.push({ caller, headers });
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.alloc(5)); // one empty, uncompressed message
  }
}

describe('the token listener authenticates bearer callers', () => {
  let provider: DevIdentityProvider;
  let dir: string;
  let x509: X509Source;
  let jwt: JwtSource;
  let idp: OidcFixture;
  let pipeline: RecordingPipeline;
  let rejected: string[];
  let codes: string[];
  let decisionIds: string[];
  let listener: TokenListener;
  let client: grpc.Client;
  let authenticate: (token: string) => Promise<Caller>;

  beforeAll(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    dir = mkdtempSync(join(tmpdir(), 'tg-token-'));
    const api = await provider.serve(GATEWAY, `unix://${join(dir, 'api.sock')}`);
    x509 = await X509Source.create({ address: api.address, timeoutMs: 5000 });
    jwt = await JwtSource.create({ address: api.address, timeoutMs: 5000 });
    idp = await OidcFixture.create('https://oidc.k8s.example');
    const authenticator = new WorkloadTokenAuthenticator({
      jwtSvid: { bundles: jwt, audience: () => x509.getX509Svid().id.toString() },
      oidc: [{ issuer: idp.issuer, audience: 'toolgate', jwksFile: idp.jwksFile, trustDomain: TrustDomain.parse('k8s.example') }],
      acceptTrustDomain: (td) => td.name === 'example.org' || td.name === 'k8s.example',
    });
    authenticate = (token) => authenticator.authenticate(token);
    pipeline = new RecordingPipeline();
    rejected = [];
    codes = [];
    decisionIds = [];
    listener = new TokenListener(x509, { authenticate: (token) => authenticate(token) }, pipeline, {
      onRejectedCall: (reason, code, decisionId) => {
        rejected.push(reason);
        codes.push(code);
        decisionIds.push(decisionId);
      },
    });
    const { port } = await listener.listen(0, '127.0.0.1');
    // A caller without an SVID: trusts the gateway's CA, presents no certificate.
    const ca = provider.x509Bundle('example.org');
    const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(pem), null, null, { checkServerIdentity: () => undefined }));
  });

  afterAll(async () => {
    client?.close();
    await listener?.drain(100);
    jwt?.close();
    x509?.close();
    await idp?.close();
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    pipeline.calls.length = 0;
    rejected.length = 0;
    codes.length = 0;
    decisionIds.length = 0;
  });

  function call(authorization?: string, deadlineMs = 5000): Promise<grpc.ServiceError | null> {
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set('authorization', authorization);
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        METHOD,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err) => resolve(err),
      ),
    );
  }

  it('hands a call with a JWT-SVID for the gateway to the pipeline as that caller', async () => {
    const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
    expect(await call(`Bearer ${token}`)).toBeNull();
    expect(pipeline.calls).toHaveLength(1);
    const { caller, headers } = pipeline.calls[0];
    expect(caller.id.toString()).toBe(BOT);
    expect(caller.peer).toEqual({ spiffeId: BOT, trustDomain: 'example.org', authn: 'jwt-svid' });
    expect(headers[':path']).toBe(METHOD);
    expect(rejected).toEqual([]);
  });

  it('hands a call with an OIDC workload token to the pipeline as the mapped SPIFFE ID', async () => {
    const token = await idp.sign({ sub: 'system:serviceaccount:tools:agent', aud: 'toolgate' });
    expect(await call(`bearer ${token}`)).toBeNull();
    expect(pipeline.calls.map((c) => c.caller.peer)).toEqual([{ spiffeId: 'spiffe://k8s.example/system/serviceaccount/tools/agent', trustDomain: 'k8s.example', authn: 'oidc' }]);
  });

  it('serves repeated calls with one token, on one connection', async () => {
    const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
    for (let i = 0; i < 3; i++) expect(await call(`Bearer ${token}`)).toBeNull();
    expect(pipeline.calls).toHaveLength(3);
    expect(listener.activeSessions).toBe(1);
  });

  it.each([
    ['no authorization', undefined, 'no authorization header'],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz', 'authorization is not one Bearer token'],
    ['a Bearer without a token', 'Bearer', 'authorization is not one Bearer token'],
    ['something that is not a JWT', 'Bearer nonsense', 'not a JWT'],
  ])('refuses a call with %s as UNAUTHENTICATED, before the pipeline', async (_, authorization, reason) => {
    const err = await call(authorization);
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toBe(`unauthenticated (decision ${decisionIds[0]})`);
    expect(pipeline.calls).toHaveLength(0);
    expect(rejected).toEqual([reason]);
  });

  it('refuses a forged, a misaddressed or an expired JWT-SVID with the same generic status; the reason goes only to the log', async () => {
    const forged = tamper(await provider.mintJwtSvid(BOT, [GATEWAY]));
    const elsewhere = await provider.mintJwtSvid(BOT, ['spiffe://example.org/other-gateway']);
    const expired = await provider.mintJwtSvid(BOT, [GATEWAY], { ttlMs: -120_000 });
    for (const token of [forged, elsewhere, expired]) {
      const err = await call(`Bearer ${token}`);
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err?.details).toBe(`unauthenticated (decision ${decisionIds.at(-1)})`);
    }
    expect(pipeline.calls).toHaveLength(0);
    expect(codes).toEqual(['ERR_TOKEN_INVALID', 'ERR_TOKEN_AUDIENCE', 'ERR_TOKEN_EXPIRED']);
    expect(rejected[1]).toContain('expected audience');
    expect(rejected[2]).toContain('expired');
    for (const reason of rejected) expect(reason).not.toContain(forged.split('.')[2]);
  });

  it("refuses a valid JWT-SVID whose subject is the trust domain's root ID (no workload), before the pipeline", async () => {
    const root = await provider.mintJwtSvid('spiffe://example.org', [GATEWAY]);
    const err = await call(`Bearer ${root}`);
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toBe(`unauthenticated (decision ${decisionIds.at(-1)})`);
    expect(pipeline.calls).toHaveLength(0);
    expect(codes).toEqual(['ERR_TOKEN_SUBJECT']);
  });

  /** Makes authentication wait until `release()`; `restore()` releases and puts the real one back. */
  function holdAuthentication(): { release: () => void; restore: () => void } {
    const real = authenticate;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    authenticate = async (t) => {
      await held;
      return real(t);
    };
    return { release, restore: () => ((authenticate = real), release()) };
  }

  it('never hands the pipeline a stream whose caller gave up while its token was being checked', async () => {
    const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
    const { release, restore } = holdAuthentication();
    try {
      const err = await call(`Bearer ${token}`, 200);
      expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the client's RST_STREAM reaches the server
      release();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pipeline.calls).toHaveLength(0);
    } finally {
      restore();
    }
    expect(await call(`Bearer ${token}`)).toBeNull(); // the connection still serves
  });

  it('survives a caller resetting its stream with an error while its token is being checked', async () => {
    const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
    const { release, restore } = holdAuthentication();
    const ca = provider.x509Bundle('example.org');
    const session = connect(`https://127.0.0.1:${listener.address().port}`, {
      ca: `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`,
      checkServerIdentity: () => undefined,
    });
    try {
      const stream = session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${token}` });
      stream.on('error', () => {});
      await new Promise((resolve) => stream.once('ready', resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pipeline.calls).toHaveLength(0);
    } finally {
      restore();
      session.close();
    }
    expect(await call(`Bearer ${token}`)).toBeNull(); // the listener (and the process) still serve
  });

  it('drains: GOAWAY to live sessions, then no new connections', async () => {
    const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
    expect(await call(`Bearer ${token}`)).toBeNull();
    expect(listener.activeSessions).toBe(1);
    await listener.drain(1000);
    expect(listener.activeSessions).toBe(0);
    const err = await call(`Bearer ${token}`, 1000);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });
});
