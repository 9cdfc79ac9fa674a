import * as http2 from 'node:http2';
import { errorMessage } from '../errors/unknown-error';
import type { CallerSlots } from '../limits/caller-slots';
import { POLICY_DENIED, sendJson, type McpCut, type McpRelay, type McpServerRequest, type McpServerResponse } from '../mcp';
import type { Logger } from '../observability/logger';
import { principalLabel, type Caller, type GatewayState } from './call-context';
import type { McpDecisions, McpGatewayCaller } from './mcp-decisions';
import { McpRequestScope } from './mcp-request-scope';
import { ON_BEHALF_OF_HEADER } from './owned-headers';

/** Where MCP upstreams are served: `/mcp/<upstream name>`. */
const MCP_PATH = /^\/mcp\/([^/?#]+)(?:\?.*)?$/;

/** Whether an HTTP/2 request goes to the MCP relay rather than the gRPC pipeline (a gRPC path is `/<package.Service>/<Method>`). */
export function isMcpPath(path: unknown): boolean {
  return typeof path === 'string' && path.startsWith('/mcp/');
}

export interface McpRoutesOptions {
  /** One relay per MCP upstream, by upstream name. */
  readonly relays: ReadonlyMap<string, McpRelay>;
  readonly decisions: McpDecisions;
  /** The identities and policies in force, read once per request: a reload applies to the next request. */
  readonly state: () => GatewayState;
  /** Calls open per caller, shared with gRPC calls (`limits.perCaller.maxConcurrentCalls`). */
  readonly callerSlots: CallerSlots;
  readonly logger: Logger;
  /** Why the gateway serves no call now (its SVID expired), or undefined when it does: as the gRPC pipeline's. */
  readonly unavailable?: () => string | undefined;
}

/**
 * Serves `/mcp/<upstream>` on the mTLS listener, over HTTP/1.1 or HTTP/2: the caller is the
 * connection's verified SPIFFE ID, mapped to a principal exactly as for gRPC; a caller no
 * mapping accepts, or one holding all its call slots, gets a refusal with a decision id and
 * nothing from the server. What is left goes to the upstream's relay.
 */
export class McpRoutes {
  constructor(private readonly options: McpRoutesOptions) {}

  /** Records a request the token listener refused before any caller was known, with its HTTP status; returns its decision id. */
  readonly refuseOnTokenListener: McpTokenRefusal = (facts) => this.options.decisions.refuseOnTokenListener(facts);

  /** Whether `upstream` is an MCP upstream served here. */
  has(upstream: string): boolean {
    return this.options.relays.has(upstream);
  }

  /** An HTTP/2 stream whose `:path` is under `/mcp/`, through the compatibility API's request and response (the relay's interface). */
  serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, caller: Caller): void {
    const { req, res } = compatibilityPair(stream, headers);
    this.serve(req, res, caller);
  }

  /** One HTTP request (either version) from `caller`. Answers 404 to any path but `/mcp/<upstream>`. */
  serve(req: McpServerRequest, res: McpServerResponse, caller: Caller): void {
    const matched = MCP_PATH.exec(req.url ?? '')?.[1];
    const resource = matched === undefined ? undefined : decodeURIComponentSafe(matched);
    const relay = resource === undefined ? undefined : this.options.relays.get(resource);
    if (resource === undefined || relay === undefined) {
      sendJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32601, message: 'Not Found: MCP upstreams are served at /mcp/<upstream>' } });
      return;
    }
    const action = `mcp:${resource}`;
    // Read once: the caller is mapped, and every message of the request decided, with the same identities and policies.
    const state = this.options.state();
    // A refusal before any message is decided: recorded with the HTTP status the caller gets, and answered with only the decision id.
    const refuse = (httpStatus: number, reason: string, principal?: string): void => {
      const decisionId = this.options.decisions.refuse(caller.peer.spiffeId, { ...(principal !== undefined && { principal }), resource, action, httpStatus, reason }, state);
      if (!res.destroyed && !res.writableEnded) sendRefusal(res, httpStatus, decisionId);
    };
    let mcpCaller: McpGatewayCaller;
    try {
      const principal = state.identities.resolve(caller.id);
      mcpCaller = { key: caller.key ?? caller.peer.spiffeId, principal, peer: caller.peer };
    } catch (err) {
      refuse(403, `caller not mapped: ${errorMessage(err)}`);
      return;
    }
    const principal = principalLabel(mcpCaller.principal);
    const unavailable = this.options.unavailable?.();
    if (unavailable !== undefined) {
      // A connection opened before the SVID expired stays open: its requests are refused, as gRPC calls are.
      refuse(503, unavailable, principal);
      return;
    }
    const release = this.options.callerSlots.take(caller.peer.spiffeId);
    if (release === undefined) {
      refuse(429, `caller has ${this.options.callerSlots.maxPerCaller} calls open (limits.perCaller.maxConcurrentCalls)`, principal);
      return;
    }
    // The slot is held until the answer is done or the caller has gone (an SSE stream holds one while it is open).
    res.once('close', release);
    // A task's slot and its registration for cutting are held as long, and a task that ends cuts the answer.
    const cut = new AbortController();
    const scope = new McpRequestScope(req.headers, (decisionId) => cut.abort({ decisionId } satisfies McpCut), state);
    res.once('close', () => scope.end());
    const scoped: McpGatewayCaller = { ...mcpCaller, scope, cut: cut.signal };
    const relayed = (): void => {
      relay.handle(req, res, scoped).catch((err: unknown) => {
        this.options.logger.error({ upstream: resource, err: errorMessage(err) }, 'MCP relay failed');
        res.destroy();
      });
    };
    // Without an on-behalf-of token the request goes on at once, as a gRPC call the guard has nothing to do for.
    if (req.headers[ON_BEHALF_OF_HEADER] === undefined) {
      relayed();
      return;
    }
    // The user is verified once for the whole request, by the gRPC calls' verifier: every
    // decision of the request sees it as `context.onBehalfOf`, and a token that does not
    // verify refuses the request before any message is decided or relayed.
    this.options.decisions.user(req.headers).then(
      (user) => {
        if ('refused' in user) return refuse(403, user.reason, principal);
        // The caller may have gone while the token was checked.
        if (res.destroyed || res.writableEnded) return;
        scope.onBehalfOf = user.onBehalfOf;
        relayed();
      },
      (err: unknown) => refuse(403, `on-behalf-of token refused: ${errorMessage(err)}`, principal),
    );
  }
}

/**
 * Records an MCP request the token listener refused before any caller was known (see
 * `McpDecisions.refuseOnTokenListener`) and returns the decision id the caller is shown.
 */
export type McpTokenRefusal = (facts: { httpStatus: number; reason: string; code?: string }) => string;

/**
 * The HTTP/2 compatibility API's request and response for one stream: made here rather than
 * by the server's 'request' event, which would take every stream, gRPC ones too, which the
 * pipeline serves on the raw stream.
 */
export function compatibilityPair(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): { req: http2.Http2ServerRequest; res: http2.Http2ServerResponse } {
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) =>
    Array.isArray(value) ? value.flatMap((v) => [name, v]) : value === undefined ? [] : [name, String(value)],
  );
  return { req: new http2.Http2ServerRequest(stream, headers, {}, rawHeaders), res: new http2.Http2ServerResponse(stream) };
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function sendRefusal(res: McpServerResponse, status: number, decisionId: string): void {
  sendJson(res, status, { jsonrpc: '2.0', id: null, error: { code: POLICY_DENIED, message: `Refused (decision ${decisionId})`, data: { decisionId } } });
}
