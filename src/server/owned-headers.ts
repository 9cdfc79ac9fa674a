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
/** The task id a relayed call belongs to, set by the gateway for the upstream. */
export const TASK_ID_HEADER = 'x-toolgate-task-id';

export function isOwnedHeader(name: string): boolean {
  return name.startsWith(OWNED_PREFIX) || name === AUTHORIZATION_HEADER;
}

/** The request headers to send upstream: the caller's, less owned ones, plus the gateway's. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  authority: string,
  set: Record<string, string>,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (name.charCodeAt(0) === 0x3a /* pseudo-header */ || isOwnedHeader(name) || name === 'te') continue;
    out[name] = incoming[name];
  }
  out[':method'] = 'POST';
  out[':scheme'] = 'https';
  out[':path'] = incoming[':path'];
  out[':authority'] = authority;
  // gRPC's own, and the one connection-specific header HTTP/2 allows: the caller's (twice
  // sent, it reads `trailers, trailers`) would make Node refuse the upstream request.
  out.te = 'trailers';
  return Object.assign(out, set);
}
