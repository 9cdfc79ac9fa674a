import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevWorkloadApi } from '../../../../src/spiffe/dev/workload-api-server';
import {
  workloadApiMetadata,
  type JWTSVIDResponse,
  type ValidateJWTSVIDResponse,
  type SpiffeWorkloadAPIClient,
  type X509SVIDResponse,
} from '../../../../src/spiffe/workload/proto';
import { waitUntil } from '../../../integration/support/workload-fixtures';
import { metadataWith, rawClient, StreamReader, unary } from './raw-workload-client';

const svidResponse = (id: string): X509SVIDResponse => ({
  svids: [{ spiffe_id: id, x509_svid: Buffer.from([1]), x509_svid_key: Buffer.from([2]), bundle: Buffer.from([3]), hint: '' }],
  crl: [],
  federated_bundles: { 'spiffe://other.test': Buffer.from([4]) },
});

describe('DevWorkloadApi', () => {
  let dir: string;
  let api: DevWorkloadApi;
  let client: SpiffeWorkloadAPIClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toolgate-wl-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    api = await DevWorkloadApi.start({ address: `unix://${join(dir, 'wl.sock')}` });
    client = rawClient(api.address);
  });
  afterEach(async () => {
    client.close();
    await api.stop();
  });

  const x509Stream = (md = workloadApiMetadata()) => new StreamReader(client.FetchX509SVID({}, md));

  it('listens on the unix socket it reports, and sends the current response at once', async () => {
    expect(api.address).toBe(`unix://${join(dir, 'wl.sock')}`);
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    const reader = x509Stream();
    const first = await reader.next();
    expect(first.svids[0].spiffe_id).toBe('spiffe://example.org/a');
    expect(first.federated_bundles['spiffe://other.test']).toEqual(Buffer.from([4]));
    expect(api.callsTo('FetchX509SVID')[0]).toMatchObject({ code: undefined, messages: 1 });
    reader.cancel();
  });

  it('also listens on tcp://127.0.0.1:0 and reports the real port', async () => {
    const tcp = await DevWorkloadApi.start();
    const tcpClient = rawClient(tcp.address);
    try {
      expect(tcp.address).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      tcp.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}') } });
      const reader = new StreamReader(tcpClient.FetchJWTBundles({}, workloadApiMetadata()));
      expect((await reader.next()).bundles['spiffe://example.org'].toString()).toBe('{"keys":[]}');
      reader.cancel();
    } finally {
      tcpClient.close();
      await tcp.stop();
    }
  });

  describe('security header', () => {
    const streaming = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles', 'FetchWITSVID', 'FetchWITBundles'] as const;

    it.each([
      ['missing', metadataWith()],
      ['duplicated', metadataWith('true', 'true')],
      ['not exactly "true"', metadataWith('TRUE')],
    ])('is checked on every method: %s → InvalidArgument', async (_case, md) => {
      api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
      for (const method of streaming) {
        const status = await new StreamReader(client[method]({}, md)).status();
        expect([method, status.code, status.details]).toEqual([method, grpc.status.INVALID_ARGUMENT, 'security header missing from request']);
      }
      for (const call of [
        () => unary((cb) => client.FetchJWTSVID({ audience: ['a'] }, md, cb)),
        () => unary((cb) => client.ValidateJWTSVID({ audience: 'a', svid: 'x.y.z' }, md, cb)),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' });
      }
      expect(api.calls).toHaveLength(7);
      expect(api.calls.every((c) => c.code === grpc.status.INVALID_ARGUMENT)).toBe(true);
    });
  });

  it('answers PermissionDenied while no response is set, and ends open streams when it is withdrawn', async () => {
    expect(await x509Stream().status()).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
    await expect(unary((cb) => client.FetchJWTSVID({ audience: ['a'] }, workloadApiMetadata(), cb))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'no identity issued',
    });

    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    const reader = x509Stream();
    await reader.next();
    api.setX509SvidResponse(null);
    expect(await reader.status()).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
    expect(api.callsTo('FetchX509SVID').map((c) => c.code)).toEqual([grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED]);
  });

  it('pushes every new response to every open stream, without checking its content', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    const readers = [x509Stream(), x509Stream()];
    for (const r of readers) await r.next();

    api.setX509SvidResponse({ svids: [] }); // malformed on purpose: clients must discard it
    api.setX509SvidResponse({ svids: [{ spiffe_id: '' }] });
    api.setX509SvidResponse(svidResponse('spiffe://example.org/b'));
    for (const r of readers) {
      expect((await r.next()).svids).toEqual([]);
      expect((await r.next()).svids[0].spiffe_id).toBe('');
      expect((await r.next()).svids[0].spiffe_id).toBe('spiffe://example.org/b');
      r.cancel();
    }
  });

  it('records each call with its metadata, request and final status', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    const reader = x509Stream();
    await reader.next();
    reader.cancel();
    await reader.status();
    await waitUntil(() => api.calls[0].code !== undefined);
    const [call] = api.calls;
    expect(call).toMatchObject({ method: 'FetchX509SVID', request: {}, code: grpc.status.CANCELLED, messages: 1 });
    expect(call.metadata['workload.spiffe.io']).toEqual(['true']);
    expect(call.at).toBeLessThanOrEqual(Date.now());
  });

  it('failNext answers the next N calls of a method with the scripted status, then serves normally', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    api.failNext('FetchX509SVID', grpc.status.UNAVAILABLE, 'workload attestation failed', 2);
    api.failNext('FetchJWTSVID', grpc.status.UNAVAILABLE, 'rate limit exceeded for FetchJWTSVID');
    for (let i = 0; i < 2; i++) {
      expect(await x509Stream().status()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'workload attestation failed' });
    }
    const reader = x509Stream();
    await reader.next();
    reader.cancel();
    await expect(unary((cb) => client.FetchJWTSVID({ audience: ['a'] }, workloadApiMetadata(), cb))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    // The header is checked first, as SPIRE's middleware does, so a bad call does not use up a scripted failure.
    api.failNext('FetchX509Bundles', grpc.status.UNAVAILABLE, 'later');
    expect((await new StreamReader(client.FetchX509Bundles({}, metadataWith())).status()).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata())).status()).details).toBe('later');
  });

  it('endStreams ends open streams with a status (OK ends them normally)', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    api.setX509BundlesResponse({ bundles: {} });
    const svids = x509Stream();
    const bundles = new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata()));
    await Promise.all([svids.next(), bundles.next()]);
    api.endStreams('FetchX509Bundles', grpc.status.OK, '');
    expect((await bundles.status()).code).toBe(grpc.status.OK);
    api.endStreams('all', grpc.status.UNAVAILABLE, 'going away');
    expect(await svids.status()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'going away' });
  });

  it('bareBundleKeys keys bundle maps by trust-domain name and re-sends the current state', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    api.setX509BundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from([1]), 'other.test': Buffer.from([2]) } });
    const svids = x509Stream();
    const bundles = new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata()));
    expect(Object.keys((await bundles.next()).bundles).sort()).toEqual(['other.test', 'spiffe://example.org']);
    await svids.next();
    api.bareBundleKeys = true;
    expect(Object.keys((await bundles.next()).bundles).sort()).toEqual(['example.org', 'other.test']);
    expect(Object.keys((await svids.next()).federated_bundles)).toEqual(['other.test']);
    svids.cancel();
    bundles.cancel();
  });

  it('answers the WIT RPCs Unimplemented, as SPIRE does, until a response is set', async () => {
    expect(await new StreamReader(client.FetchWITSVID({}, workloadApiMetadata())).status()).toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
      details: 'fetching WIT-SVIDs is not implemented',
    });
    expect(await new StreamReader(client.FetchWITBundles({}, workloadApiMetadata())).status()).toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
      details: 'fetching WIT bundles is not implemented',
    });
    api.setWitBundlesResponse({ bundles: { 'spiffe://example.org': '{"keys":[]}' } });
    const reader = new StreamReader(client.FetchWITBundles({}, workloadApiMetadata()));
    expect((await reader.next()).bundles).toEqual({ 'spiffe://example.org': '{"keys":[]}' });
    reader.cancel();
  });

  describe('FetchJWTSVID', () => {
    const fetch = (audience: string[], spiffeId = '') => unary<JWTSVIDResponse>((cb) => client.FetchJWTSVID({ audience, spiffe_id: spiffeId }, workloadApiMetadata(), cb));

    it('checks the request as SPIRE does before asking the handler', async () => {
      const handler = jest.fn(() => ({ svids: [{ spiffe_id: 'spiffe://example.org/a', svid: 'tok' }] }));
      api.setJwtSvidHandler(handler);
      await expect(fetch([])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' });
      await expect(fetch(['a'], 'http://example.org/a')).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'invalid requested SPIFFE ID: scheme is missing or invalid',
      });
      expect(handler).not.toHaveBeenCalled();
      expect((await fetch(['a', 'b'], 'spiffe://example.org/a')).svids).toEqual([{ spiffe_id: 'spiffe://example.org/a', svid: 'tok', hint: '' }]);
      expect(handler).toHaveBeenCalledWith(expect.objectContaining({ audience: ['a', 'b'], spiffe_id: 'spiffe://example.org/a' }));
    });

    it('passes on a status the handler returns', async () => {
      api.setJwtSvidHandler(async () => ({ code: grpc.status.PERMISSION_DENIED, message: 'no identity issued' }));
      await expect(fetch(['a'])).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    });
  });

  describe('ValidateJWTSVID', () => {
    const kid = 'key-1';
    let key: KeyObject;
    const validate = (svid: string, audience = 'svc') => unary<ValidateJWTSVIDResponse>((cb) => client.ValidateJWTSVID({ audience, svid }, workloadApiMetadata(), cb));
    const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = { kid, typ: 'JWT' }) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', ...header }).sign(key);
    const now = () => Math.floor(Date.now() / 1000);

    beforeEach(() => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      key = pair.privateKey;
      const jwks = { keys: [{ ...pair.publicKey.export({ format: 'jwk' }), kid }] };
      api.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from(JSON.stringify(jwks)) } });
    });

    it('requires an audience and a token', async () => {
      await expect(validate('x.y.z', '')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' });
      await expect(validate('')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'svid must be specified' });
    });

    it('verifies against the served JWT bundle and returns the SPIFFE ID and the claims as a Struct', async () => {
      const token = await sign({ sub: 'spiffe://example.org/a', aud: 'svc', exp: now() + 60, iat: now(), n: 1, ok: true });
      const res = await validate(token);
      expect(res.spiffe_id).toBe('spiffe://example.org/a');
      expect(res.claims?.fields.sub).toEqual({ kind: 'stringValue', stringValue: 'spiffe://example.org/a' });
      expect(res.claims?.fields.aud).toEqual({ kind: 'listValue', listValue: { values: [{ kind: 'stringValue', stringValue: 'svc' }] } });
      expect(res.claims?.fields.n).toEqual({ kind: 'numberValue', numberValue: 1 });
      expect(res.claims?.fields.ok).toEqual({ kind: 'boolValue', boolValue: true });
    });

    it.each([
      ['a wrong audience', { aud: 'other' }, {}, 'jwtsvid: expected audience in ["svc"] (audience=["other"])'],
      ['an expired token', { exp: now() - 120 }, {}, 'jwtsvid: token has expired'],
      ['a token not valid yet', { nbf: now() + 120 }, {}, 'jwtsvid: token is not valid yet'],
      ['a token without exp', { exp: undefined }, {}, 'jwtsvid: token missing exp claim'],
      ['an unknown kid', {}, { kid: 'nope' }, 'jwtsvid: no JWT authority "nope" found for trust domain "example.org"'],
      ['a foreign trust domain', { sub: 'spiffe://evil.test/a' }, {}, 'jwtsvid: no bundle found for trust domain "evil.test"'],
      ['a non-SPIFFE subject', { sub: 'alice' }, {}, 'jwtsvid: token has an invalid subject claim: scheme is missing or invalid'],
      ['a bad typ', {}, { kid, typ: 'wit+jwt' }, 'jwtsvid: token header type not equal to either JWT or JOSE'],
      ['an extra header parameter', {}, { kid, typ: 'JWT', jku: 'https://evil.test/keys' }, 'jwtsvid: token header has unexpected parameter "jku"'],
    ])('answers InvalidArgument for %s', async (_case, claims, header, message) => {
      const token = await sign({ sub: 'spiffe://example.org/a', aud: 'svc', exp: now() + 60, ...claims }, { kid, typ: 'JWT', ...header });
      await expect(validate(token)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: message });
    });

    it('answers InvalidArgument for a forged signature or garbage', async () => {
      const token = await sign({ sub: 'spiffe://example.org/a', aud: 'svc', exp: now() + 60 });
      const [h, p] = token.split('.');
      const forged = `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`;
      await expect(validate(forged)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'jwtsvid: unable to get claims from token: signature verification failed',
      });
      await expect(validate('not-a-jwt')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'jwtsvid: unable to parse JWT token' });
    });

    it('verifies against the bundles of the latest update only', async () => {
      const token = await sign({ sub: 'spiffe://example.org/a', aud: 'svc', exp: now() + 60 });
      expect((await validate(token)).spiffe_id).toBe('spiffe://example.org/a');
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
      api.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from(JSON.stringify({ keys: [{ ...other.export({ format: 'jwk' }), kid }] })) } });
      await expect(validate(token)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'jwtsvid: unable to get claims from token: signature verification failed',
      });
      api.setJwtBundlesResponse(null);
      await expect(validate(token)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'jwtsvid: no bundle found for trust domain "example.org"',
      });
    });

    it('answers Internal, as SPIRE does, when the served JWT bundles cannot be parsed', async () => {
      api.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from('{"keys":') } });
      const token = await sign({ sub: 'spiffe://example.org/a', aud: 'svc', exp: now() + 60 });
      await expect(validate(token)).rejects.toMatchObject({
        code: grpc.status.INTERNAL,
        details: expect.stringMatching(/^could not build the JWT key store: jwtbundle: unable to parse JWKS: /),
      });
      // The argument checks still come first.
      await expect(validate('')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'svid must be specified' });
    });
  });

  it('stop() ends open streams with Unavailable, removes the socket, and is idempotent; restart() serves again', async () => {
    api.setX509SvidResponse(svidResponse('spiffe://example.org/a'));
    const reader = x509Stream();
    await reader.next();
    await api.stop();
    expect(await reader.status()).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(existsSync(join(dir, 'wl.sock'))).toBe(false);
    await api.stop();

    await api.restart();
    const again = x509Stream();
    expect((await again.next()).svids[0].spiffe_id).toBe('spiffe://example.org/a');
    again.cancel();
  });

  it('waitForCalls resolves once a method has been called often enough', async () => {
    const waiting = api.waitForCalls('FetchX509Bundles', 2);
    await new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata())).status();
    await new StreamReader(client.FetchX509Bundles({}, workloadApiMetadata())).status();
    expect(await waiting).toHaveLength(2);
  });
});
