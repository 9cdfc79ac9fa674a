import { SpiffeId, TrustDomain } from '../../../../src/spiffe/id';
import { SpiffeIdError } from '../../../../src/spiffe/errors';
import { thrown } from '../thrown';

const TD_CHARS = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
const PATH_CHARS = 'path segment characters are limited to letters, numbers, dots, dashes, and underscores';

const parseError = (s: string): string => thrown(SpiffeIdError, 'ERR_SPIFFE_ID', () => SpiffeId.parse(s)).message;

describe('SpiffeId.parse', () => {
  it.each([
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://example.org/path', 'example.org', '/path'],
    ['spiffe://trust_domain_name.example.com/a/B/c-d.e_f', 'trust_domain_name.example.com', '/a/B/c-d.e_f'],
    ['spiffe://1.2.3.4/workload', '1.2.3.4', '/workload'],
    ['spiffe://-td-./.a/..a/...', '-td-.', '/.a/..a/...'],
  ])('accepts %s', (s, td, path) => {
    const id = SpiffeId.parse(s);
    expect(id.trustDomain.name).toBe(td);
    expect(id.path).toBe(path);
    expect(id.toString()).toBe(s);
    expect(id.isWorkload).toBe(path !== '');
  });

  it.each([
    ['', 'cannot be empty'],
    ['http://example.org/a', 'scheme is missing or invalid'],
    ['SPIFFE://example.org/a', 'scheme is missing or invalid'],
    ['spiffe:/example.org', 'scheme is missing or invalid'],
    ['spiffe://', 'trust domain is missing'],
    ['spiffe:///path', 'trust domain is missing'],
    ['spiffe://Example.org/a', TD_CHARS],
    ['spiffe://example.org:8080/a', TD_CHARS],
    ['spiffe://user@example.org/a', TD_CHARS],
    ['spiffe://example.org?q=1', TD_CHARS],
    ['spiffe://example.org#frag', TD_CHARS],
    ['spiffe://ex%41mple.org', TD_CHARS],
    ['spiffe://[::1]/a', TD_CHARS],
    ['spiffe://example.org/', 'path cannot have a trailing slash'],
    ['spiffe://example.org/a/', 'path cannot have a trailing slash'],
    ['spiffe://example.org//a', 'path cannot contain empty segments'],
    ['spiffe://example.org/./a', 'path cannot contain dot segments'],
    ['spiffe://example.org/a/..', 'path cannot contain dot segments'],
    ['spiffe://example.org/a?q=1', PATH_CHARS],
    ['spiffe://example.org/a#f', PATH_CHARS],
    ['spiffe://example.org/a%20b', PATH_CHARS],
    ['spiffe://example.org/caf\u00e9', PATH_CHARS],
    ['spiffe://example.org/a b', PATH_CHARS],
  ])("rejects %j with go-spiffe's message", (s, message) => {
    expect(parseError(s)).toBe(message);
  });

  it('accepts an ID of 2048 bytes', () => {
    const prefix = 'spiffe://example.org/';
    const s = prefix + 'a'.repeat(2048 - prefix.length);
    expect(Buffer.byteLength(s)).toBe(2048);
    expect(SpiffeId.parse(s).toString()).toBe(s);
  });

  it('compares IDs as exact strings and knows its trust domain', () => {
    const a = SpiffeId.parse('spiffe://example.org/a');
    expect(a.equals(SpiffeId.parse('spiffe://example.org/a'))).toBe(true);
    expect(a.equals(SpiffeId.parse('spiffe://example.org/A'))).toBe(false);
    expect(a.memberOf(TrustDomain.parse('example.org'))).toBe(true);
    expect(a.memberOf(TrustDomain.parse('example.com'))).toBe(false);
  });

  it('builds an ID from a trust domain and a path, validating the path', () => {
    const td = TrustDomain.parse('example.org');
    expect(SpiffeId.fromPath(td, '/x/y').toString()).toBe('spiffe://example.org/x/y');
    expect(() => SpiffeId.fromPath(td, 'x')).toThrow('path must have a leading slash');
  });
});

describe('TrustDomain.parse', () => {
  it('accepts a name and a full SPIFFE ID, as go-spiffe does', () => {
    expect(TrustDomain.parse('example.org').toString()).toBe('example.org');
    expect(TrustDomain.parse('spiffe://example.org/path').name).toBe('example.org');
    expect(TrustDomain.parse('example.org').idString()).toBe('spiffe://example.org');
  });

  it.each([
    ['', 'trust domain is missing'],
    ['Example.org', TD_CHARS],
    ['example.org:443', TD_CHARS],
    ['spiffe://example.org/', 'path cannot have a trailing slash'],
    ['http://example.org', 'scheme is missing or invalid'],
  ])('rejects %j', (s, message) => {
    expect(() => TrustDomain.parse(s)).toThrow(new SpiffeIdError(message));
  });
});
