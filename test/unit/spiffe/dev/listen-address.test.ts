import { EndpointAddressError } from '../../../../src/spiffe/errors';
import { parseListenAddress } from '../../../../src/spiffe/dev/listen-address';
import { parseEndpointAddress } from '../../../../src/spiffe/workload/address';
import { thrown } from '../thrown';

describe('parseListenAddress', () => {
  it('accepts tcp port 0 (any free port) and reports the bound port in the client URI', () => {
    const listen = parseListenAddress('tcp://127.0.0.1:0');
    expect(listen).toMatchObject({ kind: 'tcp', bindTarget: '127.0.0.1:0' });
    expect(listen.uriFor(43210)).toBe('tcp://127.0.0.1:43210');
    expect(parseEndpointAddress(listen.uriFor(43210)).target).toBe('ipv4:127.0.0.1:43210');
  });

  it('brackets an IPv6 host', () => {
    const listen = parseListenAddress('tcp://[::1]:0');
    expect(listen.bindTarget).toBe('[::1]:0');
    expect(listen.uriFor(8000)).toBe('tcp://[::1]:8000');
  });

  it('binds the unix socket a client of the same address connects to, percent-escapes included', () => {
    const listen = parseListenAddress('unix:///tmp/dev%20agent.sock');
    expect(listen).toMatchObject({ kind: 'unix', path: '/tmp/dev agent.sock', bindTarget: 'unix:///tmp/dev agent.sock' });
    expect(listen.uriFor(0)).toBe('unix:///tmp/dev%20agent.sock');
    expect(parseEndpointAddress(listen.uriFor(0)).target).toBe(listen.bindTarget);
  });

  it.each([
    ['unix://rel/x.sock', 'workload endpoint unix socket URI must not include an authority component'],
    ['unix:///', 'workload endpoint unix socket URI must include a path'],
    ['tcp://localhost:0', 'workload endpoint tcp socket URI host component must be an IP:port'],
    ['tcp://127.0.0.1', 'workload endpoint tcp socket URI host component must include a port'],
    ['tcp://127.0.0.1:0/x', 'workload endpoint tcp socket URI must not include a path'],
    ['tcp://127.0.0.1:65536', 'workload endpoint tcp socket URI port must be a number from 0 to 65535'],
    ['http://127.0.0.1:0', 'workload endpoint socket URI must have a "tcp" or "unix" scheme'],
  ])("rejects %s with the client parser's reason", (address, reason) => {
    const error = thrown(EndpointAddressError, 'ERR_ENDPOINT_ADDRESS', () => parseListenAddress(address));
    expect(error.message).toBe(`invalid listen address "${address}": ${reason}`);
  });
});
