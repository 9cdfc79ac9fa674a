import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DevCa, type IssuedX509Svid } from '../../../../src/spiffe/dev/ca';
import { BundleError, X509SvidError } from '../../../../src/spiffe/errors';
import type { X509BundleSource } from '../../../../src/spiffe/sources';
import { spiffeIdOfLeaf, verifyX509Svid } from '../../../../src/spiffe/x509/verify';
import { X509Bundle } from '../../../../src/spiffe/x509/x509-bundle';
import { X509BundleSet } from '../../../../src/spiffe/x509/x509-bundle-set';
import { thrown } from '../thrown';
import { directory, dns, email, nameConstraints, unknownExtension, uri } from './extensions';

const { digitalSignature, keyEncipherment, keyCertSign, cRLSign } = x509.KeyUsageFlags;
const ID = 'spiffe://example.org/agents/bot';
const HOUR = 3600_000;
const VERIFY = 'x509svid: could not verify leaf certificate: ';
const UNKNOWN = 'x509: certificate signed by unknown authority';
const RFC3339 = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';

const bundlesOf = (...cas: DevCa[]): X509BundleSet => new X509BundleSet(cas.map((ca) => X509Bundle.parseDer(ca.trustDomain, ca.bundle())));

const failure = (run: () => unknown): string => thrown(X509SvidError, 'ERR_X509_SVID', run).message;

