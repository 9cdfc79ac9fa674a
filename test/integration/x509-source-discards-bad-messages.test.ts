import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { BundleError, X509SvidError } from '../../src/spiffe/errors';
import type { OutgoingX509SVIDResponse } from '../../src/spiffe/workload/proto';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import type { X509Svid } from '../../src/spiffe/x509/x509-svid';
import { listenAddress, nextEvent, rawSvid } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
const OTHER = 'spiffe://example.org/other';
type Message = OutgoingX509SVIDResponse;

const serial = (svid: X509Svid): string => svid.certificates[0].serialNumber;

describe('X509Source discards a malformed X509SVIDResponse and keeps its previous state', () => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let source: X509Source;
  let own: Buffer;
  let partner: Buffer;

  /** A conforming message for AGENT with a freshly issued SVID. */
  async function goodMessage(hint = ''): Promise<Message> {
    const svid = await provider.issueX509(AGENT);
    return { svids: [rawSvid(svid, own, hint)], federated_bundles: { 'spiffe://partner.test': partner } };
  }

  beforeAll(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    own = provider.x509Bundle('example.org');
    partner = provider.x509Bundle('partner.test');
  });
  afterAll(() => provider.close());

  beforeEach(async () => {
    const listen = listenAddress('unix');
    cleanup = listen.cleanup;
    api = await DevWorkloadApi.start({ address: listen.address });
    api.setX509SvidResponse(await goodMessage());
    source = await X509Source.create({ address: api.address });
  });

  afterEach(async () => {
    source.close();
    await api.stop();
    cleanup();
  });

  /**
   * The barrier pattern: push the bad message and at once a good one, then wait for the good
   * one. Every event records the state the source had at that moment.
   */
  async function pushBadThenGood(bad: Message): Promise<{ events: string[]; errors: Error[] }> {
    const events: string[] = [];
    const errors: Error[] = [];
    const before = serial(source.getX509Svid());
    source.on('update', () => events.push(`update ${serial(source.getX509Svid()) === before ? 'old' : 'new'}`));
    source.on('error', (err) => {
      errors.push(err);
      events.push(`error ${serial(source.getX509Svid()) === before ? 'old' : 'new'} ${source.getX509BundleSet().has('partner.test')}`);
    });
    const good = await goodMessage();
    const updated = nextEvent(source, 'update');
    api.setX509SvidResponse(bad);
    api.setX509SvidResponse(good);
    await updated;
    return { events, errors };
  }

  async function issued(id = AGENT, options = {}) {
    return provider.issueX509(id, options);
  }

  const cases: [string, () => Promise<Message>, new (...args: never[]) => Error, string][] = [
    ['no SVIDs', async () => ({ svids: [] }), X509SvidError, 'X509SVIDResponse: svids is empty'],
    ['an empty spiffe_id', async () => ({ svids: [{ ...rawSvid(await issued(), own), spiffe_id: '' }] }), X509SvidError, 'X509SVIDResponse svids[0]: spiffe_id is empty'],
    [
      'an empty x509_svid',
      async () => ({ svids: [{ ...rawSvid(await issued(), own), x509_svid: Buffer.alloc(0) }] }),
      X509SvidError,
      'X509SVIDResponse svids[0]: x509_svid is empty',
    ],
    [
      'an empty x509_svid_key',
      async () => ({ svids: [{ ...rawSvid(await issued(), own), x509_svid_key: Buffer.alloc(0) }] }),
      X509SvidError,
      'X509SVIDResponse svids[0]: x509_svid_key is empty',
    ],
    ['an empty bundle', async () => ({ svids: [{ ...rawSvid(await issued(), own), bundle: Buffer.alloc(0) }] }), BundleError, 'X509SVIDResponse svids[0]: bundle is empty'],
    [
      'a spiffe_id that is not the leaf URI SAN',
      async () => ({ svids: [{ ...rawSvid(await issued(), own), spiffe_id: OTHER }] }),
      X509SvidError,
      `X509SVIDResponse svids[0]: spiffe_id "${OTHER}" does not match the certificate's URI SAN "${AGENT}"`,
    ],
    [
      'a key that does not match the leaf',
      async () => ({ svids: [{ ...rawSvid(await issued(), own), x509_svid_key: (await issued()).privateKey }] }),
      X509SvidError,
      'x509svid: private key validation failed: leaf certificate does not match private key',
    ],
    [
      'a leaf with the CA flag',
      async () => ({ svids: [rawSvid(await issued(AGENT, { ca: true }), own)] }),
      X509SvidError,
      'x509svid: certificate validation failed: leaf certificate must not have CA flag set to true',
    ],
    [
      'a bad second SVID (the good first one is not applied either)',
      async () => ({ svids: [rawSvid(await issued(), own), { ...rawSvid(await issued(OTHER), own), x509_svid: Buffer.from([0x30, 0x03, 1]) }] }),
      X509SvidError,
      'x509svid: cannot parse DER encoded certificate',
    ],
    [
      'an unparsable federated bundle',
      async () => ({ svids: [rawSvid(await issued(), own)], federated_bundles: { 'spiffe://partner.test': Buffer.from('not DER') } }),
      BundleError,
      'x509bundle: cannot parse certificate',
    ],
    [
      'an invalid federated trust domain key',
      async () => ({ svids: [rawSvid(await issued(), own)], federated_bundles: { 'spiffe://Partner.test': partner } }),
      BundleError,
      'X509SVIDResponse federated_bundles: invalid trust domain key "spiffe://Partner.test"',
    ],
    [
      'a federated bundle for the own trust domain that differs from the own bundle',
      async () => ({ svids: [rawSvid(await issued(), own)], federated_bundles: { 'spiffe://example.org': partner } }),
      BundleError,
      'conflicting X.509 bundles for trust domain: "example.org"',
    ],
  ];

  it.each(cases)('discards a message with %s', async (_name, bad, errorClass, message) => {
    const { events, errors } = await pushBadThenGood(await bad());
    // Reported while the old SVID and the old federated bundle were still in force, then the good one applied.
    expect(events).toEqual(['error old true', 'update new']);
    expect(errors[0]).toBeInstanceOf(errorClass);
    expect(errors[0].message.startsWith(message)).toBe(true);
  });

  it('does not crash when no one listens for errors', async () => {
    expect(source.listenerCount('error')).toBe(0);
    const before = serial(source.getX509Svid());
    const good = await goodMessage();
    const updated = nextEvent(source, 'update');
    api.setX509SvidResponse({ svids: [] });
    api.setX509SvidResponse(good);
    await updated;
    expect(serial(source.getX509Svid())).not.toBe(before);
  });

  it('keeps the first SVID of a duplicated hint and leaves the later one out', async () => {
    const [a, b, c] = await Promise.all([issued(AGENT), issued(OTHER), issued('spiffe://example.org/third')]);
    const updated = nextEvent(source, 'update');
    api.setX509SvidResponse({ svids: [rawSvid(a, own, 'internal'), rawSvid(b, own, 'internal'), rawSvid(c, own, 'external')] });
    await updated;
    expect(source.getX509Svids().map((s) => `${s.id} ${s.hint}`)).toEqual([`${AGENT} internal`, 'spiffe://example.org/third external']);
  });

  it('discards a message in which the picker finds nothing, keeping the previous SVID', async () => {
    source.close();
    api.setX509SvidResponse(await goodMessage('external'));
    source = await X509Source.create({ address: api.address, picker: (svids) => svids.find((s) => s.hint === 'external')! });
    const before = serial(source.getX509Svid());
    const errors: Error[] = [];
    source.on('error', (err) => errors.push(err));

    const updated = nextEvent(source, 'update');
    api.setX509SvidResponse(await goodMessage('internal'));
    api.setX509SvidResponse(await goodMessage('external'));
    await updated;
    expect(errors.map((e) => e.message)).toEqual(['the X.509-SVID picker chose none of the 1 SVIDs']);
    expect(serial(source.getX509Svid())).not.toBe(before);
    expect(source.getX509Svid().hint).toBe('external');
  });
});
