import { parseHostPort } from '../../../src/config/host-port';

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
