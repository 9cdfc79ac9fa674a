import { isIPv4, isIPv6 } from 'node:net';
import { EndpointAddressError } from '../errors';

/** A validated Workload API endpoint address. */
export interface EndpointAddress {
  /** The address as configured, e.g. `unix:///run/spire/agent.sock`. */
  uri: string;
  /** The same endpoint as a grpc-js channel target, e.g. `unix:///run/spire/agent.sock` or `ipv4:127.0.0.1:8000`. */
  target: string;
}

/** Where an endpoint address points: a unix socket path (percent-decoded), or an IP and port. */
export type EndpointLocation = { kind: 'unix'; path: string } | { kind: 'tcp'; ip: string; ipv6: boolean; port: number };

export const SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';

// RFC 3986 Appendix B, with each component's presence kept apart from its value: an
// empty query (`?`) is still a query, and "no other component may be set".
const URI_PARTS = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(\?[^#]*)?(#.*)?$/;
// Unreserved, sub-delims, gen-delims and percent-escapes: anything else is not a URI.
const URI_CHARS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#[\]]|%[0-9A-Fa-f]{2})*$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Validates an endpoint address (Workload Endpoint spec §4) and maps it to a grpc-js target.
 *
 * The rules are the spec's, as java-spiffe enforces them, which is stricter than go-spiffe:
 * `unix://host/path` (an authority), `unix:///` and relative paths are rejected. Checks run in
 * go-spiffe's order and use its messages, so every go-spiffe vector gets go-spiffe's error;
 * the extra spec checks come last. The scheme is case-insensitive (RFC 3986 §3.1).
 */
export function parseEndpointAddress(uri: string): EndpointAddress {
  const location = parseEndpointLocation(uri);
  if (location.kind === 'unix') {
    // grpc-js reads `unix://<authority>/<path>`; an empty authority keeps every path absolute.
    return { uri, target: `unix://${location.path}` };
  }
  // An explicit ipv4:/ipv6: target skips grpc-js's DNS resolver.
  return { uri, target: location.ipv6 ? `ipv6:[${location.ip}]:${location.port}` : `ipv4:${location.ip}:${location.port}` };
}

/**
 * The checks of `parseEndpointAddress`, returning where the address points. `anyPort` also
 * accepts port 0, which only a server may use (to listen on any free port).
 */
export function parseEndpointLocation(uri: string, options: { anyPort?: boolean } = {}): EndpointLocation {
  if (!URI_CHARS.test(uri)) throw fail('workload endpoint socket is not a valid URI: invalid character in URI');
  const parts = URI_PARTS.exec(uri);
  const scheme = parts?.[1]?.toLowerCase();
  if (!parts || (scheme !== 'unix' && scheme !== 'tcp')) {
    throw fail('workload endpoint socket URI must have a "tcp" or "unix" scheme');
  }
  const components: Components = {
    authority: parts[2],
    path: parts[3] ?? '',
    query: parts[4],
    fragment: parts[5],
  };
  return scheme === 'unix' ? unixLocation(components) : tcpLocation(components, options.anyPort ? 0 : 1);
}

/**
 * The configured address: the explicit one when given, else `$SPIFFE_ENDPOINT_SOCKET`
 * (the spec's mandatory fallback). Throws `EndpointAddressError` when neither is set or
 * the address is invalid.
 */
export function resolveEndpointAddress(explicit?: string, env: NodeJS.ProcessEnv = process.env): EndpointAddress {
  const uri = explicit ?? env[SOCKET_ENV];
  if (uri === undefined || uri === '') throw fail('workload endpoint socket address is not configured');
  return parseEndpointAddress(uri);
}

interface Components {
  authority: string | undefined;
  path: string;
  query: string | undefined;
  fragment: string | undefined;
}

function unixLocation({ authority, path, query, fragment }: Components): EndpointLocation {
  if (isOpaque(authority, path)) throw fail('workload endpoint unix socket URI must not be opaque');
  if (authority?.includes('@')) throw fail('workload endpoint unix socket URI must not include user info');
  if (!authority && path === '') throw fail('workload endpoint unix socket URI must include a path');
  if (query !== undefined) throw fail('workload endpoint unix socket URI must not include query values');
  if (fragment !== undefined) throw fail('workload endpoint unix socket URI must not include a fragment');
  if (authority) throw fail('workload endpoint unix socket URI must not include an authority component');
  if (path === '/') throw fail('workload endpoint unix socket URI must include a path');
  return { kind: 'unix', path: decodePath(path) };
}

function tcpLocation({ authority, path, query, fragment }: Components, minPort: number): EndpointLocation {
  if (isOpaque(authority, path)) throw fail('workload endpoint tcp socket URI must not be opaque');
  if (authority?.includes('@')) throw fail('workload endpoint tcp socket URI must not include user info');
  if (!authority) throw fail('workload endpoint tcp socket URI must include a host');
  if (path !== '') throw fail('workload endpoint tcp socket URI must not include a path');
  if (query !== undefined) throw fail('workload endpoint tcp socket URI must not include query values');
  if (fragment !== undefined) throw fail('workload endpoint tcp socket URI must not include a fragment');

  const { host, port } = splitHostPort(authority);
  // A bracketed literal must be IPv6; a bare host IPv4 (RFC 3986 §3.2.2: IPv6 needs brackets).
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const ip = bracketed ? host.slice(1, -1) : host;
  if (bracketed ? !isIPv6(ip) || ip.includes('%') : !isIPv4(ip)) {
    throw fail('workload endpoint tcp socket URI host component must be an IP:port');
  }
  if (port === undefined || port === '') throw fail('workload endpoint tcp socket URI host component must include a port');
  if (!PORT.test(port) || Number(port) < minPort || Number(port) > 65535) {
    throw fail(`workload endpoint tcp socket URI port must be a number from ${minPort} to 65535`);
  }
  return { kind: 'tcp', ip, ipv6: bracketed, port: Number(port) };
}

/** No `//` and a path not starting with `/` (`unix:foo`): what go's net/url calls opaque. */
function isOpaque(authority: string | undefined, path: string): boolean {
  return authority === undefined && path !== '' && !path.startsWith('/');
}

/** Percent-decodes the socket path; the filesystem sees bytes, not escapes. */
function decodePath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw fail('workload endpoint socket is not a valid URI: invalid percent-encoding in path');
  }
  if (decoded.includes('\0')) throw fail('workload endpoint socket is not a valid URI: NUL in path');
  return decoded;
}

/** Splits `host[:port]` at the port colon, which for `[v6]` literals comes after the `]`. */
function splitHostPort(authority: string): { host: string; port: string | undefined } {
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || authority.lastIndexOf(']') > colon) return { host: authority, port: undefined };
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1) };
}

function fail(message: string): EndpointAddressError {
  return new EndpointAddressError(message);
}
