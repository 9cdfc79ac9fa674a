import { isIPv4 } from 'node:net';

/**
 * Whether `hostname` (as `URL.hostname` spells it: IPv6 in brackets) names this machine
 * without leaving it: 127.0.0.0/8, ::1 or localhost. Plain http is allowed to such a host
 * only, since nothing on a network path can read or change what it carries.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}
