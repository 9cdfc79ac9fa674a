import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spiffeIdFromSubject, WorkloadTokenAuthenticator, WorkloadTokenError, type WorkloadTokenAuthenticatorOptions, type WorkloadTokenErrorCode } from '../../../src/identity';
import { DevIdentityProvider } from '../../../src/spiffe/dev/identity-provider';
import { TrustDomain } from '../../../src/spiffe/id';
import { JwtSource } from '../../../src/spiffe/workload/jwt-source';
import { closedPort, OidcFixture, strangerKey, tamper } from './support/oidc-fixture';

const GATEWAY = 'spiffe://example.org/gateway';
const BOT = 'spiffe://example.org/agents/bot';
const K8S = TrustDomain.parse('k8s.example');
const ACCEPTED = new Set(['example.org', 'k8s.example']);
const SA = 'system:serviceaccount:tools:agent';

async function refusal(promise: Promise<unknown>): Promise<WorkloadTokenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkloadTokenError);
  return err as WorkloadTokenError;
}

async function expectCode(promise: Promise<unknown>, code: WorkloadTokenErrorCode): Promise<WorkloadTokenError> {
  const err = await refusal(promise);
  expect(err.code).toBe(code);
  return err;
}

describe('WorkloadTokenAuthenticator', () => {
  let provider: DevIdentityProvider;
  let dir: string;
  let jwt: JwtSource;
  let remote: OidcFixture;
  let file: OidcFixture;
  let now: number;

  const authenticator = (options: Partial<WorkloadTokenAuthenticatorOptions> = {}) =>
    new WorkloadTokenAuthenticator({
      jwtSvid: { bundles: jwt, audience: () => GATEWAY },
      oidc: [
        { issuer: remote.issuer, audience: 'toolgate', jwksUri: remote.jwksUri, trustDomain: K8S },
        { issuer: file.issuer, audience: 'toolgate', jwksFile: file.jwksFile, trustDomain: K8S },
      ],
      acceptTrustDomain: (td) => ACCEPTED.has(td.name),
      clock: () => now,
      ...options,
    });

  beforeAll(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    dir = mkdtempSync(join(tmpdir(), 'tg-wta-'));
    const api = await provider.serve(GATEWAY, `unix://${join(dir, 'api.sock')}`);
    jwt = await JwtSource.create({ address: api.address, timeoutMs: 5000 });
    remote = await OidcFixture.create('https://oidc.k8s.example');
    file = await OidcFixture.create('https://file.k8s.example');
  });
  beforeEach(() => {
    now = Date.now();
  });
  afterAll(async () => {
    jwt.close();
    await provider.close();
    await remote.close();
    await file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('JWT-SVIDs', () => {
    it('authenticates a JWT-SVID for the gateway as its SPIFFE ID', async () => {
      const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
      const caller = await authenticator().authenticate(token);
      expect(caller.id.toString()).toBe(BOT);
      expect(caller.authn).toBe('jwt-svid');
      expect(caller.peer).toEqual({ spiffeId: BOT, trustDomain: 'example.org', authn: 'jwt-svid' });
      expect(caller.key).toBeUndefined(); // bound by its SPIFFE ID
      expect(caller.expiresAt.getTime()).toBeGreaterThan(Date.now());
    });

    it("refuses a JWT-SVID whose subject is a trust domain's root ID, as the mTLS listener refuses such a certificate", async () => {
      const token = await provider.mintJwtSvid('spiffe://example.org', [GATEWAY]);
      const err = await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_SUBJECT');
      expect(err.message).toBe('JWT-SVID refused: subject spiffe://example.org is a trust domain, not a workload');
    });

    it('refuses a JWT-SVID for another audience', async () => {
      const token = await provider.mintJwtSvid(BOT, ['spiffe://example.org/someone-else']);
      await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_AUDIENCE');
    });

    it('follows the audience when the gateway SVID changes', async () => {
      let audience = GATEWAY;
      const auth = authenticator({ jwtSvid: { bundles: jwt, audience: () => audience } });
      const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
      await auth.authenticate(token);
      audience = 'spiffe://example.org/gateway-2';
      await expectCode(auth.authenticate(token), 'ERR_TOKEN_AUDIENCE');
    });

    it('refuses a valid JWT-SVID of a trust domain that is not accepted, even with its bundle at hand', async () => {
      const token = await provider.mintJwtSvid('spiffe://partner.test/agent', [GATEWAY]);
      const err = await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_TRUST_DOMAIN');
      expect(err.message).toContain('partner.test');
    });

    it('refuses an expired JWT-SVID (beyond 60 s of skew)', async () => {
      const token = await provider.mintJwtSvid(BOT, [GATEWAY], { ttlMs: 1000 });
      now = Date.now() + 30_000;
      await authenticator().authenticate(token); // within the leeway
      now = Date.now() + 62_000;
      await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_EXPIRED');
    });

    it('refuses a JWT-SVID with a bad signature, and never puts the token in the message', async () => {
      const token = tamper(await provider.mintJwtSvid(BOT, [GATEWAY]));
      const err = await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_INVALID');
      for (const part of token.split('.')) expect(err.message).not.toContain(part);
    });

    it('refuses JWT-SVIDs when they are not enabled', async () => {
      const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
      await expectCode(authenticator({ jwtSvid: undefined }).authenticate(token), 'ERR_TOKEN_ISSUER');
    });

    it('re-verifies a cached JWT-SVID after a bundle update, so a retired key stops working at once', async () => {
      const auth = authenticator();
      const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
      await auth.authenticate(token);
      await auth.authenticate(token);
      expect(auth.cacheStats).toMatchObject({ hits: 1, misses: 1 });

      const updated = () => new Promise<void>((resolve) => jwt.once('update', () => resolve()));
      let update = updated();
      await provider.rotateCa();
      await update;
      await auth.authenticate(token); // the old key is still in the bundle
      expect(auth.cacheStats).toMatchObject({ hits: 1, misses: 2 });

      update = updated();
      await provider.retirePreviousCas();
      await update;
      await expectCode(auth.authenticate(token), 'ERR_TOKEN_INVALID');
    });
  });

  describe('OIDC workload tokens', () => {
    it('authenticates a token of a JWKS-URL issuer, mapping sub to a SPIFFE ID in its trust domain', async () => {
      const token = await remote.sign({ sub: SA, aud: 'toolgate' });
      const caller = await authenticator().authenticate(token);
      expect(caller.id.toString()).toBe('spiffe://k8s.example/system/serviceaccount/tools/agent');
      expect(caller.authn).toBe('oidc');
      expect(caller.peer).toEqual({ spiffeId: 'spiffe://k8s.example/system/serviceaccount/tools/agent', trustDomain: 'k8s.example', authn: 'oidc' });
      // MCP sessions are bound to the issuer's subject.
      expect(caller.key).toBe(`${remote.issuer}#${SA}`);
    });

    it('authenticates a token of a JWKS-file issuer, and an aud list that contains the audience', async () => {
      const token = await file.sign({ sub: 'ci-runner', aud: ['other', 'toolgate'] });
      expect((await authenticator().authenticate(token)).id.toString()).toBe('spiffe://k8s.example/ci-runner');
    });

    it('refuses a wrong audience, an unknown issuer, a missing sub or exp', async () => {
      const auth = authenticator();
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'not-toolgate' })), 'ERR_TOKEN_AUDIENCE');
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate', iss: 'https://elsewhere.example' })), 'ERR_TOKEN_ISSUER');
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate', iss: undefined })), 'ERR_TOKEN_ISSUER');
      await expectCode(auth.authenticate(await remote.sign({ aud: 'toolgate' })), 'ERR_TOKEN_SUBJECT');
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate', exp: undefined })), 'ERR_TOKEN_INVALID');
      await expectCode(auth.authenticate(await remote.sign({ sub: SA })), 'ERR_TOKEN_AUDIENCE'); // no aud at all
    });

    it('picks the issuer by exact iss: a token signed by one issuer but naming the other fails', async () => {
      const token = await remote.sign({ sub: SA, aud: 'toolgate', iss: file.issuer });
      await expectCode(authenticator().authenticate(token), 'ERR_TOKEN_INVALID');
    });

    it('refuses an expired token beyond 60 s of skew, and accepts one within it', async () => {
      const token = await remote.sign({ sub: SA, aud: 'toolgate', exp: Math.floor(Date.now() / 1000) - 30 });
      await authenticator().authenticate(token);
      const old = await remote.sign({ sub: SA, aud: 'toolgate', exp: Math.floor(Date.now() / 1000) - 90 });
      await expectCode(authenticator().authenticate(old), 'ERR_TOKEN_EXPIRED');
    });

    it('refuses a bad signature and a key the issuer never published', async () => {
      const auth = authenticator();
      await expectCode(auth.authenticate(tamper(await remote.sign({ sub: SA, aud: 'toolgate' }))), 'ERR_TOKEN_INVALID');
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate' }, { key: await strangerKey() })), 'ERR_TOKEN_INVALID');
      await expectCode(auth.authenticate(await file.sign({ sub: SA, aud: 'toolgate' }, { key: await strangerKey() })), 'ERR_TOKEN_INVALID');
    });

    it('refuses alg none and HS256', async () => {
      const auth = authenticator();
      await expectCode(auth.authenticate(remote.unsigned({ sub: SA, aud: 'toolgate' })), 'ERR_TOKEN_INVALID');
      await expectCode(auth.authenticate(await remote.signHs256({ sub: SA, aud: 'toolgate' })), 'ERR_TOKEN_INVALID');
      await expectCode(auth.authenticate(await file.signHs256({ sub: SA, aud: 'toolgate' })), 'ERR_TOKEN_INVALID');
    });

    it('refuses what is not a JWT, and no token at all', async () => {
      await expectCode(authenticator().authenticate('not-a-jwt'), 'ERR_TOKEN_INVALID');
      await expectCode(authenticator().authenticate(''), 'ERR_TOKEN_MISSING');
    });

    it('refuses subjects that would not map one-to-one to a SPIFFE ID', async () => {
      const auth = authenticator();
      for (const sub of ['a/b', 'a::b', ':a', 'a:', 'a b', 'agent@example', 'ägent', '.', 'a:..:b', '']) {
        const err = await expectCode(auth.authenticate(await remote.sign({ sub, aud: 'toolgate' })), 'ERR_TOKEN_SUBJECT');
        expect(err.message).toContain('subject');
      }
      expect(spiffeIdFromSubject(K8S, 'system:serviceaccount:tools:agent').toString()).toBe('spiffe://k8s.example/system/serviceaccount/tools/agent');
      expect(spiffeIdFromSubject(K8S, 'A.b_c-9').toString()).toBe('spiffe://k8s.example/A.b_c-9');
      expect(() => spiffeIdFromSubject(K8S, 'x/y')).toThrow(WorkloadTokenError);
    });

    it('refuses an issuer whose trust domain is not accepted', async () => {
      const auth = authenticator({
        oidc: [{ issuer: remote.issuer, audience: 'toolgate', jwksUri: remote.jwksUri, trustDomain: TrustDomain.parse('elsewhere.example') }],
      });
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate' })), 'ERR_TOKEN_TRUST_DOMAIN');
    });

    it('refuses a plain-http JWKS URL except on loopback, and a bad issuer list', () => {
      const td = { audience: 'toolgate', trustDomain: K8S };
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', jwksUri: 'http://issuer.example/jwks', ...td }] })).toThrow(/https/);
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', jwksUri: 'http://localhost:1/jwks', ...td }] })).not.toThrow();
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', jwksUri: 'http://[::1]:1/jwks', ...td }] })).not.toThrow();
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', jwksUri: 'https://a/jwks', jwksFile: file.jwksFile, ...td }] })).toThrow(/exactly one/);
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', ...td }] })).toThrow(/exactly one/);
      const twice = { issuer: 'https://a', jwksFile: file.jwksFile, ...td };
      expect(() => authenticator({ oidc: [twice, twice] })).toThrow(/twice/);
      expect(() => authenticator({ oidc: [{ issuer: 'https://a', jwksFile: join(dir, 'missing.json'), ...td }] })).toThrow(/ENOENT/);
    });

    it('reports an unreachable JWKS as keys unavailable', async () => {
      const auth = authenticator({
        oidc: [{ issuer: remote.issuer, audience: 'toolgate', jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`, trustDomain: K8S }],
      });
      await expectCode(auth.authenticate(await remote.sign({ sub: SA, aud: 'toolgate' })), 'ERR_TOKEN_KEYS_UNAVAILABLE');
    });
  });

  describe('the cache', () => {
    it('answers a repeated token without verifying it again', async () => {
      const auth = authenticator();
      const iat = Math.floor(now / 1000);
      const token = await remote.sign({ sub: SA, aud: 'toolgate', nbf: iat, iat });
      const first = await auth.authenticate(token);
      // Before nbf (beyond the skew) a verification would refuse the token: only a cache hit accepts it.
      now -= 120_000;
      expect(await auth.authenticate(token)).toBe(first);
      expect(auth.cacheStats).toEqual({ size: 1, hits: 1, misses: 1 });
    });

    it('shares one verification between concurrent first uses', async () => {
      const auth = authenticator();
      const token = await provider.mintJwtSvid(BOT, [GATEWAY]);
      const [a, b] = await Promise.all([auth.authenticate(token), auth.authenticate(token)]);
      expect(a).toBe(b);
      expect(auth.cacheStats.misses).toBe(1);
    });

    it('never keeps a token past its exp', async () => {
      const auth = authenticator();
      const exp = Math.floor(now / 1000) + 120;
      const token = await remote.sign({ sub: SA, aud: 'toolgate', exp });
      await auth.authenticate(token);
      now = exp * 1000 - 1000;
      await auth.authenticate(token);
      expect(auth.cacheStats).toMatchObject({ hits: 1, misses: 1 });
      now = exp * 1000;
      await auth.authenticate(token); // verified again (still within the skew)
      expect(auth.cacheStats).toMatchObject({ hits: 1, misses: 2 });
      now = exp * 1000 + 61_000;
      await expectCode(auth.authenticate(token), 'ERR_TOKEN_EXPIRED');
    });

    it('does not cache refusals, and re-asks whether the trust domain is accepted on a hit', async () => {
      let accepted = true;
      const auth = authenticator({ acceptTrustDomain: () => accepted });
      const token = await remote.sign({ sub: SA, aud: 'toolgate' });
      await auth.authenticate(token);
      accepted = false;
      await expectCode(auth.authenticate(token), 'ERR_TOKEN_TRUST_DOMAIN');
      accepted = true;
      await auth.authenticate(token);
    });

    it('keeps at most cacheSize tokens', async () => {
      const auth = authenticator({ cacheSize: 2 });
      for (const sub of ['a', 'b', 'c']) await auth.authenticate(await remote.sign({ sub, aud: 'toolgate' }));
      expect(auth.cacheStats.size).toBe(2);
    });
  });
});
