import * as http from 'node:http';
import type * as http2 from 'node:http2';
import * as https from 'node:https';
import { errorMessage } from '../errors/unknown-error';
import { requestDigest } from '../observability/request-digest';
import { filterListResult, filterListShaped, idKey, LISTED_MEMBER, REPLAYED_ANSWER, rewriteWatchedResults } from './discovery-filter';
import { approvalBytes } from './approval-bytes';
import type { JsonRpcId } from './json-rpc-message';
import { parseMcpBody, type McpBody } from './mcp-body';
import { McpMessageError } from './mcp-message-error';
import { JSONRPC_INVALID_REQUEST, JSONRPC_PARSE_ERROR, questionFor } from './mcp-question';
import { HEADER_MISMATCH, mirroredHeaderMismatch, mirroredHeadersFor } from './mirrored-headers';
import { DEFAULT_PROTOCOL_VERSION, isKnownProtocolVersion, type ProtocolVersion } from './protocol-version';
import type { McpAllowed, McpCaller, McpCouldPermit, McpCut, McpDecide, McpDecision, McpDecisionError, McpRelayEvent, McpUpstreamHeaders } from './relay-contract';
import { SessionBindings } from './session-bindings';
import { SseRewriter } from './sse-rewriter';
import type { JsonValue } from './strict-json';
import type { ToolPins } from './tool-pins';

export type McpServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type McpServerResponse = http.ServerResponse | http2.Http2ServerResponse;

/** JSON-RPC code of a message refused by policy, or not relayed because another message of its batch was. */
export const POLICY_DENIED = -32003;
/**
 * JSON-RPC code of a tool call that needs a person's approval it does not have (yet):
 * `data.reason` APPROVAL_REQUIRED, _EXPIRED, _MISMATCH, _LIMIT or _UNAVAILABLE (docs/approvals.md).
 * A person's denial is answered POLICY_DENIED, reason APPROVAL_DENIED.
 */
export const APPROVAL_NEEDED = -32004;
/** JSON-RPC code the TypeScript SDK uses for an unknown session; the relay answers alike (with HTTP 404). */
export const SESSION_NOT_FOUND = -32001;
/** JSON-RPC code of an upstream the relay could not reach or read. */
export const UPSTREAM_FAILED = -32603;

export interface McpRelayOptions {
  /** The upstream's name: Cedar `Tool::"<upstream>"`, and the middle of every action. */
  readonly upstream: string;
  /** The MCP endpoint: https, or http (the owner allows plain http on loopback only). */
  readonly url: string | URL;
  readonly decide: McpDecide;
  readonly couldPermit: McpCouldPermit;
  /** Tool definitions pinned for this upstream; without, tools are not pinned. */
  readonly pins?: ToolPins;
  /** Largest request body taken, in bytes (default 4 MiB, as `limits.maxMessageBytes`). */
  readonly maxBodyBytes?: number;
  /** Largest answer (a JSON body or one SSE event) read to filter a list (default 4 MiB). */
  readonly maxInspectedBytes?: number;
  /** Headers added to every relayed request (the per-call JWT). */
  readonly upstreamHeaders?: McpUpstreamHeaders;
  /** The agent for upstream connections (the owner's mTLS agent checking the upstream's SPIFFE ID). */
  readonly agent?: http.Agent;
  readonly onEvent?: (event: McpRelayEvent) => void;
  readonly sessions?: SessionBindings;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Caller request headers relayed upstream; every other header is dropped. An allowlist, not
 * the gRPC side's denylist: the MCP server needs only these, and anything else (the caller's
 * `authorization`, cookies, `x-forwarded-*`, the mirrored `mcp-method`/`mcp-name`, which the
 * gateway writes itself from the decided body) could be read as a fact it is not.
 */
const RELAYED_REQUEST_HEADERS = ['accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'] as const;
/** Upstream response headers relayed to the caller. */
const RELAYED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'mcp-session-id', 'allow', 'retry-after'] as const;

