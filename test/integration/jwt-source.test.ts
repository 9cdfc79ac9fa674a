import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import type { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { BundleError, JwtSvidError, SourceError, WorkloadApiError } from '../../src/spiffe/errors';
import { validateJwtSvid } from '../../src/spiffe/jwt/validate-jwt-svid';
import { exponentialBackoff } from '../../src/spiffe/workload/backoff';
import { JwtSource } from '../../src/spiffe/workload/jwt-source';
import { ENDPOINT_KINDS, hasSecurityHeader, listenAddress, nextEvent, sleep } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
const OTHER = 'spiffe://example.org/other';
const fast = exponentialBackoff({ initialMs: 10, maxMs: 40, random: () => 1 });

describe.each(ENDPOINT_KINDS)('JwtSource over %s', (kind) => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let source: JwtSource;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    const listen = listenAddress(kind);
    cleanup = listen.cleanup;
    api = await provider.serve([AGENT, OTHER], listen.address);
    source = await JwtSource.create({ address: api.address, backoff: fast });
  });

  afterEach(async () => {
    source.close();
    await provider.close();
    cleanup();
  });

  const kidOf = (td: string) => (provider.jwtBundle(td).keys[0] as { kid: string }).kid;

  it('resolves with the JWT bundles of the own and the federated trust domain', () => {
    expect(source.getJwtBundleSet().trustDomains().map(String).sort()).toEqual(['example.org', 'partner.test']);
    expect(source.getJwtBundleForTrustDomain('example.org').findKey(kidOf('example.org'))).toBeDefined();
    expect(source.getJwtBundleForTrustDomain('spiffe://partner.test').findKey(kidOf('partner.test'))).toBeDefined();
    expect(source.getJwtBundleForTrustDomain('partner.test').findKey(kidOf('example.org'))).toBeUndefined();
  });

  it('fetches the default JWT-SVID, which validates against its own bundles', async () => {
    const svid = await source.fetchJwtSvid({ audience: 'tools' });
    expect(svid.id.toString()).toBe(AGENT);
    expect(svid.audience).toEqual(['tools']);
    expect(svid.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const validated = await validateJwtSvid(svid.token, 'tools', source);
    expect(validated.id.toString()).toBe(AGENT);

    const request = api.callsTo('FetchJWTSVID')[0].request as { audience: string[]; spiffe_id: string };
    expect(request.audience).toEqual(['tools']);
    expect(request.spiffe_id).toBe('');
  });

  it('fetches every identity, or only the one asked for', async () => {
    const all = await source.fetchJwtSvids({ audience: ['tools', 'ledger'] });
    expect(all.map((s) => s.id.toString())).toEqual([AGENT, OTHER]);
    expect(all[1].audience).toEqual(['tools', 'ledger']);
    const one = await source.fetchJwtSvids({ audience: 'tools', spiffeId: OTHER });
    expect(one.map((s) => s.id.toString())).toEqual([OTHER]);
  });

  it('reports the endpoint refusing as WorkloadApiError, and a bad request before sending it', async () => {
    await expect(source.fetchJwtSvid({ audience: 'tools', spiffeId: 'spiffe://example.org/nobody' })).rejects.toThrow(
      new WorkloadApiError('FetchJWTSVID: PERMISSION_DENIED: no identity issued', grpc.status.PERMISSION_DENIED),
    );
    await expect(source.fetchJwtSvid({ audience: [] })).rejects.toThrow(new JwtSvidError('jwtsvid: audience must be specified'));
    await expect(source.fetchJwtSvid({ audience: 'tools', spiffeId: 'spiffe://example.org/' })).rejects.toThrow('path cannot have a trailing slash');
    expect(api.callsTo('FetchJWTSVID')).toHaveLength(1);
  });

  it('rejects a response whose token names another identity than its spiffe_id', async () => {
    const token = await provider.mintJwtSvid(AGENT, ['tools']);
    api.setJwtSvidHandler(() => ({ svids: [{ spiffe_id: OTHER, svid: token }] }));
    await expect(source.fetchJwtSvid({ audience: 'tools' })).rejects.toThrow(new JwtSvidError(`FetchJWTSVID returned a token for "${AGENT}" as "${OTHER}"`));
  });

  it('drops a trust domain that a later message leaves out', async () => {
    const updated = nextEvent(source, 'update');
    await provider.federate('partner.test', false);
    await updated;
    expect(() => source.getJwtBundleForTrustDomain('partner.test')).toThrow(BundleError);
    expect(source.getJwtBundleSet().trustDomains().map(String)).toEqual(['example.org']);
  });

  it('discards a message with an unparsable bundle or no bundles, keeping the previous set', async () => {
    const before = source.getJwtBundleSet();
    const events: string[] = [];
    source.on('error', (err) => events.push(`error ${source.getJwtBundleSet() === before} ${err.constructor.name}`));
    source.on('update', () => events.push(`update ${source.getJwtBundleSet().size}`));
    const good = { bundles: { 'example.org': Buffer.from(JSON.stringify(provider.jwtBundle('example.org'))) } };
    const updated = nextEvent(source, 'update');
    api.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': good.bundles['example.org'], 'spiffe://partner.test': Buffer.from('{"keys":') } });
    api.setJwtBundlesResponse({ bundles: {} });
    api.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': Buffer.from('{}') } });
    api.setJwtBundlesResponse(good); // bare key, as go-spiffe's fake sends
    await updated;
    expect(events).toEqual(['error true BundleError', 'error true BundleError', 'error true BundleError', 'update 1']);
  });

  it('validates a peer token remotely with ValidateJWTSVID', async () => {
    const token = await provider.mintJwtSvid(OTHER, ['gateway']);
    const svid = await source.validateJwtSvidRemote(token, 'gateway');
    expect(svid.id.toString()).toBe(OTHER);
    await expect(source.validateJwtSvidRemote(token, 'someone-else')).rejects.toMatchObject({
      grpcCode: grpc.status.INVALID_ARGUMENT,
    });
    expect(api.callsTo('ValidateJWTSVID').map((c) => c.code)).toEqual([grpc.status.OK, grpc.status.INVALID_ARGUMENT]);
  });

  it('sends the security header on every call, streaming and unary', async () => {
    await source.fetchJwtSvid({ audience: 'tools' });
    await source.validateJwtSvidRemote(await provider.mintJwtSvid(AGENT, ['gateway']), 'gateway');
    expect(new Set(api.calls.map((c) => c.method))).toEqual(new Set(['FetchJWTBundles', 'FetchJWTSVID', 'ValidateJWTSVID']));
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('after close(), getters throw SourceError and fetches reject with it', async () => {
    source.close();
    source.close();
    expect(() => source.getJwtBundleForTrustDomain('example.org')).toThrow(new SourceError('JwtSource is closed'));
    expect(() => source.getJwtBundleSet()).toThrow(SourceError);
    await expect(source.fetchJwtSvid({ audience: 'tools' })).rejects.toThrow(SourceError);
  });
});

describe('JwtSource.create', () => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    api = await provider.serve(AGENT);
  });
  afterEach(() => provider.close());

  it('stops for good on Unimplemented and rejects at once, after one call', async () => {
    api.failNext('FetchJWTBundles', grpc.status.UNIMPLEMENTED, 'unknown service', 100);
    await expect(JwtSource.create({ address: api.address, backoff: fast })).rejects.toMatchObject({
      constructor: SourceError,
      message: 'cannot get the first JWT bundles: FetchJWTBundles: UNIMPLEMENTED: unknown service',
      cause: { grpcCode: grpc.status.UNIMPLEMENTED },
    });
    await sleep(200);
    expect(api.callsTo('FetchJWTBundles')).toHaveLength(1);
  });

  it('times out with SourceError when no bundles come', async () => {
    api.failNext('FetchJWTBundles', grpc.status.UNAVAILABLE, 'workload attestation failed', 1000);
    await expect(JwtSource.create({ address: api.address, backoff: fast, timeoutMs: 200 })).rejects.toMatchObject({
      constructor: SourceError,
      message: 'timed out after 200 ms waiting for the first JWT bundles: FetchJWTBundles: UNAVAILABLE: workload attestation failed',
    });
    expect(api.callsTo('FetchJWTBundles').length).toBeGreaterThan(2);
  });
});
