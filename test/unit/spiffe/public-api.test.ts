import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dev from '../../../src/spiffe/dev/index';
import * as spiffe from '../../../src/spiffe/index';

/**
 * The names docs/spiffe.md documents for `toolgate/spiffe`, checked on the public entry
 * point itself (not on the modules behind it), so that a lost re-export fails here. Cheap:
 * no network, no Workload API; the only crypto is one in-memory CA.
 */
describe('toolgate/spiffe public API (docs/spiffe.md)', () => {
  const ID = 'spiffe://example.org/agents/bot';

  it('is what package.json exports as "./spiffe", and the dev identity provider is "./spiffe/dev"', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['./spiffe']).toEqual({ types: './dist/spiffe/index.d.ts', default: './dist/spiffe/index.js' });
    expect(pkg.exports['./spiffe/dev']).toEqual({ types: './dist/spiffe/dev/index.d.ts', default: './dist/spiffe/dev/index.js' });
  });

  it('exports exactly the 36 documented runtime names: no wire types, stream handlers or dev provider', () => {
    // Adding a name is a decision: document it in docs/spiffe.md ("The surface") and add it here.
    expect(Object.keys(spiffe).sort()).toEqual(
      [
        // spiffeid
        'SpiffeId',
        'TrustDomain',
        // errors
        'SpiffeError',
        'SpiffeIdError',
        'EndpointAddressError',
        'X509SvidError',
        'DerError',
        'BundleError',
        'JwtSvidError',
        'AuthorizationError',
        'WorkloadApiError',
        'SourceError',
        // x509svid, x509bundle
        'X509Svid',
        'X509Bundle',
        'X509BundleSet',
        'verifyX509Svid',
        'spiffeIdOfLeaf',
        // jwtsvid, jwtbundle
        'JwtSvid',
        'JwtBundle',
        'JwtBundleSet',
        'validateJwtSvid',
        // workloadapi
        'X509Source',
        'JwtSource',
        'WorkloadApiClient',
        'exponentialBackoff',
        // tlsconfig, spiffetls, grpccredentials
        'authorizeAny',
        'authorizeId',
        'authorizeOneOf',
        'authorizeMemberOf',
        'authorizeIf',
        'authorizeAll',
        'MtlsServer',
        'mtlsClientOptions',
        'grpcChannelCredentials',
        'serveGrpcOverMtls',
        'callerSpiffeId',
      ].sort(),
    );
  });

  it('exports the dev identity provider from toolgate/spiffe/dev only', () => {
    expect(Object.keys(dev).sort()).toEqual(['DevCa', 'DevIdentityProvider', 'DevWorkloadApi']);
    for (const name of Object.keys(dev)) expect([name, name in spiffe]).toEqual([name, false]);
  });

  describe('SpiffeId.parse, TrustDomain.parse and SpiffeIdError', () => {
    it('parse valid input into objects with toString()', () => {
      const id = spiffe.SpiffeId.parse(ID);
      expect(id).toBeInstanceOf(spiffe.SpiffeId);
      expect(id.toString()).toBe(ID);
      expect(id.trustDomain).toBeInstanceOf(spiffe.TrustDomain);
      expect(spiffe.TrustDomain.parse('example.org').toString()).toBe('example.org');
    });

    it('throw SpiffeIdError with go-spiffe messages on invalid input', () => {
      expect(() => spiffe.SpiffeId.parse('http://example.org/a')).toThrow(spiffe.SpiffeIdError);
      expect(() => spiffe.SpiffeId.parse('http://example.org/a')).toThrow('scheme is missing or invalid');
      expect(() => spiffe.TrustDomain.parse('Example.org')).toThrow(spiffe.SpiffeIdError);
      expect(() => spiffe.TrustDomain.parse('Example.org')).toThrow('trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores');
      expect(new spiffe.SpiffeIdError('x')).toBeInstanceOf(spiffe.SpiffeError);
      expect(new spiffe.SpiffeIdError('x').code).toBe('ERR_SPIFFE_ID');
    });
  });

  it('exports every typed error, DerError included, each with its stable code', () => {
    const codes = {
      SpiffeIdError: 'ERR_SPIFFE_ID',
      EndpointAddressError: 'ERR_ENDPOINT_ADDRESS',
      X509SvidError: 'ERR_X509_SVID',
      DerError: 'ERR_DER',
      BundleError: 'ERR_BUNDLE',
      JwtSvidError: 'ERR_JWT_SVID',
      AuthorizationError: 'ERR_UNAUTHORIZED_ID',
      SourceError: 'ERR_SOURCE',
    } as const;
    for (const [name, code] of Object.entries(codes)) {
      const error = new (spiffe[name as keyof typeof codes] as new (message: string) => spiffe.SpiffeError)('m');
      expect([name, error instanceof spiffe.SpiffeError, error.code, error.name]).toEqual([name, true, code, name]);
    }
    expect(new spiffe.WorkloadApiError('m', 14)).toMatchObject({ code: 'ERR_WORKLOAD_API', grpcCode: 14 });
  });

  describe('X509Source', () => {
    it('has create() and the getters, and is an EventEmitter for on("update")', () => {
      expect(typeof spiffe.X509Source.create).toBe('function');
      for (const method of ['getX509Svid', 'getX509BundleForTrustDomain', 'getX509BundleSet', 'close'] as const) {
        expect([method, typeof spiffe.X509Source.prototype[method]]).toEqual([method, 'function']);
      }
      expect(spiffe.X509Source.prototype).toBeInstanceOf(EventEmitter);
    });

    it('create({ address, timeoutMs }) rejects a bad address before connecting anywhere', async () => {
      const created = spiffe.X509Source.create({ address: 'unix://host/agent.sock', timeoutMs: 100 });
      await expect(created).rejects.toThrow(spiffe.EndpointAddressError);
      await expect(created).rejects.toThrow('workload endpoint unix socket URI must not include an authority component');
    });
  });

  describe('JwtSource', () => {
    it('has create(), fetchJwtSvid() and getJwtBundleForTrustDomain(), and is an EventEmitter', () => {
      expect(typeof spiffe.JwtSource.create).toBe('function');
      for (const method of ['fetchJwtSvid', 'getJwtBundleForTrustDomain', 'close'] as const) {
        expect([method, typeof spiffe.JwtSource.prototype[method]]).toEqual([method, 'function']);
      }
      expect(spiffe.JwtSource.prototype).toBeInstanceOf(EventEmitter);
    });

    it('create({ address }) rejects a bad address before connecting anywhere', async () => {
      await expect(spiffe.JwtSource.create({ address: 'tcp://localhost:8081' })).rejects.toThrow(spiffe.EndpointAddressError);
    });
  });

  it("validateJwtSvid(token, audience, bundles) validates against the sub's trust domain and throws JwtSvidError", async () => {
    expect(typeof spiffe.validateJwtSvid).toBe('function');
    const bundles = new spiffe.JwtBundleSet([spiffe.JwtBundle.parse('example.org', '{"keys":[]}')]);
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: ID, aud: 'gw', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const validated = spiffe.validateJwtSvid(`${header}.${claims}.c2ln`, 'gw', bundles);
    await expect(validated).rejects.toThrow(spiffe.JwtSvidError);
    await expect(validated).rejects.toThrow('jwtsvid: no JWT authority "k" found for trust domain "example.org"');
  });

  it('verifyX509Svid(chain, bundles, now?) returns { id, chain } and throws on failure', async () => {
    const ca = await dev.DevCa.create('example.org');
    const svid = await ca.issue(ID);
    const bundles = new spiffe.X509BundleSet([spiffe.X509Bundle.parseDer('example.org', ca.bundle())]);

    const verified = spiffe.verifyX509Svid(svid.certificates, bundles);
    expect(Object.keys(verified).sort()).toEqual(['chain', 'id']);
    expect(verified.id.toString()).toBe(ID);
    expect(verified.chain.map((c) => c.raw)).toEqual([svid.certificates[0], ca.bundle()]);
    expect(spiffe.spiffeIdOfLeaf(svid.certificates[0]).toString()).toBe(ID);

    const later = new Date(Date.now() + 2 * 3600_000);
    expect(() => spiffe.verifyX509Svid(svid.certificates, bundles, later)).toThrow(spiffe.X509SvidError);
    expect(() => spiffe.verifyX509Svid(svid.certificates, new spiffe.X509BundleSet())).toThrow(spiffe.X509SvidError);
  });

  it('exports the TLS helpers and authorizers', () => {
    for (const name of [
      'MtlsServer',
      'mtlsClientOptions',
      'grpcChannelCredentials',
      'serveGrpcOverMtls',
      'callerSpiffeId',
      'authorizeAny',
      'authorizeId',
      'authorizeOneOf',
      'authorizeMemberOf',
      'authorizeIf',
      'authorizeAll',
    ] as const) {
      expect([name, typeof spiffe[name]]).toEqual([name, 'function']);
    }
  });
});
