import { BundleError, SpiffeIdError } from '../../../../src/spiffe/errors';
import { TrustDomain } from '../../../../src/spiffe/id/trust-domain';
import { JwtBundle } from '../../../../src/spiffe/jwt/jwt-bundle';
import { JwtBundleSet } from '../../../../src/spiffe/jwt/jwt-bundle-set';
import { thrown } from '../thrown';

const a = JwtBundle.parse('a.test', '{"keys":[]}');
const b = JwtBundle.parse('b.test', '{"keys":[]}');

describe('JwtBundleSet', () => {
  it('finds each bundle by its own trust domain, given as object, name or SPIFFE ID', () => {
    const set = new JwtBundleSet([a, b]);
    expect(set.size).toBe(2);
    expect(set.get(TrustDomain.parse('a.test'))).toBe(a);
    expect(set.get('b.test')).toBe(b);
    expect(set.get('spiffe://b.test')).toBe(b);
    expect(set.get('c.test')).toBeUndefined();
    expect(set.getJwtBundleForTrustDomain('a.test')).toBe(a);
    expect(set.getJwtBundleForTrustDomain(TrustDomain.parse('b.test'))).toBe(b);
  });

  it("throws go-spiffe's BundleError when a trust domain has no bundle", () => {
    const set = new JwtBundleSet([a]);
    expect(() => set.getJwtBundleForTrustDomain('b.test')).toThrow(new BundleError('jwtbundle: no JWT bundle for trust domain "b.test"'));
    expect(() => set.getJwtBundleForTrustDomain('spiffe://b.test')).toThrow('jwtbundle: no JWT bundle for trust domain "b.test"');
    thrown(BundleError, 'ERR_BUNDLE', () => new JwtBundleSet().getJwtBundleForTrustDomain(TrustDomain.parse('a.test')));
  });

  it('throws SpiffeIdError for an invalid trust domain string', () => {
    expect(() => new JwtBundleSet([a]).get('A.test')).toThrow(SpiffeIdError);
  });

  it('rejects two bundles for one trust domain', () => {
    const again = JwtBundle.parse('a.test', '{"keys":[]}');
    expect(() => new JwtBundleSet([a, b, again])).toThrow(new BundleError('jwtbundle: more than one bundle for trust domain "a.test"'));
  });

  it('lists its trust domains and bundles, and cannot be changed through the lists', () => {
    const input = [a, b];
    const set = new JwtBundleSet(input);
    input.pop();
    expect(set.trustDomains().map((td) => td.name)).toEqual(['a.test', 'b.test']);
    const listed = set.bundles();
    listed.pop();
    expect(set.bundles()).toEqual([a, b]);
    expect(set.size).toBe(2);
  });

  it('is empty by default', () => {
    const set = new JwtBundleSet();
    expect(set.size).toBe(0);
    expect(set.bundles()).toEqual([]);
  });
});
