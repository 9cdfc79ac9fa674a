import * as grpc from '@grpc/grpc-js';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIdentityProvider } from '../../../../src/spiffe/dev/identity-provider';
import { workloadApiMetadata, type JWTSVIDResponse, type ValidateJWTSVIDResponse, type SpiffeWorkloadAPIClient, type X509SVID } from '../../../../src/spiffe/workload/proto';
import { certificatesOf, rawClient, StreamReader, unary } from './raw-workload-client';

const A = 'spiffe://example.org/agents/a';
const B = 'spiffe://example.org/agents/b';
const FOREIGN = 'spiffe://partner.test/tools/x';

describe('DevIdentityProvider', () => {
  let dir: string;
  let provider: DevIdentityProvider;
  const clients: SpiffeWorkloadAPIClient[] = [];

  const connect = (address: string): SpiffeWorkloadAPIClient => {
    const client = rawClient(address);
    clients.push(client);
    return client;
  };
  const fetchJwt = (client: SpiffeWorkloadAPIClient, audience: string[], spiffeId = '') =>
    unary<JWTSVIDResponse>((cb) => client.FetchJWTSVID({ audience, spiffe_id: spiffeId }, workloadApiMetadata(), cb));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toolgate-idp-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await provider.close();
  });

  it('serves real X.509-SVIDs for the socket identities, default first, with own and federated bundles', async () => {
    const api = await provider.serve([A, FOREIGN], `unix://${join(dir, 'a.sock')}`);
    const client = connect(api.address);
    const svids = new StreamReader(client.FetchX509SVID({}, workloadApiMetadata()));
    const res = await svids.next();
    svids.cancel();

    expect(res.svids.map((s) => s.spiffe_id)).toEqual([A, FOREIGN]);
    expectValidSvid(res.svids[0], provider.x509Bundle('example.org'));
    expectValidSvid(res.svids[1], provider.x509Bundle('partner.test'));
    expect(res.federated_bundles).toEqual({ 'spiffe://partner.test': provider.x509Bundle('partner.test') });

    const bundles = new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata()));
    expect((await bundles.next()).bundles).toEqual({
      'spiffe://example.org': provider.x509Bundle('example.org'),
      'spiffe://partner.test': provider.x509Bundle('partner.test'),
    });
    bundles.cancel();

    const jwtBundles = new StreamReader(client.FetchJWTBundles({}, workloadApiMetadata()));
    const jwks = JSON.parse((await jwtBundles.next()).bundles['spiffe://example.org'].toString('utf8')) as JSONWebKeySet;
    jwtBundles.cancel();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String) });
  });

  it('issues leaves from an intermediate CA when asked', async () => {
    const withIntermediate = await DevIdentityProvider.create({ trustDomain: 'example.org', intermediate: true });
    try {
      const api = await withIntermediate.serve(A);
      const stream = new StreamReader(connect(api.address).FetchX509SVID({}, workloadApiMetadata()));
      const svid = (await stream.next()).svids[0];
      stream.cancel();
      expect(certificatesOf(svid.x509_svid)).toHaveLength(2);
      expectValidSvid(svid, withIntermediate.x509Bundle());
    } finally {
      await withIntermediate.close();
    }
  });

  it('rotate() pushes a new SVID (new key and serial) to an open stream', async () => {
    const api = await provider.serve(A, 'tcp://127.0.0.1:0');
    const stream = new StreamReader(connect(api.address).FetchX509SVID({}, workloadApiMetadata()));
    const before = (await stream.next()).svids[0];
    await provider.rotate();
    const after = (await stream.next()).svids[0];
    stream.cancel();

    expect(after.spiffe_id).toBe(A);
    expect(certificatesOf(after.x509_svid)[0].serialNumber).not.toBe(certificatesOf(before.x509_svid)[0].serialNumber);
    expect(after.x509_svid_key.equals(before.x509_svid_key)).toBe(false);
    expectValidSvid(after, provider.x509Bundle());
  });

  it('rotates on its own every rotateEveryMs, until closed', async () => {
    const rotating = await DevIdentityProvider.create({ trustDomain: 'example.org', rotateEveryMs: 50 });
    try {
      const api = await rotating.serve(A);
      const stream = new StreamReader(connect(api.address).FetchX509SVID({}, workloadApiMetadata()));
      const serials = new Set<string>();
      for (let i = 0; i < 3; i++) serials.add(certificatesOf((await stream.next()).svids[0].x509_svid)[0].serialNumber);
      expect(serials.size).toBe(3);
      await rotating.close();
      expect((await stream.status()).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await rotating.close();
    }
  });

  it('serveNoIdentity answers PermissionDenied "no identity issued" everywhere, as SPIRE does', async () => {
    const api = await provider.serveNoIdentity(`unix://${join(dir, 'none.sock')}`);
    const client = connect(api.address);
    for (const method of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles'] as const) {
      expect(await new StreamReader(client[method]({}, workloadApiMetadata())).status()).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: 'no identity issued',
      });
    }
    await expect(fetchJwt(client, ['svc'])).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
  });

  it('federate(td, false) pushes messages without that bundle, and true brings it back', async () => {
    const api = await provider.serve(A);
    const client = connect(api.address);
    const svids = new StreamReader(client.FetchX509SVID({}, workloadApiMetadata()));
    const x509 = new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata()));
    const jwt = new StreamReader(client.FetchJWTBundles({}, workloadApiMetadata()));
    await Promise.all([svids.next(), x509.next(), jwt.next()]);

    await provider.federate('partner.test', false);
    expect((await svids.next()).federated_bundles).toEqual({});
    expect(Object.keys((await x509.next()).bundles)).toEqual(['spiffe://example.org']);
    expect(Object.keys((await jwt.next()).bundles)).toEqual(['spiffe://example.org']);

    await provider.federate('partner.test', true);
    expect(Object.keys((await svids.next()).federated_bundles)).toEqual(['spiffe://partner.test']);
    expect(Object.keys((await x509.next()).bundles)).toEqual(['spiffe://example.org', 'spiffe://partner.test']);
    for (const r of [svids, x509, jwt]) r.cancel();
    await expect(provider.federate('example.org', false)).rejects.toThrow('not a configured federated trust domain');
  });

  describe('JWT-SVIDs', () => {
    it('requires an audience, and mints ES256 tokens that verify with the served JWKS', async () => {
      const api = await provider.serve([A, B]);
      const client = connect(api.address);
      await expect(fetchJwt(client, [])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' });

      const res = await fetchJwt(client, ['svc']);
      expect(res.svids.map((s) => s.spiffe_id)).toEqual([A, B]);
      const stream = new StreamReader(client.FetchJWTBundles({}, workloadApiMetadata()));
      const jwks = JSON.parse((await stream.next()).bundles['spiffe://example.org'].toString('utf8')) as JSONWebKeySet;
      stream.cancel();

      const token = res.svids[0].svid;
      const header = decodeProtectedHeader(token);
      expect(header).toEqual({ alg: 'ES256', kid: jwks.keys[0].kid, typ: 'JWT' });
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: 'svc', algorithms: ['ES256'] });
      expect(payload).toMatchObject({ sub: A, aud: 'svc' });
      expect(payload.exp! - payload.iat!).toBe(300);
    });

    it('mints only for the requested identity, and refuses one the socket is not', async () => {
      const api = await provider.serve([A, B]);
      const client = connect(api.address);
      const res = await fetchJwt(client, ['x', 'y'], B);
      expect(res.svids.map((s) => s.spiffe_id)).toEqual([B]);
      await expect(fetchJwt(client, ['x'], 'spiffe://example.org/agents/c')).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: 'no identity issued',
      });
    });

    it('ValidateJWTSVID round-trips a minted token (own and federated) and refuses a bad one', async () => {
      const api = await provider.serve([A, FOREIGN]);
      const client = connect(api.address);
      const validate = (svid: string, audience: string) => unary<ValidateJWTSVIDResponse>((cb) => client.ValidateJWTSVID({ audience, svid }, workloadApiMetadata(), cb));

      const [own, foreign] = (await fetchJwt(client, ['svc'])).svids;
      const res = await validate(own.svid, 'svc');
      expect(res.spiffe_id).toBe(A);
      expect(res.claims?.fields.sub).toEqual({ kind: 'stringValue', stringValue: A });
      expect((await validate(foreign.svid, 'svc')).spiffe_id).toBe(FOREIGN);

      await expect(validate(own.svid, 'other')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      const expired = await provider.mintJwtSvid(A, ['svc'], { ttlMs: -120_000 });
      await expect(validate(expired, 'svc')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'jwtsvid: token has expired' });
    });
  });

  it('rotateCa() overlaps old and new authorities until retirePreviousCas()', async () => {
    const api = await provider.serve(A);
    const client = connect(api.address);
    const svids = new StreamReader(client.FetchX509SVID({}, workloadApiMetadata()));
    const oldRoot = certificatesOf((await svids.next()).svids[0].bundle)[0];
    const oldToken = (await fetchJwt(client, ['svc'])).svids[0].svid;

    await provider.rotateCa();
    const rotated = (await svids.next()).svids[0];
    const roots = certificatesOf(rotated.bundle);
    expect(roots).toHaveLength(2);
    expect(roots[0].fingerprint256).toBe(oldRoot.fingerprint256);
    expect(certificatesOf(rotated.x509_svid)[0].checkIssued(roots[1])).toBe(true);
    expect(provider.jwtBundle().keys).toHaveLength(2);
    const validate = (svid: string) => unary<ValidateJWTSVIDResponse>((cb) => client.ValidateJWTSVID({ audience: 'svc', svid }, workloadApiMetadata(), cb));
    expect((await validate(oldToken)).spiffe_id).toBe(A);

    await provider.retirePreviousCas();
    expect(certificatesOf((await svids.next()).svids[0].bundle).map((c) => c.fingerprint256)).toEqual([roots[1].fingerprint256]);
    svids.cancel();
    await expect(validate(oldToken)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('refuses identities it cannot serve', async () => {
    await expect(provider.serve('spiffe://elsewhere.test/a')).rejects.toThrow('trust domain "elsewhere.test" is not configured');
    await expect(provider.serve('spiffe://example.org')).rejects.toThrow('is a trust domain ID, not a workload ID');
    await expect(provider.serve([A, A])).rejects.toThrow('same SPIFFE ID twice');
    await expect(provider.serve([])).rejects.toThrow('at least one SPIFFE ID');
  });

  it('issueX509 passes leaf options through to the trust domain CA, for tests of bad SVIDs', async () => {
    const svid = await provider.issueX509(A, { uris: [A, B] });
    expect(certificatesOf(Buffer.concat(svid.certificates))[0].subjectAltName).toBe(`URI:${A}, URI:${B}`);
    expect(provider.ca('partner.test').trustDomain.name).toBe('partner.test');
  });

  it('close() stops every endpoint and refuses further work', async () => {
    const api = await provider.serve(A);
    const stream = new StreamReader(connect(api.address).FetchX509SVID({}, workloadApiMetadata()));
    await stream.next();
    await provider.close();
    expect((await stream.status()).code).toBe(grpc.status.UNAVAILABLE);
    await expect(provider.rotate()).rejects.toThrow('closed');
  });
});

/** Chain → one of the bundle's roots, leaf flags as the Workload API needs, key matches leaf. */
function expectValidSvid(svid: X509SVID, bundle: Buffer): void {
  const chain = certificatesOf(svid.x509_svid);
  const roots = certificatesOf(bundle);
  const leaf = chain[0];
  expect(leaf.subjectAltName).toBe(`URI:${svid.spiffe_id}`);
  expect(svid.bundle.equals(bundle)).toBe(true);
  for (let i = 0; i < chain.length - 1; i++) expect(chain[i].verify(chain[i + 1].publicKey)).toBe(true);
  const top: X509Certificate = chain[chain.length - 1];
  expect(roots.some((root) => top.checkIssued(root) && top.verify(root.publicKey))).toBe(true);
  expect(leaf.checkPrivateKey(createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' }))).toBe(true);
}
