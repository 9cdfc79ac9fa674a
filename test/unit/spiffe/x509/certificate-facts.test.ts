import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DevCa } from '../../../../src/spiffe/dev/ca';
import { DerError } from '../../../../src/spiffe/errors';
import * as asn1x509 from '@peculiar/asn1-x509';
import { certificateFacts, EXTENSION_OIDS, KeyUsageFlags } from '../../../../src/spiffe/x509/certificate-facts';
import { directory, dns, nameConstraints, unknownExtension, uri } from './extensions';

describe('certificateFacts', () => {
  let root: DevCa;

  beforeAll(async () => {
    root = await DevCa.create('example.org');
  });

  it('reads a SPIFFE leaf', async () => {
    const svid = await root.issue('spiffe://example.org/a', { dnsNames: ['a.test'] });
    const facts = certificateFacts(svid.certificates[0]);
    expect(facts.isCa).toBe(false);
    expect(facts.pathLen).toBeUndefined();
    expect(facts.hasKeyUsage).toBe(true);
    expect(facts.keyUsage).toBe(KeyUsageFlags.digitalSignature);
    expect(facts.uris).toEqual(['spiffe://example.org/a']);
    expect(facts.dnsNames).toEqual(['a.test']);
    expect(facts.unhandledCriticalExtensions).toEqual([]);
    expect(facts.nameConstraints).toBeUndefined();
    expect(facts.spiffeId().toString()).toBe('spiffe://example.org/a');
    const node = new X509Certificate(svid.certificates[0]);
    expect(facts.notBefore).toBe(Date.parse(node.validFrom));
    expect(facts.notAfter).toBe(Date.parse(node.validTo));
    expect(facts.issuerName).toBe(certificateFacts(root.bundle()).subjectName);
    expect(facts.displayName).toBe('SPIFFE'); // no CN: Go falls back to O
  });

  it('reads a CA: cA, pathLen, keyCertSign|cRLSign, its display name', async () => {
    const ca = await DevCa.create('ca.test', { pathLength: 2 });
    const facts = certificateFacts(ca.bundle());
    expect(facts.isCa).toBe(true);
    expect(facts.pathLen).toBe(2);
    expect(facts.keyUsage).toBe(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
    expect(facts.hasKeyUsageBit(KeyUsageFlags.keyCertSign)).toBe(true);
    expect(facts.hasKeyUsageBit(KeyUsageFlags.digitalSignature)).toBe(false);
    expect(facts.subjectName).toBe(facts.issuerName); // self-signed
    expect(facts.displayName).toMatch(/^toolgate dev root CA [0-9a-f]{8}$/);
  });

  it('reads every KeyUsage bit, including decipherOnly in the second octet', async () => {
    const all = 0x1ff;
    const svid = await root.issue('spiffe://example.org/k', { keyUsage: all });
    expect(certificateFacts(svid.certificates[0]).keyUsage).toBe(all);
  });

  it('tells an absent KeyUsage from an empty one', async () => {
    const facts = certificateFacts((await root.issue('spiffe://example.org/n', { keyUsage: null })).certificates[0]);
    expect(facts.hasKeyUsage).toBe(false);
    expect(facts.keyUsage).toBe(0);
  });

  it('lists critical extensions it does not process, and only those', async () => {
    const svid = await root.issue('spiffe://example.org/c', {
      extensions: [unknownExtension(true), new x509.CertificatePolicyExtension(['1.2.3.4'], true)],
    });
    expect(certificateFacts(svid.certificates[0]).unhandledCriticalExtensions).toEqual(['1.3.6.1.4.1.99999.1']);
    const benign = await root.issue('spiffe://example.org/d', { extensions: [unknownExtension(false)] });
    expect(certificateFacts(benign.certificates[0]).unhandledCriticalExtensions).toEqual([]);
  });

  it('reads URI and DNS name constraints, and flags other forms as unsupported', async () => {
    const nc = await DevCa.create('nc.test', {
      extensions: [nameConstraints({ permitted: [uri('nc.test'), dns('.nc.test')], excluded: [uri('.bad.nc.test')] })],
    });
    expect(certificateFacts(nc.bundle()).nameConstraints).toEqual({
      permittedUris: ['nc.test'],
      permittedDns: ['.nc.test'],
      excludedUris: ['.bad.nc.test'],
      excludedDns: [],
    });
    const dn = await DevCa.create('dn.test', { extensions: [nameConstraints({ permitted: [directory()] })] });
    expect(certificateFacts(dn.bundle()).nameConstraints).toBe('unsupported');
    const min = await DevCa.create('min.test', { extensions: [nameConstraints({ permitted: [uri('min.test')], minimum: 1 })] });
    expect(certificateFacts(min.bundle()).nameConstraints).toBe('unsupported');
  });

  it('caches by DER: the same bytes, or the same object, give the same facts', async () => {
    const der = (await root.issue('spiffe://example.org/cache')).certificates[0];
    const facts = certificateFacts(der);
    expect(certificateFacts(Buffer.from(der))).toBe(facts);
    expect(certificateFacts(new Uint8Array(der))).toBe(facts);
    const node = new X509Certificate(der);
    expect(certificateFacts(node)).toBe(facts);
    expect(certificateFacts(node)).toBe(facts);
  });

  it('memoizes signature checks per issuer', async () => {
    const other = await DevCa.create('example.org');
    const leaf = certificateFacts((await root.issue('spiffe://example.org/sig')).certificates[0]);
    const issuer = certificateFacts(root.bundle());
    const stranger = certificateFacts(other.bundle());
    const verify = jest.spyOn(leaf.certificate, 'verify');
    expect(leaf.isSignedBy(issuer)).toBe(true);
    expect(leaf.isSignedBy(issuer)).toBe(true);
    expect(leaf.isSignedBy(stranger)).toBe(false);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['empty input', () => Buffer.alloc(0), 'certificate has trailing data or is empty'],
    ['trailing bytes', (der: Buffer) => Buffer.concat([der, Buffer.from([0x05, 0x00])]), 'certificate has trailing data or is empty'],
    ['a SEQUENCE that is not a certificate', () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), /^malformed certificate: /],
  ])('rejects %s with DerError', async (_name, make, message) => {
    const der = (await root.issue('spiffe://example.org/bad')).certificates[0];
    expect(() => certificateFacts(make(der))).toThrow(DerError);
    expect(() => certificateFacts(make(der))).toThrow(message);
  });

  it('numbers key usage bits and names extensions as the ASN.1 parser does (kept locally so that importing loads no parser)', () => {
    for (const [name, bit] of Object.entries(KeyUsageFlags)) {
      expect([name, bit]).toEqual([name, asn1x509.KeyUsageFlags[name as keyof typeof asn1x509.KeyUsageFlags]]);
    }
    expect(EXTENSION_OIDS).toEqual({
      basicConstraints: asn1x509.id_ce_basicConstraints,
      keyUsage: asn1x509.id_ce_keyUsage,
      extKeyUsage: asn1x509.id_ce_extKeyUsage,
      subjectAltName: asn1x509.id_ce_subjectAltName,
      nameConstraints: asn1x509.id_ce_nameConstraints,
      certificatePolicies: asn1x509.id_ce_certificatePolicies,
    });
  });
});
