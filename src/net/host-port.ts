import { isIPv4, isIPv6 } from 'node:net';
import { InvalidValueError } from '../errors/invalid-value-error';

/** A host and a port; `host` is unbracketed (`::`, not `[::]`), as `net.listen` and `tls.connect` take it. */
export interface HostPort {
  host: string;
  port: number;
}

const PORT = /^[0-9]{1,5}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `host:port`, the one form every address in toolgate's config takes (listeners,
 * upstreams). The Workload API address is a URI with rules of its own (`spiffe/workload/address.ts`).
 *
 * - host: an IPv4 address (`127.0.0.1`), an IPv6 address in brackets (`[::1]`, returned
 *   without them) or a DNS name (RFC 1123 labels). An all-digit dotted host must be a valid
 *   IPv4 address, since anything else would go to DNS as a name.
 * - port: decimal digits, 1 to 65535; 0 (any free port) only with `allowPortZero`, for listeners.
 *
 * Throws `InvalidValueError` with the reason (`expected host:port`, `the host is missing`, `an IPv6 host
 * must be in brackets, e.g. [::1]:8443`, `"<host>" is not an IPv6 address`, `"<host>" is not
 * an IP address or a host name`, `the port must be a number from <min> to 65535`); the
 * caller names the address and where it came from.
 */
export function parseHostPort(address: string, options: { allowPortZero: boolean }): HostPort {
  const colon = address.lastIndexOf(':');
  if (colon === -1) throw new InvalidValueError('expected host:port');
  const rawHost = address.slice(0, colon);
  const rawPort = address.slice(colon + 1);

  let host: string;
  if (rawHost.startsWith('[') && rawHost.endsWith(']')) {
    host = rawHost.slice(1, -1);
    if (!isIPv6(host)) throw new InvalidValueError(`"${host}" is not an IPv6 address`);
  } else {
    host = rawHost;
    if (host === '') throw new InvalidValueError('the host is missing');
    if (host.includes(':')) throw new InvalidValueError('an IPv6 host must be in brackets, e.g. [::1]:8443');
    const numeric = /^[0-9.]+$/.test(host);
    if (numeric ? !isIPv4(host) : !HOSTNAME.test(host)) throw new InvalidValueError(`"${host}" is not an IP address or a host name`);
  }

  const min = options.allowPortZero ? 0 : 1;
  const port = Number(rawPort);
  if (!PORT.test(rawPort) || port < min || port > 65535) throw new InvalidValueError(`the port must be a number from ${min} to 65535`);
  return { host, port };
}