interface Refusal {
  readonly code: number;
  readonly message: string;
  readonly decisionId?: string;
  /** The error's `data` when the decider gave one (it holds `decisionId`). */
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * Relays one upstream MCP server's Streamable HTTP endpoint for authenticated callers
 * (docs/mcp.md): every client→server message is parsed strictly and decided before anything
 * reaches the server; what is relayed is the canonical text of what was decided; answers
 * stream back as they come, with list answers filtered by policy and tool definitions
 * checked against their pins; sessions are bound to the caller that opened them.
 *
 * Fail closed: a refused or denied message, a failed decision, an unreadable answer, or an
 * unknown session sends nothing upstream (or relays nothing back).
 */
export class McpRelay {
  readonly sessions: SessionBindings;
  private readonly url: URL;
  private readonly maxBodyBytes: number;
  private readonly maxInspectedBytes: number;

  constructor(private readonly options: McpRelayOptions) {
    this.url = new URL(options.url);
    this.sessions = options.sessions ?? new SessionBindings();
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BYTES;
    this.maxInspectedBytes = options.maxInspectedBytes ?? DEFAULT_MAX_BYTES;
  }

  /** Serves one HTTP request from `caller`. Never rejects: every failure is an answer or a reset. */
  async handle(req: McpServerRequest, res: McpServerResponse, caller: McpCaller): Promise<void> {
    res.once('close', () => closedResponses.add(res));
    try {
      await this.route(req, res, caller);
    } catch (err) {
      this.fail(res, caller, 500, 'upstream-error', UPSTREAM_FAILED, `Internal error: ${errorMessage(err)}`);
    }
  }

  private async route(req: McpServerRequest, res: McpServerResponse, caller: McpCaller): Promise<void> {
    const method = req.method ?? '';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      res.setHeader('allow', 'GET, POST, DELETE');
      this.fail(res, caller, 405, 'refused', JSONRPC_INVALID_REQUEST, `Method Not Allowed: ${method.slice(0, 20)}`);
      return;
    }
    const sessionId = this.callerSession(req, res, caller);
    if (sessionId === null) return;
    const version = this.protocolVersion(req, res, caller, sessionId);
    if (version === undefined) return;
    if (method === 'POST') await this.post(req, res, caller, version, sessionId);
    else this.forward(req, res, caller, { method, sessionId, body: undefined, decisions: [] });
  }

  /**
   * The request's protocol version: the header's, which must be one the gateway knows and,
   * in a session whose initialize answer it saw, the negotiated one; without the header, the
   * session's negotiated version, else 2025-03-26 (as the transport spec tells servers to
   * assume). Undefined when refused (answered 400).
   */
  private protocolVersion(req: McpServerRequest, res: McpServerResponse, caller: McpCaller, sessionId: string | undefined): ProtocolVersion | undefined {
    const header = req.headers['mcp-protocol-version'];
    const negotiated = sessionId === undefined ? undefined : this.sessions.versionOf(sessionId);
    const named = header ?? negotiated ?? DEFAULT_PROTOCOL_VERSION;
    if (typeof named !== 'string' || !isKnownProtocolVersion(named)) {
      this.fail(res, caller, 400, 'refused', JSONRPC_INVALID_REQUEST, `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(String(named).slice(0, 40))}`);
      return undefined;
    }
    if (negotiated !== undefined && named !== negotiated) {
      this.fail(res, caller, 400, 'refused', JSONRPC_INVALID_REQUEST, `Bad Request: MCP-Protocol-Version ${named} is not the version negotiated for this session (${negotiated})`);
      return undefined;
    }
    return named;
  }

  /** The request's session id, checked to be the caller's own; undefined without one; null when refused (answered). */
  private callerSession(req: McpServerRequest, res: McpServerResponse, caller: McpCaller): string | undefined | null {
    const sessionId = req.headers['mcp-session-id'];
    if (sessionId === undefined) return undefined;
    if (typeof sessionId !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(sessionId)) {
      this.fail(res, caller, 400, 'refused', JSONRPC_INVALID_REQUEST, 'Bad Request: Mcp-Session-Id must be 1 to 256 visible ASCII characters');
      return null;
    }
    const owner = this.sessions.check(sessionId, caller.key);
    if (owner === 'own') return sessionId;
    // The same answer for another caller's session as for an unknown one: 404 tells an MCP
    // client to start a new session, and tells an attacker nothing about whose it was.
    this.fail(res, caller, 404, owner === 'foreign' ? 'foreign-session' : 'refused', SESSION_NOT_FOUND, 'Session not found: this caller has no MCP session with that id');
    return null;
  }

