import { OnBehalfOfTokenVerifier, WorkloadTokenError, type WorkloadTokenErrorCode } from '../../../src/identity';
import type { OnBehalfOfVerifier } from '../../../src/server/call-guard';
import { OidcFixture, strangerKey, tamper } from './support/oidc-fixture';

async function expectCode(promise: Promise<unknown>, code: WorkloadTokenErrorCode): Promise<WorkloadTokenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkloadTokenError);
  expect((err as WorkloadTokenError).code).toBe(code);
  return err as WorkloadTokenError;
}

describe('OnBehalfOfTokenVerifier', () => {
  let idp: OidcFixture;
  let other: OidcFixture;
  let now: number;

  const verifier = (jwks: 'uri' | 'file' = 'uri') =>
    new OnBehalfOfTokenVerifier(
      { issuer: idp.issuer, audience: 'toolgate-users', ...(jwks === 'uri' ? { jwksUri: idp.jwksUri } : { jwksFile: idp.jwksFile }) },
      { clock: () => now },
    );

  beforeAll(async () => {
    idp = await OidcFixture.create('https://login.example.com');
    other = await OidcFixture.create('https://other.example.com');
  });
  beforeEach(() => {
    now = Date.now();
  });
  afterAll(async () => {
    await idp.close();
    await other.close();
  });

  it.each(['uri', 'file'] as const)('verifies a user token (JWKS %s) into context.onBehalfOf', async (jwks) => {
    const token = await idp.sign({ sub: 'alice@example.com', aud: 'toolgate-users', email: 'ignored' });
    const verify: OnBehalfOfVerifier = verifier(jwks); // what the call guard expects
    expect(await verify.verify(token)).toEqual({ issuer: 'https://login.example.com', subject: 'alice@example.com' });
  });

  it('takes any subject as is: it names a user, not a workload', async () => {
    const token = await idp.sign({ sub: 'tenant/42|user:7', aud: 'toolgate-users' });
    expect((await verifier().verify(token)).subject).toBe('tenant/42|user:7');
  });

  it('refuses a wrong audience, another issuer, a missing sub, an expired token', async () => {
    const v = verifier();
    await expectCode(v.verify(await idp.sign({ sub: 'alice', aud: 'toolgate' })), 'ERR_TOKEN_AUDIENCE');
    await expectCode(v.verify(await other.sign({ sub: 'alice', aud: 'toolgate-users' })), 'ERR_TOKEN_ISSUER');
    await expectCode(v.verify(await idp.sign({ aud: 'toolgate-users' })), 'ERR_TOKEN_SUBJECT');
    await expectCode(v.verify(await idp.sign({ sub: 'alice', aud: 'toolgate-users', exp: Math.floor(now / 1000) - 61 })), 'ERR_TOKEN_EXPIRED');
  });

  it('refuses a bad signature, an unpublished key, alg none and HS256, never echoing the token', async () => {
    const v = verifier();
    const tampered = tamper(await idp.sign({ sub: 'alice', aud: 'toolgate-users' }));
    const err = await expectCode(v.verify(tampered), 'ERR_TOKEN_INVALID');
    for (const part of tampered.split('.')) expect(err.message).not.toContain(part);
    await expectCode(v.verify(await idp.sign({ sub: 'alice', aud: 'toolgate-users' }, { key: await strangerKey() })), 'ERR_TOKEN_INVALID');
    await expectCode(v.verify(idp.unsigned({ sub: 'alice', aud: 'toolgate-users' })), 'ERR_TOKEN_INVALID');
    await expectCode(v.verify(await idp.signHs256({ sub: 'alice', aud: 'toolgate-users' })), 'ERR_TOKEN_INVALID');
    await expectCode(v.verify('garbage'), 'ERR_TOKEN_INVALID');
    await expectCode(v.verify(''), 'ERR_TOKEN_MISSING');
  });

  it('refuses a plain-http JWKS URL that is not loopback', () => {
    expect(() => new OnBehalfOfTokenVerifier({ issuer: 'https://a', audience: 'b', jwksUri: 'http://login.example.com/jwks' })).toThrow(/https/);
  });

  it('caches a verified token until its exp, and not a refused one', async () => {
    const v = verifier();
    const exp = Math.floor(now / 1000) + 300;
    const token = await idp.sign({ sub: 'alice', aud: 'toolgate-users', exp });
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first);
    expect(v.cacheStats).toEqual({ size: 1, hits: 1, misses: 1 });
    now = exp * 1000 + 61_000;
    await expectCode(v.verify(token), 'ERR_TOKEN_EXPIRED');
    await expectCode(v.verify(token), 'ERR_TOKEN_EXPIRED');
    expect(v.cacheStats).toMatchObject({ hits: 1, misses: 3 });
  });
});
