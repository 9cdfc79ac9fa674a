import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import type { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { SourceError, type WorkloadApiError } from '../../src/spiffe/errors';
import type { X509BundlesResponse } from '../../src/spiffe/workload/proto';
import { WireClient } from '../../src/spiffe/workload/wire-client';
import { ENDPOINT_KINDS, hasSecurityHeader, listenAddress, waitUntil } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';

describe.each(ENDPOINT_KINDS)('WireClient raw calls over %s', (kind) => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let client: WireClient;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    const listen = listenAddress(kind);
    cleanup = listen.cleanup;
    api = await provider.serve(AGENT, listen.address);
    client = new WireClient({ address: api.address });
  });

  afterEach(async () => {
    client.close();
    await provider.close();
    cleanup();
  });

  it('maps the address to a grpc-js target', () => {
    expect(client.address.uri).toBe(api.address);
    expect(client.address.target).toBe(kind === 'unix' ? api.address : api.address.replace('tcp://', 'ipv4:'));
  });

  it('streams FetchX509Bundles as raw messages keyed by spiffe://td', async () => {
    const first = await new Promise<X509BundlesResponse>((resolve) => client.watchX509Bundles({ onMessage: (m) => (resolve(m), true), onError: () => undefined }));
    expect(Object.keys(first.bundles).sort()).toEqual(['spiffe://example.org', 'spiffe://partner.test']);
    expect(first.bundles['spiffe://example.org'].equals(provider.x509Bundle('example.org'))).toBe(true);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('returns FetchJWTSVID raw, and ValidateJWTSVID claims as a plain object', async () => {
    const response = await client.fetchJwtSvid({ audience: ['tools'] });
    expect(response.svids.map((s) => s.spiffe_id)).toEqual([AGENT]);

    const validated = await client.validateJwtSvid(response.svids[0].svid, 'tools');
    expect(validated.spiffeId).toBe(AGENT);
    expect(validated.claims).toMatchObject({ sub: AGENT, aud: ['tools'] });
    expect(typeof validated.claims.exp).toBe('number');
    expect(api.calls.map((c) => c.method)).toEqual(['FetchJWTSVID', 'ValidateJWTSVID']);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('rejects unary calls with the status as WorkloadApiError', async () => {
    const error = (await client.validateJwtSvid('', 'tools').catch((e: unknown) => e)) as WorkloadApiError;
    expect(error.grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.message).toBe('ValidateJWTSVID: INVALID_ARGUMENT: svid must be specified');
  });

  it('after close(), stops its watches and refuses new calls', async () => {
    await new Promise<void>((resolve) => client.watchX509Bundles({ onMessage: () => (resolve(), true), onError: () => undefined }));
    client.close();
    client.close();
    await waitUntil(() => api.callsTo('FetchX509Bundles')[0].code !== undefined);
    expect(api.callsTo('FetchX509Bundles')[0].code).toBe(grpc.status.CANCELLED);
    expect(() => client.watchJwtBundles({ onMessage: () => true, onError: () => undefined })).toThrow(new SourceError('workload API client is closed'));
    await expect(client.fetchJwtSvid({ audience: ['tools'] })).rejects.toThrow(SourceError);
  });
});
