import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import * as x509 from '@peculiar/x509';
import { DevCa, type IssuedX509Svid } from '../../../../src/spiffe/dev/ca';
import { X509SvidError } from '../../../../src/spiffe/errors';
import { X509Svid } from '../../../../src/spiffe/x509/x509-svid';
import { thrown } from '../thrown';

const { digitalSignature, keyEncipherment, keyCertSign, cRLSign } = x509.KeyUsageFlags;
const ID = 'spiffe://example.org/agents/bot';

function parse(svid: IssuedX509Svid, key: Uint8Array = svid.privateKey): X509Svid {
  return X509Svid.parseRaw(Buffer.concat(svid.certificates), key, 'internal');
}

const parseError = (run: () => unknown): X509SvidError => thrown(X509SvidError, 'ERR_X509_SVID', run);

describe('X509Svid.parseRaw', () => {
  let root: DevCa;
  let intermediate: DevCa;

  beforeAll(async () => {
    root = await DevCa.create('example.org');
    intermediate = await root.createIntermediate();
  });

  it('parses a chain through an intermediate with its key', async () => {
    const issued = await intermediate.issue(ID);
    const svid = parse(issued);
    expect(svid.id.toString()).toBe(ID);
    expect(svid.hint).toBe('internal');
    expect(svid.certificates).toHaveLength(2);
    expect(svid.certificates[0]).toBeInstanceOf(X509Certificate);
    expect(svid.certificates[0].raw.equals(issued.certificates[0])).toBe(true);
    expect(svid.certificates[1].raw.equals(issued.certificates[1])).toBe(true);
    expect(svid.privateKey.type).toBe('private');
    expect(svid.expiresAt.getTime()).toBe(Date.parse(svid.certificates[0].validTo));
    expect(X509Svid.parseRaw(Buffer.concat(issued.certificates), issued.privateKey).hint).toBe('');
  });

  it('gives PEM for Node TLS, computed once', async () => {
    const svid = parse(await intermediate.issue(ID));
    const chain = svid.certChainPem();
    expect(chain.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(new X509Certificate(chain).raw.equals(svid.certificates[0].raw)).toBe(true);
    expect(svid.certChainPem()).toBe(chain);
    const key = svid.privateKeyPem();
    // Built from parts so that no file in the repository carries a PEM key header.
    expect(key.startsWith(`-----BEGIN ${'PRIVATE'} KEY-----\n`)).toBe(true);
    expect(svid.privateKeyPem()).toBe(key);
  });

  it('never shows the private key in JSON or util.inspect', async () => {
    const issued = await root.issue(ID);
    const svid = parse(issued);
    svid.privateKeyPem(); // the cached PEM must stay hidden too
    const secrets = [issued.privateKey.toString('base64'), issued.privateKey.toString('hex'), svid.privateKeyPem().split('\n')[1]];
    const shown = [
      JSON.stringify(svid),
      JSON.stringify({ svid }),
      inspect(svid),
      inspect(svid, { showHidden: true, depth: Infinity }),
      inspect(svid, { customInspect: false, showHidden: true, depth: Infinity }),
      `${String(svid)}`,
    ];
    for (const text of shown) {
      expect(text).not.toContain('PRIVATE KEY');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(svid))).toEqual({
      id: ID,
      hint: 'internal',
      expiresAt: svid.expiresAt.toISOString(),
      serialNumber: svid.certificates[0].serialNumber,
      chainLength: 1,
    });
    expect(inspect(svid, { breakLength: Infinity })).toBe(`X509Svid ${inspect(svid.toJSON(), { breakLength: Infinity })}`);
  });

  it.each<[string, () => Promise<Uint8Array>, string]>([
    ['no certificates', async () => Buffer.alloc(0), 'x509svid: certificate validation failed: no certificates found'],
    [
      'a leaf without a URI SAN',
      async () => Buffer.concat((await root.issue(ID, { uris: [], dnsNames: ['bot.test'] })).certificates),
      'x509svid: certificate validation failed: cannot get leaf certificate SPIFFE ID: certificate contains no URI SAN',
    ],
    [
      'a leaf with two URI SANs',
      async () => Buffer.concat((await root.issue(ID, { uris: [ID, 'spiffe://example.org/other'] })).certificates),
      'x509svid: certificate validation failed: cannot get leaf certificate SPIFFE ID: certificate contains more than one URI SAN',
    ],
    [
      'a non-spiffe URI SAN',
      async () => Buffer.concat((await root.issue(ID, { uris: ['https://example.org/bot'] })).certificates),
      'x509svid: certificate validation failed: cannot get leaf certificate SPIFFE ID: scheme is missing or invalid',
    ],
    [
      'a root ID',
      async () => Buffer.concat((await root.issue('spiffe://example.org')).certificates),
      'x509svid: certificate validation failed: leaf certificate SPIFFE ID must have a non-root path',
    ],
    [
      'a CA leaf',
      async () => Buffer.concat((await root.issue(ID, { ca: true })).certificates),
      'x509svid: certificate validation failed: leaf certificate must not have CA flag set to true',
    ],
    [
      'a leaf without digitalSignature',
      async () => Buffer.concat((await root.issue(ID, { keyUsage: keyEncipherment })).certificates),
      "x509svid: certificate validation failed: leaf certificate must have 'digitalSignature' set as key usage",
    ],
    [
      'a leaf without KeyUsage',
      async () => Buffer.concat((await root.issue(ID, { keyUsage: null })).certificates),
      "x509svid: certificate validation failed: leaf certificate must have 'digitalSignature' set as key usage",
    ],
    [
      'a leaf with keyCertSign',
      async () => Buffer.concat((await root.issue(ID, { keyUsage: digitalSignature | keyCertSign })).certificates),
      "x509svid: certificate validation failed: leaf certificate must not have 'keyCertSign' set as key usage",
    ],
    [
      'a leaf with cRLSign',
      async () => Buffer.concat((await root.issue(ID, { keyUsage: digitalSignature | cRLSign })).certificates),
      "x509svid: certificate validation failed: leaf certificate must not have 'cRLSign' set as key usage",
    ],
    [
      'an intermediate without the CA flag',
      async () => Buffer.concat((await (await root.createIntermediate({ ca: false })).issue(ID)).certificates),
      'x509svid: certificate validation failed: signing certificate must have CA flag set to true',
    ],
    [
      'an intermediate without keyCertSign',
      async () => Buffer.concat((await (await root.createIntermediate({ keyUsage: cRLSign })).issue(ID)).certificates),
      "x509svid: certificate validation failed: signing certificate must have 'keyCertSign' set as key usage",
    ],
    [
      'an intermediate without KeyUsage',
      async () => Buffer.concat((await (await root.createIntermediate({ keyUsage: null })).issue(ID)).certificates),
      "x509svid: certificate validation failed: signing certificate must have 'keyCertSign' set as key usage",
    ],
  ])('rejects %s', async (_name, certs, message) => {
    const der = await certs();
    const key = (await root.issue(ID)).privateKey; // a valid key: these fail before the key match
    expect(parseError(() => X509Svid.parseRaw(der, key)).message).toBe(message);
  });

  it('rejects PEM or truncated certificates, naming the DER problem', async () => {
    const issued = await root.issue(ID);
    const pem = Buffer.from(new X509Certificate(issued.certificates[0]).toString());
    expect(parseError(() => X509Svid.parseRaw(pem, issued.privateKey)).message).toBe(
      'x509svid: cannot parse DER encoded certificate: expected a DER SEQUENCE at offset 0, found tag 0x2d',
    );
    const truncated = issued.certificates[0].subarray(0, 100);
    expect(parseError(() => X509Svid.parseRaw(truncated, issued.privateKey)).message).toMatch(/^x509svid: cannot parse DER encoded certificate: truncated DER element at offset 0/);
  });

  it('rejects a key that is not PKCS#8 DER', async () => {
    const issued = await root.issue(ID);
    const err = parseError(() => X509Svid.parseRaw(issued.certificates[0], Buffer.from('not a key')));
    expect(err.message).toMatch(/^x509svid: cannot parse DER encoded private key: /);
  });

  it('rejects a key that does not match the leaf, of the same or another type', async () => {
    const issued = await root.issue(ID);
    const other = await root.issue(ID);
    expect(parseError(() => parse(issued, other.privateKey)).message).toBe('x509svid: private key validation failed: leaf certificate does not match private key');
    for (const type of ['ed25519', 'rsa'] as const) {
      const key = (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync(type)).privateKey;
      const der = key.export({ type: 'pkcs8', format: 'der' });
      expect(parseError(() => parse(issued, der)).message).toBe('x509svid: private key validation failed: leaf certificate does not match private key');
    }
  });

  it('rejects a key type go-spiffe does not support', async () => {
    const issued = await root.issue(ID);
    const der = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(parseError(() => parse(issued, der)).message).toBe('x509svid: private key validation failed: unsupported private key type x25519');
  });
});
