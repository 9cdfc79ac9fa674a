import { EndpointAddressError } from '../errors';
import { parseEndpointLocation } from '../workload/address';

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
 * Parses `unix:///abs/path.sock` or `tcp://<ip>:<port>` (port 0 picks a free one) with the
 * client's own parser (`parseEndpointLocation`), since the address is printed for clients to
 * use as SPIFFE_ENDPOINT_SOCKET: whatever the server accepts, a client accepts too, and
 * reaches the same socket.
 */
export function parseListenAddress(address: string): ListenAddress {
  let location: ReturnType<typeof parseEndpointLocation>;
  try {
    location = parseEndpointLocation(address, { anyPort: true });
  } catch (err) {
    throw new EndpointAddressError(`invalid listen address "${address}": ${(err as Error).message}`, { cause: err });
  }
  if (location.kind === 'unix') {
    // The address as given: a client decodes it to this same path.
    return { kind: 'unix', path: location.path, bindTarget: `unix://${location.path}`, uriFor: () => address };
  }
  const host = location.ipv6 ? `[${location.ip}]` : location.ip;
  return { kind: 'tcp', bindTarget: `${host}:${location.port}`, uriFor: (port) => `tcp://${host}:${port}` };
}
