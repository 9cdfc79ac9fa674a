import fc from 'fast-check';
import { isIP, isIPv6 } from 'node:net';
import { InvalidValueError } from '../../../src/errors/invalid-value-error';
import { parseHostPort, type HostPort } from '../../../src/net/host-port';

describe('parseHostPort', () => {
  it.each([
    ['0.0.0.0:8443', '0.0.0.0', 8443],
    ['[::]:8443', '::', 8443],
    ['[fe80::1]:1', 'fe80::1', 1],
    ['localhost:9090', 'localhost', 9090],
    ['files.tools.svc.cluster.local:7001', 'files.tools.svc.cluster.local', 7001],
    ['127.0.0.1:65535', '127.0.0.1', 65535],
  ])('%s → %s port %d', (address, host, port) => {
    expect(parseHostPort(address, { allowPortZero: false })).toEqual({ host, port });
  });

  it('allows port 0 only for listeners', () => {
    expect(parseHostPort('127.0.0.1:0', { allowPortZero: true })).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => parseHostPort('127.0.0.1:0', { allowPortZero: false })).toThrow('the port must be a number from 1 to 65535');
  });

  it.each([
    ['8443', 'expected host:port'],
    [':8443', 'the host is missing'],
    ['::1:8443', 'an IPv6 host must be in brackets, e.g. [::1]:8443'],
    ['[example.org]:1', '"example.org" is not an IPv6 address'],
    ['999.1.1.1:1', '"999.1.1.1" is not an IP address or a host name'],
    ['bad_host:1', '"bad_host" is not an IP address or a host name'],
    ['-a.org:1', '"-a.org" is not an IP address or a host name'],
    ['a.org:', 'the port must be a number from 1 to 65535'],
    ['a.org:+80', 'the port must be a number from 1 to 65535'],
    ['a.org:65536', 'the port must be a number from 1 to 65535'],
  ])('rejects %s: %s', (address, reason) => {
    expect(() => parseHostPort(address, { allowPortZero: false })).toThrow(reason);
  });
});

describe('parseHostPort, as properties', () => {
  const ports = fc.integer({ min: 1, max: 65535 });
  const MESSAGES = [
    /^expected host:port$/,
    /^the host is missing$/,
    /^an IPv6 host must be in brackets, e\.g\. \[::1\]:8443$/,
    /^".*" is not an IPv6 address$/s,
    /^".*" is not an IP address or a host name$/s,
    /^the port must be a number from [01] to 65535$/,
  ];

  it('reads back every IPv4 address, bracketed IPv6 address and DNS name with every port from 1 to 65535', () => {
    const hosts = fc.oneof(
      fc.ipV4().map((host) => ({ host, written: host })),
      fc.ipV6().map((host) => ({ host, written: `[${host}]` })),
      fc.domain().map((host) => ({ host, written: host })),
    );
    fc.assert(
      fc.property(hosts, ports, fc.boolean(), ({ host, written }, port, allowPortZero) => {
        expect(parseHostPort(`${written}:${port}`, { allowPortZero })).toEqual({ host, port });
      }),
    );
  });

  it('refuses an IPv6 address without brackets, whatever the port', () => {
    fc.assert(
      fc.property(fc.ipV6(), ports, (host, port) => {
        expect(() => parseHostPort(`${host}:${port}`, { allowPortZero: true })).toThrow(/^an IPv6 host must be in brackets, e\.g\. \[::1\]:8443$/);
      }),
    );
  });

  it('refuses every port outside 1-65535 (0 only for listeners) and every port that is not plain digits', () => {
    const badPorts = fc.oneof(
      fc.constant('65536'),
      fc.integer({ min: 65536, max: 99999 }).map(String),
      fc.integer({ min: 100000 }).map(String),
      fc.integer({ max: -1 }).map(String),
      fc.constantFrom('', '+80', ' 80', '80 ', '0x50', '8e3', '80.0', '٨٠'),
    );
    fc.assert(
      fc.property(badPorts, fc.boolean(), (port, allowPortZero) => {
        const min = allowPortZero ? 0 : 1;
        expect(() => parseHostPort(`127.0.0.1:${port}`, { allowPortZero })).toThrow(`the port must be a number from ${min} to 65535`);
      }),
    );
    expect(() => parseHostPort('[::1]:0', { allowPortZero: false })).toThrow('the port must be a number from 1 to 65535');
  });

  it('on any input, returns a usable host and port or throws one of its reasons, nothing else', () => {
    const addresses = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc
        .tuple(fc.constantFrom('', '[', ']', '[::1]', '::', '1.2.3.4', 'a.b', '-', '.'), fc.constantFrom(':', '::', ''), fc.string({ maxLength: 8 }))
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(addresses, fc.boolean(), (address, allowPortZero) => {
        let parsed: HostPort;
        try {
          parsed = parseHostPort(address, { allowPortZero });
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidValueError);
          expect((err as InvalidValueError).code).toBe('ERR_INVALID_VALUE');
          expect(MESSAGES.some((message) => message.test((err as Error).message))).toBe(true);
          return;
        }
        expect(Number.isInteger(parsed.port) && parsed.port >= (allowPortZero ? 0 : 1) && parsed.port <= 65535).toBe(true);
        expect(parsed.host).not.toMatch(/[[\]\s]/);
        expect(isIP(parsed.host) !== 0 || /^[A-Za-z0-9.-]+$/.test(parsed.host)).toBe(true);
        // What it returns, written back, parses to the same host and port.
        const written = isIPv6(parsed.host) ? `[${parsed.host}]` : parsed.host;
        expect(parseHostPort(`${written}:${parsed.port}`, { allowPortZero })).toEqual(parsed);
      }),
    );
  });
});
