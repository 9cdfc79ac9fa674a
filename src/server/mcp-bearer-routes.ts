import { sendJson, type McpServerRequest, type McpServerResponse } from '../mcp';
import { bearerCaller, type BearerAuthenticator } from './bearer-caller';
import { AUTHORIZATION_HEADER } from './owned-headers';
import type { McpRoutes, McpTokenRefusal } from './mcp-routes';

/** Where RFC 9728 §3.1 puts a resource's metadata: this prefix, then the resource URL's path. */
export const RESOURCE_METADATA_PREFIX = '/.well-known/oauth-protected-resource';

const MCP_RESOURCE_PATH = /^\/mcp\/([^/?#]+)$/;

/**
 * A `host[:port]` as a client may send it in `Host` or `:authority`: a DNS name, an IPv4
 * address or a bracketed IPv6 one. Anything else (quotes, spaces, a path) is refused, since
 * the host is written into the WWW-Authenticate header and the metadata document.
 */
const AUTHORITY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

export interface McpBearerRoutesOptions {
  /** The MCP routes of the mTLS listener: a caller the token proves is served exactly as there. */
  readonly routes: McpRoutes;
  readonly authenticator: BearerAuthenticator;
  /**
   * `authorization_servers` of the metadata: the configured OIDC issuers. A JWT-SVID comes
   * from the SPIFFE Workload API, not from an OAuth authorization server, so it adds none.
   */
  readonly authorizationServers: readonly string[];
  /**
   * Records a request refused before any caller was known (no valid token, no valid Host)
   * and returns the decision id the caller is shown; the reason is for the log only. `code`
   * is the token error's stable code (e.g. ERR_TOKEN_EXPIRED), `httpStatus` the answer's.
   */
  readonly onRejected: McpTokenRefusal;
}

/**
 * MCP on the token listener: the gateway as an OAuth 2.0 protected resource, as the MCP
 * authorization spec has a server be. `/mcp/<upstream>` takes a bearer token (a JWT-SVID or
 * an OIDC workload token, the same authenticator as gRPC on this listener); without one, or
 * with one that proves nothing, it answers 401 with `WWW-Authenticate: Bearer
 * resource_metadata="…"`, and that URL serves the resource's RFC 9728 metadata. A proved
 * caller goes to the same `McpRoutes` as an mTLS caller (mapping, slots, Cedar, session
 * binding); its token is never relayed (the relay drops the caller's `authorization`).
 */
export class McpBearerRoutes {
  constructor(private readonly options: McpBearerRoutesOptions) {}

  /** Whether a request path is served here rather than by the gRPC pipeline. */
  static handles(path: unknown): boolean {
    return typeof path === 'string' && (path.startsWith('/mcp/') || path.startsWith(`${RESOURCE_METADATA_PREFIX}/`));
  }

  serve(req: McpServerRequest, res: McpServerResponse): void {
    const url = req.url ?? '';
    if (url.startsWith(`${RESOURCE_METADATA_PREFIX}/`)) {
      this.serveMetadata(req, res, url.slice(RESOURCE_METADATA_PREFIX.length));
      return;
    }
    if (!url.startsWith('/mcp/')) {
      sendJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32601, message: 'Not Found: MCP upstreams are served at /mcp/<upstream>' } });
      return;
    }
    const origin = originOf(req);
    if (origin === undefined) {
      const decisionId = this.options.onRejected({ httpStatus: 400, reason: 'no valid Host (or :authority) to name the resource by' });
      sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32600, message: `Bad Request: no valid Host (decision ${decisionId})`, data: { decisionId } } });
      return;
    }
    const path = url.replace(/\?.*$/, '');
    const challenge = `Bearer resource_metadata="${origin}${RESOURCE_METADATA_PREFIX}${path}"`;
    void bearerCaller(this.options.authenticator, req.headers[AUTHORIZATION_HEADER]).then((proved) => {
      if ('caller' in proved) {
        // The client may have gone while the token was checked.
        if (res.destroyed || res.writableEnded) return;
        this.options.routes.serve(req, res, proved.caller);
        return;
      }
      // RFC 6750 §3.1: no error code when the request has no authentication; a malformed one is invalid_request.
      const { reason, code, kind } = proved.refused;
      this.refuse(res, kind === 'missing' ? challenge : `${challenge}, error="${kind === 'malformed' ? 'invalid_request' : 'invalid_token'}"`, reason, code);
    });
  }

  /** RFC 9728 §3: the metadata of `/mcp/<upstream>`, for anyone (it is what a client needs before it has a token). */
  private serveMetadata(req: McpServerRequest, res: McpServerResponse, resourcePath: string): void {
    const upstream = MCP_RESOURCE_PATH.exec(resourcePath)?.[1];
    if (upstream === undefined || !this.options.routes.has(decodeSafe(upstream))) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      sendJson(res, 405, { error: 'method_not_allowed' });
      return;
    }
    const origin = originOf(req);
    if (origin === undefined) {
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    res.setHeader('cache-control', 'max-age=300');
    sendJson(res, 200, {
      resource: `${origin}${resourcePath}`,
      // RFC 9728 §2: optional; left out when only JWT-SVIDs are accepted (no authorization server issues them).
      ...(this.options.authorizationServers.length > 0 && { authorization_servers: [...this.options.authorizationServers] }),
      bearer_methods_supported: ['header'],
      resource_name: `toolgate MCP upstream ${decodeSafe(upstream)}`,
    });
  }

  private refuse(res: McpServerResponse, challenge: string, reason: string, code: string): void {
    const decisionId = this.options.onRejected({ httpStatus: 401, reason, code });
    res.setHeader('www-authenticate', challenge);
    sendJson(res, 401, { jsonrpc: '2.0', id: null, error: { code: -32001, message: `Unauthorized (decision ${decisionId})`, data: { decisionId } } });
  }
}

/**
 * The resource's origin as the client addressed it (`https://` and its `Host` or
 * `:authority`): the resource identifier must be the URL the client used (RFC 9728 §3.3,
 * the MCP spec's canonical server URI), and the gateway cannot know the name it is reached by.
 */
function originOf(req: McpServerRequest): string | undefined {
  const authority = req.headers[':authority'] ?? req.headers.host;
  if (typeof authority !== 'string' || !AUTHORITY.test(authority)) return undefined;
  return `https://${authority.toLowerCase()}`;
}

function decodeSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