/** The reason Go reports when every candidate issuer was rejected. */
const hinted = (reason: string): RegExp =>
  new RegExp(`^${escape(VERIFY + UNKNOWN)} \\(possibly because of "${reason}" while trying to verify candidate authority certificate "[^"]+"\\)$`);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('verifyX509Svid', () => {
  let root: DevCa;
  let intermediate: DevCa;
  let bundles: X509BundleSet;

  beforeAll(async () => {
    root = await DevCa.create('example.org');
    intermediate = await root.createIntermediate();
    bundles = bundlesOf(root);
  });

  describe('accepts', () => {
    it('a leaf issued by a root of its trust domain, returning the ID and the built chain', async () => {
      const svid = await root.issue(ID);
      const result = verifyX509Svid(svid.certificates, bundles);
      expect(result.id.toString()).toBe(ID);
      expect(result.chain.map((c) => c.raw)).toEqual([svid.certificates[0], root.bundle()]);
      expect(result.chain[1]).toBe(bundles.get('example.org')?.authorities[0]);
    });

    it('a chain through two intermediates', async () => {
      const second = await intermediate.createIntermediate();
      const svid = await second.issue(ID);
      expect(svid.certificates).toHaveLength(3);
      const result = verifyX509Svid(svid.certificates, bundles);
      expect(result.chain.map((c) => c.raw)).toEqual([...svid.certificates, root.bundle()]);
    });

    it('intermediates out of order, with an unrelated extra certificate and the root itself', async () => {
      const second = await intermediate.createIntermediate();
      const [leaf, i2, i1] = (await second.issue(ID)).certificates;
      const stranger = await (await DevCa.create('example.org')).createIntermediate();
      const result = verifyX509Svid([leaf, root.bundle(), stranger.certificate, i1, i2], bundles);
      expect(result.chain.map((c) => c.raw)).toEqual([leaf, i2, i1, root.bundle()]);
    });

    it('X509Certificate objects, returning those same objects', async () => {
      const certs = (await intermediate.issue(ID)).certificates.map((der) => new X509Certificate(der));
      const result = verifyX509Svid(certs, bundles);
      expect(result.chain[0]).toBe(certs[0]);
      expect(result.chain[1]).toBe(certs[1]);
    });

    it('a leaf with keyEncipherment, DNS SANs and a non-critical unknown extension', async () => {
      const svid = await root.issue(ID, { keyUsage: digitalSignature | keyEncipherment, dnsNames: ['bot.test'], extensions: [unknownExtension(false)] });
      expect(verifyX509Svid(svid.certificates, bundles).id.toString()).toBe(ID);
    });

    it('a root without KeyUsage (RFC 5280 puts no limit on it)', async () => {
      const bare = await DevCa.create('bare.test', { keyUsage: null });
      const svid = await bare.issue('spiffe://bare.test/a');
      expect(verifyX509Svid(svid.certificates, bundlesOf(bare)).id.toString()).toBe('spiffe://bare.test/a');
    });

    it('at the exact edges of the validity window', async () => {
      const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
      const notAfter = new Date(notBefore.getTime() + 60_000);
      const svid = await root.issue(ID, { notBefore, notAfter });
      expect(verifyX509Svid(svid.certificates, bundles, notBefore).id.toString()).toBe(ID);
      expect(verifyX509Svid(svid.certificates, bundles, notAfter).id.toString()).toBe(ID);
    });
  });

  describe('rejects the leaf', () => {
    it.each<[string, (ca: DevCa) => Promise<IssuedX509Svid>, string]>([
      ['with the CA flag', (ca) => ca.issue(ID, { ca: true }), 'x509svid: leaf certificate with CA flag set to true'],
      ['with keyCertSign', (ca) => ca.issue(ID, { keyUsage: digitalSignature | keyCertSign }), 'x509svid: leaf certificate with KeyCertSign key usage'],
      ['with cRLSign', (ca) => ca.issue(ID, { keyUsage: digitalSignature | cRLSign }), 'x509svid: leaf certificate with KeyCrlSign key usage'],
      ['without digitalSignature', (ca) => ca.issue(ID, { keyUsage: keyEncipherment }), "x509svid: leaf certificate must have 'digitalSignature' set as key usage"],
      ['without KeyUsage', (ca) => ca.issue(ID, { keyUsage: null }), "x509svid: leaf certificate must have 'digitalSignature' set as key usage"],
      ['with two URI SANs', (ca) => ca.issue(ID, { uris: [ID, 'spiffe://example.org/b'] }), 'x509svid: could not get leaf SPIFFE ID: certificate contains more than one URI SAN'],
      ['with no URI SAN', (ca) => ca.issue(ID, { uris: [], dnsNames: ['bot.test'] }), 'x509svid: could not get leaf SPIFFE ID: certificate contains no URI SAN'],
      ['with a non-spiffe URI', (ca) => ca.issue(ID, { uris: ['https://example.org/bot'] }), 'x509svid: could not get leaf SPIFFE ID: scheme is missing or invalid'],
      ['with an invalid SPIFFE ID', (ca) => ca.issue(ID, { uris: ['spiffe://example.org/a//b'] }), 'x509svid: could not get leaf SPIFFE ID: path cannot contain empty segments'],
      ['with a root ID', (ca) => ca.issue('spiffe://example.org'), 'x509svid: leaf certificate SPIFFE ID must have a non-root path'],
      ['with an unknown critical extension', (ca) => ca.issue(ID, { extensions: [unknownExtension(true)] }), `${VERIFY}x509: unhandled critical extension`],
    ])('%s', async (_name, issue, message) => {
      const svid = await issue(root);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toBe(message);
    });

    it('when expired, also under a valid intermediate', async () => {
      const svid = await intermediate.issue(ID, { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) });
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(
        new RegExp(`^${escape(VERIFY)}x509: certificate has expired or is not yet valid: current time ${RFC3339} is after ${RFC3339}$`),
      );
    });

    it('when not yet valid', async () => {
      const svid = await root.issue(ID, { notBefore: new Date(Date.now() + HOUR) });
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(
        new RegExp(`^${escape(VERIFY)}x509: certificate has expired or is not yet valid: current time ${RFC3339} is before ${RFC3339}$`),
      );
    });

    it('that verified a moment ago, once `now` is past its expiry (validity is never cached)', async () => {
      const svid = await root.issue(ID);
      const now = new Date();
      verifyX509Svid(svid.certificates, bundles, now);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles, new Date(now.getTime() + 2 * HOUR)))).toMatch(/is after/);
    });

    it('when the chain is empty, the time invalid or a certificate cannot be parsed', async () => {
      expect(failure(() => verifyX509Svid([], bundles))).toBe('x509svid: empty certificates chain');
      expect(failure(() => verifyX509Svid([root.bundle()], bundles, new Date('not a date')))).toBe('x509svid: verification time is not a valid date');
      const svid = await root.issue(ID);
      expect(failure(() => verifyX509Svid([svid.certificates[0], Buffer.from('junk')], bundles))).toMatch(/^x509svid: unable to parse certificate: /);
    });

    it('when the peer sends more certificates than any real chain has', async () => {
      const svid = await root.issue(ID);
      const chain = [svid.certificates[0], ...new Array(16).fill(root.bundle())];
      expect(failure(() => verifyX509Svid(chain, bundles))).toBe('x509svid: certificate chain has 17 certificates, more than 16');
    });
  });

  describe('uses only the bundle of the leaf’s own trust domain', () => {
    it('rejects a leaf of a trust domain without a bundle, even though its chain verifies under another one', async () => {
      const forged = await root.issue('spiffe://evil.test/x');
      expect(failure(() => verifyX509Svid(forged.certificates, bundles))).toBe('x509svid: could not get X509 bundle: no X.509 bundle found for trust domain: "evil.test"');
    });

    it('rejects the forgery also when that trust domain has a bundle of its own', async () => {
      const evil = await DevCa.create('evil.test');
      const forged = await intermediate.issue('spiffe://evil.test/x');
      expect(failure(() => verifyX509Svid(forged.certificates, bundlesOf(root, evil)))).toBe(VERIFY + UNKNOWN);
    });

    it('rejects a leaf from another CA that claims the same trust domain name', async () => {
      const impostor = await DevCa.create('example.org');
      const svid = await (await impostor.createIntermediate()).issue(ID);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toBe(VERIFY + UNKNOWN);
      expect(failure(() => verifyX509Svid([...svid.certificates, impostor.bundle()], bundles))).toBe(VERIFY + UNKNOWN);
    });

    it('verifies federated trust domains side by side, each only under its own CA', async () => {
      const partner = await DevCa.create('partner.test');
      const set = bundlesOf(root, partner);
      const ours = await root.issue(ID);
      const theirs = await partner.issue('spiffe://partner.test/tool');
      expect(verifyX509Svid(ours.certificates, set).id.toString()).toBe(ID);
      expect(verifyX509Svid(theirs.certificates, set).id.toString()).toBe('spiffe://partner.test/tool');
      const crossed = await partner.issue('spiffe://example.org/agents/bot');
      expect(failure(() => verifyX509Svid(crossed.certificates, set))).toBe(VERIFY + UNKNOWN);
      expect(failure(() => verifyX509Svid(theirs.certificates, bundlesOf(root)))).toBe(
        'x509svid: could not get X509 bundle: no X.509 bundle found for trust domain: "partner.test"',
      );
    });

    it('rejects everything under an empty bundle', async () => {
      const svid = await root.issue(ID);
      const empty = new X509BundleSet([X509Bundle.parseDer('example.org', new Uint8Array(0))]);
      expect(failure(() => verifyX509Svid(svid.certificates, empty))).toBe(VERIFY + UNKNOWN);
    });

    it('wraps whatever error the bundle source throws', async () => {
      const source: X509BundleSource = {
        getX509BundleForTrustDomain: (td) => {
          throw new BundleError(`source closed while asking for ${String(td)}`);
        },
      };
      const svid = await root.issue(ID);
      const caught = thrown(X509SvidError, 'ERR_X509_SVID', () => verifyX509Svid(svid.certificates, source));
      expect(caught.message).toBe('x509svid: could not get X509 bundle: source closed while asking for example.org');
      expect(caught.cause).toBeInstanceOf(BundleError);
    });
  });

  describe('validates the path', () => {
    it('rejects a chain with a missing intermediate', async () => {
      const svid = await (await intermediate.createIntermediate()).issue(ID);
      expect(failure(() => verifyX509Svid([svid.certificates[0], svid.certificates[2]], bundles))).toBe(VERIFY + UNKNOWN);
    });

    it('rejects an expired intermediate', async () => {
      const expired = await root.createIntermediate({ notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) });
      const svid = await expired.issue(ID, { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() + HOUR) });
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(
        hinted(`x509: certificate has expired or is not yet valid: current time ${RFC3339} is after ${RFC3339}`),
      );
    });

    it('rejects an expired root', async () => {
      const old = await DevCa.create('old.test', { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) });
      const svid = await old.issue('spiffe://old.test/a', { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() + HOUR) });
      expect(failure(() => verifyX509Svid(svid.certificates, bundlesOf(old)))).toMatch(hinted('x509: certificate has expired or is not yet valid: .*'));
    });

    it.each<[string, Parameters<DevCa['createIntermediate']>[0]]>([
      ['without the CA flag', { ca: false }],
      ['without keyCertSign', { keyUsage: cRLSign }],
      ['without KeyUsage', { keyUsage: null }],
    ])('rejects an intermediate %s', async (_name, options) => {
      const svid = await (await root.createIntermediate(options)).issue(ID);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(hinted(escape('x509: invalid signature: parent certificate cannot sign this kind of certificate')));
    });

    it('rejects a root without the CA flag or with a KeyUsage lacking keyCertSign', async () => {
      for (const options of [{ ca: false }, { keyUsage: cRLSign }]) {
        const ca = await DevCa.create('weak.test', options);
        const svid = await ca.issue('spiffe://weak.test/a');
        expect(failure(() => verifyX509Svid(svid.certificates, bundlesOf(ca)))).toMatch(
          hinted(escape('x509: invalid signature: parent certificate cannot sign this kind of certificate')),
        );
      }
    });

    it('rejects a leaf whose signature was tampered with', async () => {
      const leaf = Buffer.from((await root.issue(ID)).certificates[0]);
      leaf[leaf.length - 3] ^= 0x01; // inside the ECDSA signature value
      expect(failure(() => verifyX509Svid([leaf], bundles))).toMatch(hinted('x509: signature verification failure'));
    });

    it('rejects an intermediate with an unknown critical extension', async () => {
      const svid = await (await root.createIntermediate({ extensions: [unknownExtension(true)] })).issue(ID);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(hinted('x509: unhandled critical extension'));
    });

    it('respects pathLenConstraint', async () => {
      const zero = await DevCa.create('len.test', { pathLength: 0 });
      const direct = await zero.issue('spiffe://len.test/a');
      expect(verifyX509Svid(direct.certificates, bundlesOf(zero)).id.toString()).toBe('spiffe://len.test/a');
      const below = await (await zero.createIntermediate()).issue('spiffe://len.test/a');
      expect(failure(() => verifyX509Svid(below.certificates, bundlesOf(zero)))).toMatch(hinted('x509: too many intermediates for path length constraint'));

      const one = await DevCa.create('len.test', { pathLength: 1 });
      const i1 = await one.createIntermediate();
      expect(verifyX509Svid((await i1.issue('spiffe://len.test/a')).certificates, bundlesOf(one)).chain).toHaveLength(3);
      const deep = await (await i1.createIntermediate()).issue('spiffe://len.test/a');
      expect(failure(() => verifyX509Svid(deep.certificates, bundlesOf(one)))).toMatch(hinted('x509: too many intermediates for path length constraint'));
    });

    it('enforces pathLenConstraint on an intermediate too', async () => {
      const capped = await root.createIntermediate({ pathLength: 0 });
      const svid = await (await capped.createIntermediate()).issue(ID);
      expect(failure(() => verifyX509Svid(svid.certificates, bundles))).toMatch(hinted('x509: too many intermediates for path length constraint'));
    });

    it('stops at eight certificates in a path', async () => {
      let ca = root;
      for (let i = 0; i < 6; i++) ca = await ca.createIntermediate();
      const six = await ca.issue(ID);
      expect(verifyX509Svid(six.certificates, bundles).chain).toHaveLength(8);
      const seven = await (await ca.createIntermediate()).issue(ID);
      expect(failure(() => verifyX509Svid(seven.certificates, bundles))).toMatch(hinted('x509: certificate chain is too long'));
    });

    it('bounds the work a peer can cause: many same-key, same-name CAs issuing each other', async () => {
      // Fifteen self-issued copies of one CA (same name, same key, other serials) each verify
      // each other's signature, so without a limit the depth-first search explores 15!/9! paths.
      const provider = webcrypto as unknown as NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
      const generate = () => provider.subtle.generateKey(alg, false, ['sign', 'verify']);
      const [caKeys, leafKeys] = await Promise.all([generate(), generate()]);
      const validity = { notBefore: new Date(Date.now() - HOUR), notAfter: new Date(Date.now() + HOUR) };
      const copies = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          x509.X509CertificateGenerator.createSelfSigned(
            {
              serialNumber: (i + 1).toString(16).padStart(2, '0'),
              name: 'CN=loop',
              keys: caKeys,
              signingAlgorithm: alg,
              ...validity,
              extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(keyCertSign, true)],
            },
            provider,
          ),
        ),
      );
      const leaf = await x509.X509CertificateGenerator.create(
        {
          subject: 'CN=leaf',
          issuer: 'CN=loop',
          publicKey: leafKeys.publicKey,
          signingKey: caKeys.privateKey,
          signingAlgorithm: alg,
          ...validity,
          extensions: [new x509.KeyUsagesExtension(digitalSignature, true), new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }])],
        },
        provider,
      );
      const chain = [leaf, ...copies].map((c) => Buffer.from(c.rawData));
      expect(failure(() => verifyX509Svid(chain, bundles))).toBe(`${VERIFY}x509: signature check attempts limit reached while verifying certificate chain`);
    });

    it('ends the search on a cycle: a self-signed stranger offered as an intermediate', async () => {
      const stranger = await DevCa.create('example.org');
      const svid = await (await stranger.createIntermediate()).issue(ID);
      expect(failure(() => verifyX509Svid([...svid.certificates, stranger.bundle()], bundles))).toBe(VERIFY + UNKNOWN);
    });
  });

  describe('enforces name constraints', () => {
    const issueUnder = async (constraints: x509.Extension, id = ID, dnsNames?: string[]) => {
      const ca = await DevCa.create('example.org', { extensions: [constraints] });
      const svid = await (await ca.createIntermediate()).issue(id, { dnsNames });
      return () => verifyX509Svid(svid.certificates, bundlesOf(ca));
    };

    it('accepts IDs whose trust domain a permitted URI subtree names', async () => {
      expect((await issueUnder(nameConstraints({ permitted: [uri('example.org')] })))().id.toString()).toBe(ID);
    });

    it('rejects IDs outside the permitted URI subtrees', async () => {
      expect(failure(await issueUnder(nameConstraints({ permitted: [uri('other.org')] })))).toMatch(
        hinted(escape(`x509: a root or intermediate certificate is not authorized to sign for this name: URI \\"${ID}\\" is not permitted by any constraint`)),
      );
    });

    it('treats a URI constraint without a dot as one host and with a dot as its subdomains', async () => {
      expect(failure(await issueUnder(nameConstraints({ permitted: [uri('.example.org')] })))).toMatch(/is not permitted by any constraint/);
      expect(failure(await issueUnder(nameConstraints({ permitted: [uri('org')] })))).toMatch(/is not permitted by any constraint/);
    });

    it('rejects IDs in an excluded URI subtree', async () => {
      expect(failure(await issueUnder(nameConstraints({ excluded: [uri('example.org')] })))).toMatch(
        hinted(escape(`x509: a root or intermediate certificate is not authorized to sign for this name: URI \\"${ID}\\" is excluded by constraint \\"example.org\\"`)),
      );
    });

    it('checks DNS SANs against DNS subtrees', async () => {
      const constraints = nameConstraints({ permitted: [dns('example.org')] });
      expect((await issueUnder(constraints, ID, ['api.example.org']))().id.toString()).toBe(ID);
      expect(failure(await issueUnder(constraints, ID, ['api.example.com']))).toMatch(/DNS name \\"api\.example\.com\\" is not permitted by any constraint/);
    });

    it('fails closed on a name form it does not evaluate, critical or not', async () => {
      expect(failure(await issueUnder(nameConstraints({ permitted: [directory()] })))).toMatch(hinted('x509: unsupported name constraint'));
      expect(failure(await issueUnder(nameConstraints({ excluded: [email('a@example.org')] }, false)))).toMatch(hinted('x509: unsupported name constraint'));
    });
  });
});

describe('spiffeIdOfLeaf', () => {
  it('reads the single URI SAN of an already verified leaf', async () => {
    const root = await DevCa.create('example.org');
    const svid = await root.issue(ID);
    expect(spiffeIdOfLeaf(svid.certificates[0]).toString()).toBe(ID);
    expect(spiffeIdOfLeaf(new X509Certificate(svid.certificates[0])).toString()).toBe(ID);
    const two = await root.issue(ID, { uris: [ID, ID] });
    expect(failure(() => spiffeIdOfLeaf(two.certificates[0]))).toBe('x509svid: could not get leaf SPIFFE ID: certificate contains more than one URI SAN');
    expect(failure(() => spiffeIdOfLeaf(Buffer.from('junk')))).toMatch(/^x509svid: unable to parse certificate: /);
  });
});
