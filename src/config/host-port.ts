import { isIPv4, isIPv6 } from 'node:net';
import type { HostPort } from './gateway-config';
import { InvalidValueError } from '../errors/invalid-value-error';

const PORT = /^[0-9]{1,5}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `host:port`: an IPv4 address, a bracketed IPv6 address (`[::]:8443`) or a DNS
 * name. Port 0 (any free port) is allowed only for listeners. Throws `InvalidValueError`
 * with the reason; the returned host is unbracketed.
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
    // A dotted all-digit host that is not an IPv4 address would go to DNS as a name.
    const numeric = /^[0-9.]+$/.test(host);
    if (numeric ? !isIPv4(host) : !HOSTNAME.test(host)) throw new InvalidValueError(`"${host}" is not an IP address or a host name`);
  }

  const min = options.allowPortZero ? 0 : 1;
  const port = Number(rawPort);
  if (!PORT.test(rawPort) || port < min || port > 65535) throw new InvalidValueError(`the port must be a number from ${min} to 65535`);
  return { host, port };
}