  private async post(req: McpServerRequest, res: McpServerResponse, caller: McpCaller, version: ProtocolVersion, sessionId: string | undefined): Promise<void> {
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (contentType !== 'application/json') {
      this.fail(res, caller, 415, 'refused', JSONRPC_INVALID_REQUEST, 'Unsupported Media Type: Content-Type must be application/json');
      return;
    }
    const bytes = await this.readBody(req, res, caller);
    if (bytes === undefined) return;
    let body: McpBody;
    try {
      body = parseMcpBody(bytes, version);
    } catch (err) {
      if (!(err instanceof McpMessageError)) throw err;
      this.fail(res, caller, 400, 'refused', err.code === 'ERR_MCP_PARSE' ? JSONRPC_PARSE_ERROR : JSONRPC_INVALID_REQUEST, err.message);
      return;
    }
    const mismatch = mirroredHeaderMismatch(req.headers, body);
    if (mismatch !== undefined) {
      this.fail(res, caller, 400, 'refused', HEADER_MISMATCH, `Header mismatch: ${mismatch}`);
      return;
    }
    if (isClosed(res)) return;
    if (!this.claimIds(res, sessionId, body)) {
      this.fail(res, caller, 400, 'refused', JSONRPC_INVALID_REQUEST, 'Invalid Request: a request id of this body is that of a request of this session still in flight');
      return;
    }
    const { refusals, decisions } = await this.decideAll(body, caller);
    // The caller went away while its messages were decided: the owner gave its slots back on
    // 'close', so nothing may run upstream for it now (it would run holding none).
    if (isClosed(res)) return;
    if (refusals.size > 0) {
      this.refuseBody(res, caller, body, refusals);
      return;
    }
    this.forward(req, res, caller, { method: 'POST', sessionId, body, decisions });
  }

  /** Claims the body's request ids in its session until the answer ends (SessionBindings.claimIds); false when one is in flight. */
  private claimIds(res: McpServerResponse, sessionId: string | undefined, body: McpBody): boolean {
    if (sessionId === undefined) return true;
    const ids = body.messages.flatMap((m) => (m.kind === 'request' ? [idKey(m.id)] : []));
    if (!this.sessions.claimIds(sessionId, ids)) return false;
    res.once('close', () => this.sessions.releaseIds(sessionId, ids));
    return true;
  }

