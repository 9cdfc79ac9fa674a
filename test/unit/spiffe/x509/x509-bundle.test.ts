import { X509Certificate } from 'node:crypto';
import { DevCa } from '../../../../src/spiffe/dev/ca';
import { BundleError, SpiffeIdError } from '../../../../src/spiffe/errors';
import { TrustDomain } from '../../../../src/spiffe/id/trust-domain';
import { X509Bundle } from '../../../../src/spiffe/x509/x509-bundle';
import { X509BundleSet } from '../../../../src/spiffe/x509/x509-bundle-set';

const TD = TrustDomain.parse('example.org');

describe('X509Bundle', () => {
  let a: DevCa;
  let b: DevCa;

  beforeAll(async () => {
    [a, b] = await Promise.all([DevCa.create(TD), DevCa.create(TD)]);
  });

  it('parses concatenated DER authorities', () => {
    const bundle = X509Bundle.parseDer(TD, Buffer.concat([a.bundle(), b.bundle()]));
    expect(bundle.trustDomain).toBe(TD);
    expect(bundle.authorities.map((c) => c.raw)).toEqual([a.bundle(), b.bundle()]);
    expect(bundle.authorities[0]).toBeInstanceOf(X509Certificate);
    expect(bundle.hasAuthority(a.bundle())).toBe(true);
    expect(bundle.hasAuthority(new X509Certificate(b.bundle()))).toBe(true);
  });

  it('allows an empty bundle, which trusts nothing', () => {
    const bundle = X509Bundle.parseDer('example.org', new Uint8Array(0));
    expect(bundle.authorities).toEqual([]);
    expect(bundle.hasAuthority(a.bundle())).toBe(false);
    expect(bundle.authoritiesPem()).toBe('');
  });

  it('rejects garbage, truncated and PEM input with BundleError', () => {
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.from('garbage'), /^x509bundle: cannot parse certificate: expected a DER SEQUENCE at offset 0, found tag 0x67$/],
      [a.bundle().subarray(0, a.bundle().length - 1), /^x509bundle: cannot parse certificate: truncated DER element at offset 0/],
      [Buffer.from(new X509Certificate(a.bundle()).toString()), /^x509bundle: cannot parse certificate: expected a DER SEQUENCE/],
      [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), /^x509bundle: cannot parse certificate: malformed certificate: /],
    ];
    for (const [der, message] of cases) {
      expect(() => X509Bundle.parseDer(TD, der)).toThrow(BundleError);
      expect(() => X509Bundle.parseDer(TD, der)).toThrow(message);
    }
  });

  it("does not match another CA's root of the same trust domain", () => {
    const bundle = X509Bundle.fromAuthorities(TD, [new X509Certificate(a.bundle())]);
    expect(bundle.hasAuthority(b.bundle())).toBe(false);
  });

  it('keeps a duplicate authority once and keeps the caller objects', () => {
    const cert = new X509Certificate(a.bundle());
    const bundle = X509Bundle.fromAuthorities(TD, [cert, a.bundle(), b.bundle()]);
    expect(bundle.authorities).toHaveLength(2);
    expect(bundle.authorities[0]).toBe(cert);
    expect(Object.isFrozen(bundle.authorities)).toBe(true);
  });

  it('compares by trust domain and authority set, in any order', () => {
    const ab = X509Bundle.parseDer(TD, Buffer.concat([a.bundle(), b.bundle()]));
    expect(ab.equals(X509Bundle.fromAuthorities(TD, [b.bundle(), a.bundle()]))).toBe(true);
    expect(ab.equals(X509Bundle.fromAuthorities(TD, [a.bundle()]))).toBe(false);
    expect(ab.equals(X509Bundle.fromAuthorities(TD, [a.bundle(), a.bundle()]))).toBe(false);
    expect(ab.equals(X509Bundle.fromAuthorities('other.test', [a.bundle(), b.bundle()]))).toBe(false);
  });

  it('gives the authorities as PEM for Node TLS, computed once', () => {
    const bundle = X509Bundle.fromAuthorities(TD, [a.bundle(), b.bundle()]);
    const pem = bundle.authoritiesPem();
    expect(pem.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(pem).toBe(new X509Certificate(a.bundle()).toString() + new X509Certificate(b.bundle()).toString());
    expect(bundle.authoritiesPem()).toBe(pem);
  });

  it('logs as its trust domain and fingerprints', () => {
    const bundle = X509Bundle.fromAuthorities(TD, [a.bundle()]);
    expect(JSON.parse(JSON.stringify(bundle))).toEqual({ trustDomain: 'example.org', authorities: [new X509Certificate(a.bundle()).fingerprint256] });
  });
});

describe('X509BundleSet', () => {
  let own: X509Bundle;
  let federated: X509Bundle;

  beforeAll(async () => {
    own = X509Bundle.parseDer(TD, (await DevCa.create(TD)).bundle());
    federated = X509Bundle.parseDer('partner.test', (await DevCa.create('partner.test')).bundle());
  });

  it('looks bundles up by trust domain, name or spiffe:// ID', () => {
    const set = new X509BundleSet([own, federated]);
    expect(set.size).toBe(2);
    expect(set.get(TD)).toBe(own);
    expect(set.get('example.org')).toBe(own);
    expect(set.get('spiffe://partner.test')).toBe(federated);
    expect(set.getX509BundleForTrustDomain('partner.test')).toBe(federated);
    expect(set.has('example.org')).toBe(true);
    expect(set.has('nope.test')).toBe(false);
    expect(set.get('nope.test')).toBeUndefined();
    expect(set.trustDomains().map(String)).toEqual(['example.org', 'partner.test']);
    expect(set.bundles()).toEqual([own, federated]);
  });

  it('throws BundleError for a trust domain without a bundle, and never falls back to another', () => {
    const set = new X509BundleSet([own]);
    expect(() => set.getX509BundleForTrustDomain('partner.test')).toThrow(BundleError);
    expect(() => set.getX509BundleForTrustDomain(TrustDomain.parse('partner.test'))).toThrow('no X.509 bundle found for trust domain: "partner.test"');
    expect(() => new X509BundleSet().getX509BundleForTrustDomain('example.org')).toThrow('no X.509 bundle found for trust domain: "example.org"');
  });

  it('rejects an invalid trust domain string with SpiffeIdError', () => {
    expect(() => new X509BundleSet([own]).get('Example.org')).toThrow(SpiffeIdError);
  });

  it('keeps an identical repeat once and refuses two different bundles for one trust domain', async () => {
    const copy = X509Bundle.fromAuthorities(TD, own.authorities);
    expect(new X509BundleSet([own, copy]).size).toBe(1);
    const rival = X509Bundle.parseDer(TD, (await DevCa.create(TD)).bundle());
    expect(() => new X509BundleSet([own, rival])).toThrow(BundleError);
    expect(() => new X509BundleSet([own, rival])).toThrow('conflicting X.509 bundles for trust domain: "example.org"');
  });

  it('is not changed by later changes to the iterable it was built from', () => {
    const input = [own];
    const set = new X509BundleSet(input);
    input.push(federated);
    expect(set.size).toBe(1);
    expect(set.bundles()).not.toBe(set.bundles());
  });
});
