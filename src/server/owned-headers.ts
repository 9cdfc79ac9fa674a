import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/**
 * Headers the gateway owns. Whatever a caller sends under these names is dropped; the
 * gateway sets its own, so an upstream learns who called only from the gateway.
 * `authorization` is owned too: a caller's bearer token is for the gateway, not the tool.
 */
export const OWNED_PREFIX = 'x-toolgate-';
export const CALLER_HEADER = 'x-toolgate-caller';
export const AGENT_HEADER = 'x-toolgate-agent';
export const DECISION_HEADER = 'x-toolgate-decision-id';
/** The caller's bearer token is for the gateway; the upstream's is the gateway's per-call JWT. */
export const AUTHORIZATION_HEADER = 'authorization';
/** The caller's task token (from BeginTask); for the gateway only, never relayed. */
export const TASK_HEADER = 'x-toolgate-task';
/** A user token (OIDC) the agent acts for; for the gateway only, never relayed. */
export const ON_BEHALF_OF_HEADER = 'x-toolgate-on-behalf-of';
/** The approval id an agent retries an escalated call with (docs/approvals.md); for the gateway only, never relayed. */
export const APPROVAL_HEADER = 'x-toolgate-approval';
/** The task id a relayed call belongs to, set by the gateway for the upstream. */
export const TASK_ID_HEADER = 'x-toolgate-task-id';
/**
 * Envoy's client-certificate header, which tools behind a mesh already read: the gateway sets
 * it for a caller it verified by X.509-SVID (see `forwardedClientCert`); a caller's is dropped.
 */
export const FORWARDED_CLIENT_CERT_HEADER = 'x-forwarded-client-cert';

export function isOwnedHeader(name: string): boolean {
  return name.startsWith(OWNED_PREFIX) || name === AUTHORIZATION_HEADER;
}

/**
 * The other caller headers that are never relayed (the one list; README, "Register a tool
 * service", names them). A tool, or a proxy or framework in front of it, may take these
 * for facts about the peer, and a caller could set them to anything; only the gateway
 * speaks for the caller (x-toolgate-*, `x-forwarded-client-cert`).
 */
const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  // Who the peer is, or where it connected from, as proxies and frameworks pass it on.
  'x-spiffe-id',
  'x-remote-user',
  'forwarded',
  'x-real-ip',
  // The caller's name for the host: the upstream's `:authority` is its configured address.
  'host',
  // Credentials for the gateway or for a proxy, not for the tool.
  'proxy-authorization',
  'cookie',
  // Connection-specific (RFC 9113 §8.2.2): they describe the caller's connection, not the
  // upstream's. Node (nghttp2) already resets a request stream that carries one; dropped
  // here too, so that relaying never depends on that.
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  // The one connection-specific header HTTP/2 allows: the gateway always sends its own
  // `te: trailers` (a caller's, sent twice, reads `trailers, trailers` and would make Node
  // refuse the upstream request).
  'te',
]);
/** `x-forwarded-for`, `-host`, `-proto`, `-client-cert`, …: the whole family is the caller's say-so. */
const DROPPED_PREFIX = 'x-forwarded-';

export function isDroppedHeader(name: string): boolean {
  return DROPPED_HEADERS.has(name) || name.startsWith(DROPPED_PREFIX);
}

/**
 * `x-forwarded-client-cert` as Envoy writes it for a verified mTLS peer: `By=` the proxy's
 * own SPIFFE ID, `URI=` the peer certificate's URI SAN. SPIFFE IDs hold none of `,;="`,
 * so no value needs quoting.
 */
export function forwardedClientCert(gatewayId: string, callerId: string): string {
  return `By=${gatewayId};URI=${callerId}`;
}

/** The request headers to send upstream: the caller's, less owned and dropped ones, plus the gateway's. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, authority: string, set: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (name.charCodeAt(0) === 0x3a /* pseudo-header */ || isOwnedHeader(name) || isDroppedHeader(name)) continue;
    out[name] = incoming[name];
  }
  out[':method'] = 'POST';
  out[':scheme'] = 'https';
  out[':path'] = incoming[':path'];
  out[':authority'] = authority;
  out.te = 'trailers'; // gRPC's own (the caller's is dropped above)
  return Object.assign(out, set);
}