  /** The body, or undefined when it was over the limit or the caller went away (answered or moot). */
  private readBody(req: McpServerRequest, res: McpServerResponse, caller: McpCaller): Promise<Buffer | undefined> {
    const tooLarge = (): undefined => {
      // The rest of an oversize body is never buffered: once the 413 is sent it is read and
      // discarded, for LINGER_MS at most, then the request is cut. Cutting at once would reset
      // a connection the caller is still writing to, and a reset can lose the 413 before the
      // caller reads it (seen on the token listener, which answers after an async token check).
      res.once('finish', () => discardRest(req));
      this.fail(res, caller, 413, 'refused', JSONRPC_INVALID_REQUEST, `Payload Too Large: the request body is over the limit of ${this.maxBodyBytes} bytes`);
      return undefined;
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) return Promise.resolve(tooLarge());
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (value: Buffer | undefined): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onGone);
        req.off('close', onGone);
        resolve(value);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > this.maxBodyBytes) {
          req.pause();
          done(tooLarge());
        } else chunks.push(chunk);
      };
      const onEnd = (): void => done(Buffer.concat(chunks));
      const onGone = (): void => done(undefined);
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', onGone);
      req.once('close', onGone);
    });
  }

  /**
   * Decides every message of the body, each on its own (a batch element by element, each
   * with its own decision and log line). Returns the refused ones by index, and the
   * decisions that allowed.
   */
  private async decideAll(body: McpBody, caller: McpCaller): Promise<{ refusals: Map<number, Refusal>; decisions: McpAllowed[] }> {
    const refusals = new Map<number, Refusal>();
    const decisions: McpAllowed[] = [];
    const { upstream, pins } = this.options;
    for (const [index, message] of body.messages.entries()) {
      let question;
      try {
        question = questionFor(upstream, message);
      } catch (err) {
        if (!(err instanceof McpMessageError)) throw err;
        refusals.set(index, { code: JSONRPC_INVALID_REQUEST, message: err.message });
        continue;
      }
      if (question.kind === 'plumbing') continue;
      if (question.kind === 'refused') {
        refusals.set(index, { code: question.code, message: question.message });
        continue;
      }
      const pinRefusal = question.method === 'tools/call' && question.name !== undefined ? pins?.refusal(question.name) : undefined;
      if (pinRefusal !== undefined) {
        const tool = JSON.stringify(question.name);
        const message =
          pinRefusal === 'changed'
            ? `Denied: the definition of tool ${tool} changed since it was pinned; it is refused until pinned again`
            : `Denied: tool ${tool} is not in the pinned catalog of this upstream; it is refused until the catalog holds it`;
        refusals.set(index, { code: POLICY_DENIED, message });
        continue;
      }
      const params = message.kind === 'request' ? message.params : undefined;
      // The message's text as forwarded: the body itself, or, in a batch, the element's JSON.stringify (the same bytes within the body's).
      const forwarded = body.batch ? JSON.stringify((body.value as readonly JsonValue[])[index]) : body.canonical;
      const decision = await this.safeDecide(caller, {
        upstream,
        method: question.method,
        action: question.action,
        resource: question.resource,
        request: question.request,
        ...(question.method === 'tools/call' && { approvalBytes: () => approvalBytes(params) }),
        ...(body.batch && { inBatch: true }),
        requestDigest: requestDigest(forwarded),
      });
      if (decision.allow) decisions.push({ ...decision, action: question.action });
      else if (decision.error !== undefined) refusals.set(index, { ...decision.error, decisionId: decision.decisionId });
      else refusals.set(index, { code: POLICY_DENIED, message: `Denied by policy (decision ${decision.decisionId})`, decisionId: decision.decisionId });
    }
    return { refusals, decisions };
  }

  private async safeDecide(caller: McpCaller, request: Parameters<McpDecide>[1]): Promise<McpDecision> {
    try {
      const decision = await this.options.decide(caller, request);
      const allow = decision.allow === true;
      return { allow, decisionId: String(decision.decisionId), ...(!allow && decision.error !== undefined && { error: decisionError(decision.error) }) };
    } catch {
      return { allow: false, decisionId: 'none' };
    }
  }

  /**
   * Answers a body of which some message was refused; nothing of it is relayed. Each request
   * gets a JSON-RPC error: its own refusal, or, for an allowed request of the same batch,
   * that it was not relayed. A body without requests gets one error without id: 403 when
   * policy denied, 400 otherwise.
   */
  private refuseBody(res: McpServerResponse, caller: McpCaller, body: McpBody, refusals: ReadonlyMap<number, Refusal>): void {
    const decisionIds = [...refusals.values()].flatMap((r) => (r.decisionId === undefined ? [] : [r.decisionId]));
    const first = refusals.values().next().value as Refusal;
    const denied = decisionIds.length > 0;
    this.options.onEvent?.({
      kind: denied ? 'denied' : 'refused',
      upstream: this.options.upstream,
      caller: caller.key,
      from: caller,
      status: 200,
      reason: first.message,
      decisionIds,
    });
    const answers = body.messages.flatMap((message, index) => {
      if (message.kind !== 'request') return [];
      const refusal = refusals.get(index) ?? { code: POLICY_DENIED, message: 'Not relayed: another message of this batch was refused' };
      return [rpcError(message.id, refusal.code, refusal.message, refusal.decisionId, refusal.data)];
    });
    if (answers.length === 0) {
      sendJson(res, denied ? 403 : 400, rpcError(null, first.code, first.message, first.decisionId, first.data));
      return;
    }
    sendJson(res, 200, body.batch ? answers : answers[0]);
  }

  /** Sends the request upstream and relays the answer as it comes. */
  private forward(
    req: McpServerRequest,
    res: McpServerResponse,
    caller: McpCaller,
    call: { method: 'POST' | 'GET' | 'DELETE'; sessionId: string | undefined; body: McpBody | undefined; decisions: readonly McpAllowed[] },
  ): void {
    if (isClosed(res)) return;
    const signal = caller.cut;
    if (signal?.aborted === true) {
      // Cut before it was sent (its task ended while it was decided): nothing goes upstream.
      this.cutAnswer(res, undefined, call.body, { cut: false, source: undefined }, signal.reason as McpCut);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of RELAYED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let payload: Buffer | undefined;
    if (call.body !== undefined) {
      payload = Buffer.from(call.body.canonical, 'utf8');
      Object.assign(headers, mirroredHeadersFor(call.body), { 'content-type': 'application/json', 'content-length': String(payload.length) });
    }
    Object.assign(headers, this.options.upstreamHeaders?.(caller, call.decisions) ?? {});
    const transport = this.url.protocol === 'https:' ? https : http;
    const upstreamReq = transport.request(this.url, { method: call.method, headers, ...(this.options.agent === undefined ? {} : { agent: this.options.agent }) });
    const relayed: RelayedAnswer = { cut: false, source: undefined };
    const callerGone = (): void => {
      if (!res.writableFinished) upstreamReq.destroy();
    };
    res.once('close', callerGone);
    // `on`, not `once`: a socket can fail more than once, and an unheard 'error' would end the process.
    upstreamReq.on('error', (err) => {
      if (relayed.cut) return;
      if (res.headersSent) res.destroy();
      else this.fail(res, caller, 502, 'upstream-error', UPSTREAM_FAILED, `Bad Gateway: the MCP server could not be reached (${errorMessage(err)})`);
    });
    upstreamReq.once('response', (upstreamRes) => this.relayAnswer(upstreamRes, res, caller, call, relayed));
    upstreamReq.end(payload);
    if (signal !== undefined) {
      const onCut = (): void => this.cutAnswer(res, upstreamReq, call.body, relayed, signal.reason as McpCut);
      signal.addEventListener('abort', onCut, { once: true });
      res.once('close', () => signal.removeEventListener('abort', onCut));
    }
  }

  /**
   * Ends a request the owner cut while it was relayed: nothing more of the server's answer is
   * relayed, each request of the body is answered with a JSON-RPC error naming the decision
   * (as JSON, or as events closing the SSE stream already begun: a client waiting for a
   * result would otherwise wait until its own timeout), and the upstream request is cancelled.
   */
  private cutAnswer(res: McpServerResponse, upstreamReq: http.ClientRequest | undefined, body: McpBody | undefined, relayed: RelayedAnswer, cut: McpCut): void {
    if (relayed.cut || res.writableEnded) return;
    relayed.cut = true;
    relayed.source?.unpipe(res as NodeJS.WritableStream);
    const message = `Cut (decision ${cut.decisionId})`;
    const answers = (body?.messages ?? []).flatMap((m) => (m.kind === 'request' ? [rpcError(m.id, POLICY_DENIED, message, cut.decisionId)] : []));
    if (!res.headersSent) {
      sendJson(res, 200, body?.batch === true ? answers : (answers[0] ?? rpcError(null, POLICY_DENIED, message, cut.decisionId)));
    } else if (relayed.sse) {
      // A blank line first ends any event the server had half sent; an empty event is ignored.
      res.end(`\n\n${answers.map((answer) => `event: message\ndata: ${JSON.stringify(answer)}\n\n`).join('')}`);
    } else {
      res.destroy();
    }
    upstreamReq?.destroy();
  }

  private relayAnswer(
    upstreamRes: http.IncomingMessage,
    res: McpServerResponse,
    caller: McpCaller,
    call: { method: string; sessionId: string | undefined; body: McpBody | undefined },
    relayed: RelayedAnswer,
  ): void {
    const status = upstreamRes.statusCode ?? 502;
    // A reset mid-answer: the caller's answer ends too (never as if it were complete), unless the gateway cut it and answered.
    upstreamRes.on('error', () => {
      if (!relayed.cut) res.destroy();
    });
    if (relayed.cut) {
      upstreamRes.destroy();
      return;
    }
    const fail = (reason: string): void => {
      upstreamRes.destroy();
      this.fail(res, caller, 502, 'upstream-error', UPSTREAM_FAILED, `Bad Gateway: ${reason}`);
    };
    if (!this.acceptSession(upstreamRes, caller, call)) {
      fail('the MCP server answered with a session of another caller');
      return;
    }
    if (call.sessionId !== undefined && (status === 404 || (call.method === 'DELETE' && status >= 200 && status < 300))) {
      this.sessions.end(call.sessionId);
    }
    const headers: Record<string, string> = {};
    for (const name of RELAYED_RESPONSE_HEADERS) {
      const value = upstreamRes.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const watched = watchedRequests(call.body);
    const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const relayStream = (source: NodeJS.ReadableStream): void => {
      res.writeHead(status, headers);
      flushHeaders(res);
      if (source !== upstreamRes) source.on('error', () => relayed.cut || res.destroy());
      upstreamRes.once('aborted', () => relayed.cut || res.destroy());
      relayed.source = source;
      relayed.sse = contentType === 'text/event-stream';
      source.pipe(res as NodeJS.WritableStream);
    };
    // A GET stream carries answers only when it resumes a stream (Last-Event-ID): they are
    // replays of answers the relay may have filtered, so each is filtered by its shape.
    const replay = call.method === 'GET' && contentType === 'text/event-stream';
    const methodOf = replay ? (): string => REPLAYED_ANSWER : (id: unknown): string | undefined => watched.get(idKey(id));
    if ((watched.size === 0 && !replay) || status !== 200) {
      relayStream(upstreamRes);
      return;
    }
    const negotiatedSession = typeof upstreamRes.headers['mcp-session-id'] === 'string' ? upstreamRes.headers['mcp-session-id'] : undefined;
    const filter = (method: string, result: Record<string, unknown>): Record<string, unknown> => {
      if (method === 'initialize') {
        // Observed, not changed: the version decides later requests' batches and headers.
        if (negotiatedSession !== undefined && typeof result.protocolVersion === 'string') this.sessions.setVersion(negotiatedSession, result.protocolVersion);
        return result;
      }
      const couldPermit = (action: string, request: Parameters<McpCouldPermit>[3]): boolean => this.couldPermit(caller, action, request);
      if (method === REPLAYED_ANSWER) return filterListShaped(result, this.options.upstream, couldPermit, this.options.pins);
      return filterListResult(method, result, this.options.upstream, couldPermit, this.options.pins);
    };
    if (contentType === 'text/event-stream') {
      const rewriter = new SseRewriter((data) => (data.trim() === '' ? undefined : rewriteWatchedResults(data, methodOf, filter)), this.maxInspectedBytes);
      relayStream(upstreamRes.pipe(rewriter));
      return;
    }
    if (contentType !== 'application/json') {
      fail(`the MCP server answered a list with ${JSON.stringify(contentType.slice(0, 40))}`);
      return;
    }
    readAll(upstreamRes, this.maxInspectedBytes).then(
      (text) => {
        let out: string;
        try {
          out = rewriteWatchedResults(text, methodOf, filter) ?? text;
        } catch (err) {
          fail(`the MCP server's list answer is not JSON (${errorMessage(err)})`);
          return;
        }
        headers['content-length'] = String(Buffer.byteLength(out));
        res.writeHead(status, headers);
        res.end(out);
      },
      (err: unknown) => fail(errorMessage(err)),
    );
  }

  /**
   * Binds a session the server opened in answer to this caller's initialize; false when the
   * answer names a session the caller does not own (relaying it would hand over another
   * caller's session).
   */
  private acceptSession(upstreamRes: http.IncomingMessage, caller: McpCaller, call: { sessionId: string | undefined; body: McpBody | undefined }): boolean {
    const sessionId = upstreamRes.headers['mcp-session-id'];
    if (sessionId === undefined) return true;
    if (typeof sessionId !== 'string') return false;
    if (sessionId === call.sessionId) return true;
    const initialize = call.body !== undefined && call.body.messages.some((m) => m.kind === 'request' && m.method === 'initialize');
    if (!initialize) return false;
    return this.sessions.bind(sessionId, caller.key) === 'bound';
  }

  private couldPermit(caller: McpCaller, action: string, request: Parameters<McpCouldPermit>[3]): boolean {
    try {
      return this.options.couldPermit(caller, action, this.options.upstream, request) === true;
    } catch {
      return false;
    }
  }

  /** Answers with a JSON-RPC error without id (or resets a response already started), and reports it. */
  private fail(res: McpServerResponse, caller: McpCaller, status: number, kind: McpRelayEvent['kind'], code: number, message: string): void {
    this.options.onEvent?.({ kind, upstream: this.options.upstream, caller: caller.key, from: caller, status, reason: message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status, rpcError(null, code, message));
  }
}

/** One relayed request's answer, as far as a cut needs it. */
interface RelayedAnswer {
  /** The owner cut the request: what the server still sends is not relayed. */
  cut: boolean;
  /** What is piped to the caller, once the answer's head is relayed. */
  source: NodeJS.ReadableStream | undefined;
  /** The answer relayed is an SSE stream. */
  sse?: boolean;
}

/** The ids of the body's list requests, whose answers are filtered, and of its initialize, whose answer names the negotiated version. */
function watchedRequests(body: McpBody | undefined): Map<string, string> {
  const watched = new Map<string, string>();
  for (const message of body?.messages ?? []) {
    if (message.kind === 'request' && (LISTED_MEMBER[message.method] !== undefined || message.method === 'initialize')) watched.set(idKey(message.id), message.method);
  }
  return watched;
}

function rpcError(id: JsonRpcId | null, code: number, message: string, decisionId?: string, data?: Readonly<Record<string, string>>): object {
  if (data !== undefined) return { jsonrpc: '2.0', id, error: { code, message, data } };
  return { jsonrpc: '2.0', id, error: decisionId === undefined ? { code, message } : { code, message, data: { decisionId } } };
}

/** A decider's error as answered: its code if an integer (else POLICY_DENIED), its message and data as strings only (fail closed on anything odd). */
function decisionError(error: McpDecisionError): McpDecisionError {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(error.data ?? {})) if (typeof value === 'string') data[key] = value;
  return { code: Number.isInteger(error.code) ? error.code : POLICY_DENIED, message: String(error.message), data };
}

/** Answers with `value` as JSON, with its length: every JSON answer of the relay and of the gateway's MCP routes. */
export function sendJson(res: McpServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function flushHeaders(res: McpServerResponse): void {
  // An SSE answer's headers go at once: an MCP client waits for them before it reads events.
  if ('flushHeaders' in res && typeof res.flushHeaders === 'function') res.flushHeaders();
}

function readAll(stream: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        reject(new McpMessageError('ERR_MCP_UPSTREAM', `the MCP server's list answer is over ${max} bytes`));
      } else chunks.push(chunk);
    });
    stream.once('end', () => {
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch (err) {
        reject(new McpMessageError('ERR_MCP_UPSTREAM', "the MCP server's list answer is not UTF-8", { cause: err }));
      }
    });
    stream.once('error', reject);
  });
}

/** How long the rest of an oversize body is read and discarded after its 413, before the request is cut. */
const LINGER_MS = 5000;

/** Reads and drops what is left of `req`, and cuts it if that takes longer than LINGER_MS. */
function discardRest(req: McpServerRequest): void {
  // Already read to its end: nothing to drop, and a later cut could hit the connection's next request.
  if (req.readableEnded) return;
  const timer = setTimeout(() => req.destroy(), LINGER_MS);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  req.once('end', stop);
  req.once('close', stop);
  req.on('error', stop);
  req.resume();
}

/** Responses whose caller has gone ('close' before the relay answered): nothing more is sent upstream for them. */
const closedResponses = new WeakSet<McpServerResponse>();

/** Whether the caller's response is already over: closed, destroyed or ended (its connection or stream gone). */
function isClosed(res: McpServerResponse): boolean {
  return closedResponses.has(res) || res.destroyed || res.writableEnded;
}
