import { isIP } from 'node:net';
import { EndpointAddressError } from '../errors';

/** Where the dev Workload API listens, in SPIFFE_ENDPOINT_SOCKET form and as a grpc-js bind target. */
export interface ListenAddress {
  kind: 'unix' | 'tcp';
  /** For unix: the absolute socket path. */
  path?: string;
  /** What `grpc.Server.bindAsync` takes. */
  bindTarget: string;
  /** The SPIFFE_ENDPOINT_SOCKET URI, given the port the server actually bound (tcp port 0). */
  uriFor(boundPort: number): string;
}

export const DEFAULT_LISTEN_ADDRESS = 'tcp://127.0.0.1:0';

/**
 * Parses `unix:///abs/path.sock` or `tcp://<ip>:<port>` (port 0 picks a free one). The rules
 * are the spec's (no authority on unix, an IP and a port on tcp, nothing else), because
 * the address is printed for clients to use as SPIFFE_ENDPOINT_SOCKET.
 */
export function parseListenAddress(address: string): ListenAddress {
  const fail = (why: string): never => {
    throw new EndpointAddressError(`invalid listen address "${address}": ${why}`);
  };
  if (address.startsWith('unix:')) {
    const rest = address.slice('unix:'.length);
    if (!rest.startsWith('///')) fail('must be unix:///absolute/path (no authority)');
    const path = rest.slice(2);
    if (path === '/' || /[?#]/.test(path)) fail('unix socket path must be a plain absolute file path');
    return { kind: 'unix', path, bindTarget: `unix://${path}`, uriFor: () => `unix://${path}` };
  }
  if (!address.startsWith('tcp://')) fail('scheme must be "unix" or "tcp"');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return fail('not a URI');
  }
  if (url.username || url.password) fail('must not include user info');
  if (url.pathname || url.search || url.hash) fail('must not include a path, query or fragment');
  const host = url.hostname;
  if (isIP(host.replace(/^\[|\]$/g, '')) === 0) fail('host must be an IP address');
  if (url.port === '') fail('must include a port');
  return { kind: 'tcp', bindTarget: `${host}:${url.port}`, uriFor: (port) => `tcp://${host}:${port}` };
}
