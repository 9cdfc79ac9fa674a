import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import type { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { BundleError, EndpointAddressError, SourceError } from '../../src/spiffe/errors';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { ENDPOINT_KINDS, hasSecurityHeader, listenAddress, nextEvent, sleep, waitUntil } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
const OTHER = 'spiffe://example.org/other';

describe.each(ENDPOINT_KINDS)('X509Source streams SVIDs and bundles over %s', (kind) => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let source: X509Source | undefined;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    const listen = listenAddress(kind);
    cleanup = listen.cleanup;
    api = await provider.serve([AGENT, OTHER], listen.address);
  });

  afterEach(async () => {
    source?.close();
    source = undefined;
    await provider.close();
    cleanup();
  });

  it('resolves with the first SVID, its own bundle and the federated one', async () => {
    expect(api.address.startsWith(`${kind}://`)).toBe(true);
    source = await X509Source.create({ address: api.address });

    expect(source.getX509Svid().id.toString()).toBe(AGENT);
    expect(source.getX509Svids().map(String)).toHaveLength(2);
    expect(source.getX509Svids().map((s) => s.id.toString())).toEqual([AGENT, OTHER]);
    expect(source.getX509Svid().privateKey.asymmetricKeyType).toBe('ec');
    expect(source.getX509BundleForTrustDomain('example.org').hasAuthority(provider.x509Bundle('example.org'))).toBe(true);
    expect(source.getX509BundleForTrustDomain('spiffe://partner.test').hasAuthority(provider.x509Bundle('partner.test'))).toBe(true);
    expect(source.getX509BundleForTrustDomain('partner.test').hasAuthority(provider.x509Bundle('example.org'))).toBe(false);
    expect(source.getX509BundleSet().trustDomains().map(String).sort()).toEqual(['example.org', 'partner.test']);

    const calls = api.callsTo('FetchX509SVID');
    expect(calls).toHaveLength(1);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
    expect(calls[0].metadata['workload.spiffe.io']).toEqual(['true']);
  });

  it('hands out the SVID the picker chooses', async () => {
    source = await X509Source.create({ address: api.address, picker: (svids) => svids.find((s) => s.id.path === '/other')! });
    expect(source.getX509Svid().id.toString()).toBe(OTHER);
  });

  it('applies a rotation pushed on the open stream, with no reconnect', async () => {
    source = await X509Source.create({ address: api.address });
    const before = source.getX509Svid();
    const bundlesBefore = source.getX509BundleSet();

    const updated = nextEvent(source, 'update');
    await provider.rotate();
    await updated;

    const after = source.getX509Svid();
    expect(after).not.toBe(before);
    expect(after.id.toString()).toBe(AGENT);
    expect(after.certificates[0].serialNumber).not.toBe(before.certificates[0].serialNumber);
    expect(after.privateKeyPem()).not.toBe(before.privateKeyPem());
    expect(source.getX509BundleSet()).not.toBe(bundlesBefore);
    expect(api.callsTo('FetchX509SVID')).toHaveLength(1);
    expect(api.callsTo('FetchX509SVID')[0].messages).toBe(2);
  });

  it('drops a federated bundle that a later message leaves out, and takes it back when it returns', async () => {
    source = await X509Source.create({ address: api.address });
    expect(source.getX509BundleSet().has('partner.test')).toBe(true);

    let updated = nextEvent(source, 'update');
    await provider.federate('partner.test', false);
    await updated;
    expect(() => source!.getX509BundleForTrustDomain('partner.test')).toThrow(new BundleError('no X.509 bundle found for trust domain: "partner.test"'));
    expect(source.getX509BundleSet().trustDomains().map(String)).toEqual(['example.org']);

    updated = nextEvent(source, 'update');
    await provider.federate('partner.test', true);
    await updated;
    expect(source.getX509BundleForTrustDomain('partner.test').hasAuthority(provider.x509Bundle('partner.test'))).toBe(true);
  });

  it('accepts federated_bundles keyed by a bare trust-domain name', async () => {
    source = await X509Source.create({ address: api.address });
    let updated = nextEvent(source, 'update');
    await provider.federate('partner.test', false);
    await updated;

    updated = nextEvent(source, 'update');
    api.bareBundleKeys = true; // re-sends the current state, with bare keys
    await updated;
    updated = nextEvent(source, 'update');
    await provider.federate('partner.test', true);
    await updated;
    expect(source.getX509BundleForTrustDomain('partner.test').hasAuthority(provider.x509Bundle('partner.test'))).toBe(true);
  });

  it('falls back to SPIFFE_ENDPOINT_SOCKET when no address is given', async () => {
    const saved = process.env.SPIFFE_ENDPOINT_SOCKET;
    process.env.SPIFFE_ENDPOINT_SOCKET = api.address;
    try {
      source = await X509Source.create();
    } finally {
      if (saved === undefined) delete process.env.SPIFFE_ENDPOINT_SOCKET;
      else process.env.SPIFFE_ENDPOINT_SOCKET = saved;
    }
    expect(source.getX509Svid().id.toString()).toBe(AGENT);
  });

  it('close() cancels the stream, makes every getter throw SourceError, and is idempotent', async () => {
    source = await X509Source.create({ address: api.address });
    const closed = source;
    closed.close();
    closed.close();

    expect(closed.closed).toBe(true);
    expect(() => closed.getX509Svid()).toThrow(new SourceError('X509Source is closed'));
    expect(() => closed.getX509Svids()).toThrow(SourceError);
    expect(() => closed.getX509BundleForTrustDomain('example.org')).toThrow(SourceError);
    expect(() => closed.getX509BundleSet()).toThrow(SourceError);
    await waitUntil(() => api.callsTo('FetchX509SVID')[0].code !== undefined);
    expect(api.callsTo('FetchX509SVID')[0].code).toBe(grpc.status.CANCELLED);

    // A closed source stays closed: later pushes reach no one, and no reconnect happens.
    await provider.rotate();
    await sleep(50);
    expect(api.callsTo('FetchX509SVID')).toHaveLength(1);
  });
});

describe('X509Source.create rejects a missing or invalid address', () => {
  it('with EndpointAddressError', async () => {
    const saved = process.env.SPIFFE_ENDPOINT_SOCKET;
    delete process.env.SPIFFE_ENDPOINT_SOCKET;
    try {
      await expect(X509Source.create()).rejects.toThrow(new EndpointAddressError('workload endpoint socket address is not configured'));
    } finally {
      if (saved !== undefined) process.env.SPIFFE_ENDPOINT_SOCKET = saved;
    }
    await expect(X509Source.create({ address: 'unix://agent.sock' })).rejects.toThrow(EndpointAddressError);
  });
});
