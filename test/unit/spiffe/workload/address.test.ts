import { EndpointAddressError } from '../../../../src/spiffe/errors';
import { parseEndpointAddress, resolveEndpointAddress } from '../../../../src/spiffe/workload/address';
import { thrown } from '../thrown';

const P = 'workload endpoint ';

const errorOf = (uri: string): EndpointAddressError => thrown(EndpointAddressError, 'ERR_ENDPOINT_ADDRESS', () => parseEndpointAddress(uri));

describe('parseEndpointAddress', () => {
  describe('go-spiffe addr_test vectors (same error text)', () => {
    it.each([
      ['blah', 'socket URI must have a "tcp" or "unix" scheme'],
      ['unix:opaque', 'unix socket URI must not be opaque'],
      ['unix://', 'unix socket URI must include a path'],
      ['unix://foo?whatever', 'unix socket URI must not include query values'],
      ['unix://foo#whatever', 'unix socket URI must not include a fragment'],
      ['unix://john:doe@foo/path', 'unix socket URI must not include user info'],
      ['tcp:opaque', 'tcp socket URI must not be opaque'],
      ['tcp://', 'tcp socket URI must include a host'],
      ['tcp://1.2.3.4:5?whatever', 'tcp socket URI must not include query values'],
      ['tcp://1.2.3.4:5#whatever', 'tcp socket URI must not include a fragment'],
      ['tcp://john:doe@1.2.3.4:5/path', 'tcp socket URI must not include user info'],
      ['tcp://1.2.3.4:5/path', 'tcp socket URI must not include a path'],
      ['tcp://foo', 'tcp socket URI host component must be an IP:port'],
      ['tcp://1.2.3.4', 'tcp socket URI host component must include a port'],
    ])('%s → %s', (uri, message) => {
      expect(errorOf(uri).message).toBe(P + message);
    });

    it('rejects a control character as not a URI', () => {
      expect(errorOf('\t').message).toBe(`${P}socket is not a valid URI: invalid character in URI`);
    });

    it('accepts tcp://1.2.3.4:5 as the ipv4 target 1.2.3.4:5', () => {
      expect(parseEndpointAddress('tcp://1.2.3.4:5')).toEqual({ uri: 'tcp://1.2.3.4:5', target: 'ipv4:1.2.3.4:5' });
    });
  });

  describe('spec-strict rules (java-spiffe), beyond go-spiffe', () => {
    it.each([
      ['unix://foo', 'unix socket URI must not include an authority component'],
      ['unix://host/run/agent.sock', 'unix socket URI must not include an authority component'],
      ['unix://localhost/run/agent.sock', 'unix socket URI must not include an authority component'],
      ['unix:///', 'unix socket URI must include a path'],
      ['unix:run/agent.sock', 'unix socket URI must not be opaque'],
      ['unix:///run/agent.sock?', 'unix socket URI must not include query values'],
      ['unix:///run/agent.sock#', 'unix socket URI must not include a fragment'],
      ['tcp://1.2.3.4:5/', 'tcp socket URI must not include a path'],
      ['tcp://1.2.3.4:5?', 'tcp socket URI must not include query values'],
      ['tcp://@1.2.3.4:5', 'tcp socket URI must not include user info'],
      ['tcp://localhost:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://spire-agent.internal:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://::1:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://[1.2.3.4]:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://[fe80::1%25eth0]:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://:8000', 'tcp socket URI host component must be an IP:port'],
      ['tcp://1.2.3.4:', 'tcp socket URI host component must include a port'],
      ['tcp://[::1]', 'tcp socket URI host component must include a port'],
      ['tcp://1.2.3.4:0', 'tcp socket URI port must be a number from 1 to 65535'],
      ['tcp://1.2.3.4:65536', 'tcp socket URI port must be a number from 1 to 65535'],
      ['tcp://1.2.3.4:http', 'tcp socket URI port must be a number from 1 to 65535'],
      ['http://1.2.3.4:5', 'socket URI must have a "tcp" or "unix" scheme'],
      ['/run/agent.sock', 'socket URI must have a "tcp" or "unix" scheme'],
      ['', 'socket URI must have a "tcp" or "unix" scheme'],
      ['unix:///run/my agent.sock', 'socket is not a valid URI: invalid character in URI'],
      ['unix:///run/%zz.sock', 'socket is not a valid URI: invalid character in URI'],
      ['unix:///run/%00.sock', 'socket is not a valid URI: NUL in path'],
    ])('%s → %s', (uri, message) => {
      expect(errorOf(uri).message).toBe(P + message);
    });

    it.each([
      ['unix:///run/spire/sockets/agent.sock', 'unix:///run/spire/sockets/agent.sock'],
      ['unix:/run/spire/agent.sock', 'unix:///run/spire/agent.sock'],
      ['UNIX:///run/agent.sock', 'unix:///run/agent.sock'],
      ['unix:///run/my%20dir/agent.sock', 'unix:///run/my dir/agent.sock'],
      ['tcp://127.0.0.1:8000', 'ipv4:127.0.0.1:8000'],
      ['tcp://[::1]:8000', 'ipv6:[::1]:8000'],
      ['tcp://[2001:db8::7]:65535', 'ipv6:[2001:db8::7]:65535'],
      ['tcp://10.0.0.1:00081', 'ipv4:10.0.0.1:81'],
    ])('accepts %s as grpc-js target %s', (uri, target) => {
      expect(parseEndpointAddress(uri)).toEqual({ uri, target });
    });
  });
});

describe('resolveEndpointAddress', () => {
  it('prefers the explicit address over SPIFFE_ENDPOINT_SOCKET', () => {
    const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///from/env.sock' };
    expect(resolveEndpointAddress('tcp://127.0.0.1:1', env).target).toBe('ipv4:127.0.0.1:1');
  });

  it('falls back to SPIFFE_ENDPOINT_SOCKET', () => {
    expect(resolveEndpointAddress(undefined, { SPIFFE_ENDPOINT_SOCKET: 'unix:///from/env.sock' })).toEqual({
      uri: 'unix:///from/env.sock',
      target: 'unix:///from/env.sock',
    });
  });

  it('reads process.env by default', () => {
    const saved = process.env.SPIFFE_ENDPOINT_SOCKET;
    process.env.SPIFFE_ENDPOINT_SOCKET = 'unix:///default/env.sock';
    try {
      expect(resolveEndpointAddress().uri).toBe('unix:///default/env.sock');
    } finally {
      if (saved === undefined) delete process.env.SPIFFE_ENDPOINT_SOCKET;
      else process.env.SPIFFE_ENDPOINT_SOCKET = saved;
    }
  });

  it.each([[{}], [{ SPIFFE_ENDPOINT_SOCKET: '' }]])('fails when neither is configured (%j)', (env) => {
    expect(() => resolveEndpointAddress(undefined, env)).toThrow(new EndpointAddressError('workload endpoint socket address is not configured'));
  });

  it('validates the environment value too', () => {
    expect(() => resolveEndpointAddress(undefined, { SPIFFE_ENDPOINT_SOCKET: 'unix://foo' })).toThrow(EndpointAddressError);
  });
});
