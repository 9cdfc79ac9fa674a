import { X509Certificate, createPrivateKey } from 'node:crypto';
import { DevCa } from '../../../../src/spiffe/dev/ca';

describe('DevCa', () => {
  it('issues a leaf whose chain runs through an intermediate to the root, with a matching PKCS#8 key', async () => {
    const root = await DevCa.create('example.org');
    const intermediate = await root.createIntermediate();
    const svid = await intermediate.issue('spiffe://example.org/agent');

    const [leaf, inter] = svid.certificates.map((der) => new X509Certificate(der));
    const rootCert = new X509Certificate(intermediate.bundle());
    expect(svid.certificates).toHaveLength(2);
    expect(leaf.subjectAltName).toBe('URI:spiffe://example.org/agent');
    expect(leaf.checkIssued(inter)).toBe(true);
    expect(leaf.verify(inter.publicKey)).toBe(true);
    expect(inter.checkIssued(rootCert)).toBe(true);
    expect(inter.verify(rootCert.publicKey)).toBe(true);
    expect(rootCert.subjectAltName).toBe('URI:spiffe://example.org');
    expect(leaf.checkPrivateKey(createPrivateKey({ key: svid.privateKey, format: 'der', type: 'pkcs8' }))).toBe(true);
  });

  it('keeps separate trust domains under separate roots', async () => {
    const a = await DevCa.create('a.test');
    const b = await DevCa.create('b.test');
    const leaf = new X509Certificate((await a.issue('spiffe://a.test/x')).certificates[0]);
    expect(leaf.verify(new X509Certificate(b.bundle()).publicKey)).toBe(false);
  });
});
