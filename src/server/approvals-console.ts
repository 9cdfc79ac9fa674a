import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Approval } from '../approvals/approval';
import type { ApprovalStore, DecideRefusal } from '../approvals/approval-store';
import { APPROVE, DENY } from '../approvals/approvals-api';
import { isApproverOf } from '../approvals/approver';
import { errorMessage } from '../errors/unknown-error';
import { IdentityMapper } from '../identity/identity-mapper';
import type { IdentityRule } from '../identity/identity-rule';
import { spiffeIdFromSubject } from '../identity/workload-token-authenticator';
import type { DecisionRecord } from '../observability/decision-log';
import type { Logger } from '../observability/logger';
import type { TrustDomain } from '../spiffe/id';
import type { ApprovalActions } from './approval-actions';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './approvals-console-page';

export interface ApprovalsConsoleOptions {
  readonly store: ApprovalStore;
  readonly actions: ApprovalActions;
  /** The header the auth proxy names the person in, lower case. */
  readonly userHeader: string;
  /** People approve as `spiffe://<trustDomain>/<user>`. */
  readonly trustDomain: TrustDomain;
  /** The identity rules in force (they reload): they give people their groups, as they give callers theirs. */
  readonly identities: () => readonly IdentityRule[];
  readonly logger: Logger;
  /** The decision log, for the decisions it refuses (an approval or denial is recorded by `actions`). */
  readonly record: (record: DecisionRecord) => void;
  readonly nextDecisionId: () => string;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
}

/** The session cookie: `__Host-` keeps it to this origin (Secure, Path=/, no Domain), so a sibling subdomain cannot plant one. */
export const CONSOLE_COOKIE = '__Host-toolgate-console';
/** The header a decision carries the CSRF token in: a custom header also makes any cross-origin POST preflighted (and refused). */
export const CSRF_HEADER = 'x-toolgate-csrf';
/** Decided requests shown as "recent decisions", newest first. */
const RECENT_DECISIONS = 25;

/**
 * Every answer: nothing runs but the console's own script, nothing is framed, nothing is cached,
 * nothing leaks through a Referer. `default-src 'none'` leaves only what the page needs.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const ASSETS: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: CONSOLE_HTML },
  '/console.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
  '/console.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
};

const DECISION_PATH = /^\/api\/requests\/(ap_[A-Za-z0-9_-]{24})\/(approve|deny)$/;

/** The HTTP status of a refused approve or deny, by the store's reason (as the Approvals service maps them to gRPC). */
const REFUSAL_STATUS: Record<DecideRefusal, number> = {
  'not-found': 404,
  expired: 409,
  decided: 409,
  'own-call': 403,
  'already-approved': 409,
};

/** A person, as the auth proxy named them and the identity rules map them. */
interface Approver {
  readonly id: string;
  readonly groups: ReadonlySet<string>;
}

/**
 * The approvers' console (docs/approvals.md, "The console"): a page, its script and style, and
 * a small JSON API, for people the auth proxy has signed in. Only the proxy reaches it (its
 * listener accepts the proxy's SPIFFE ID alone, approvals-console-listener.ts), so its user
 * header is believed: the person becomes `spiffe://<trustDomain>/<user>`, whose groups the
 * identity rules give, and who may see and decide the requests of those groups only (the one
 * rule of `isApproverOf`; never their own call: the store refuses it).
 *
 * A decision is a POST with the CSRF token of the person's session: the token is an HMAC of the
 * person's ID keyed by the session cookie (HttpOnly, SameSite=Strict), handed out only in a
 * same-origin JSON answer; and the request's Origin (and Sec-Fetch-Site, when sent) must be the
 * console's own. Approve and deny go through `ApprovalActions`, as the Approvals service's do:
 * each one decision record naming the person.
 */
export class ApprovalsConsole {
  private readonly clock: () => number;
  private mapper: { rules: readonly IdentityRule[]; mapper: IdentityMapper } | undefined;

  constructor(private readonly options: ApprovalsConsoleOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Serves one request that came through the proxy. Never throws: a failure is a 500 (or 503 for the store), logged. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((err: unknown) => {
      this.options.logger.warn({ err: errorMessage(err), path: req.url?.slice(0, 200) }, 'approvals console: request failed');
      if (!res.headersSent) json(res, 503, { error: 'the approval store is unavailable' });
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const approver = this.approver(req);
    // Fail closed: without a person named by the proxy, nothing is served, not even the page.
    if (approver === undefined) return text(res, 401, 'not signed in: the auth proxy named no person (or a name that cannot become a SPIFFE ID)');
    if (req.method === 'GET' || req.method === 'HEAD') {
      const asset = ASSETS[path];
      if (asset !== undefined) return this.asset(req, res, asset);
      if (path === '/api/requests') return this.requests(req, res, approver);
      return text(res, 404, 'not found');
    }
    const decision = DECISION_PATH.exec(path);
    if (req.method !== 'POST' || decision === null) return text(res, req.method === 'POST' ? 404 : 405, 'not found');
    const [, id, verb] = decision as unknown as [string, string, 'approve' | 'deny'];
    const refused = this.forged(req, approver);
    if (refused !== undefined) return this.refuse(res, approver, id, verb, 403, `possibly forged (CSRF): ${refused}`);
    return this.decide(res, approver, id, verb);
  }

  /** The person the proxy names, mapped like any caller; undefined without a usable name. */
  private approver(req: IncomingMessage): Approver | undefined {
    const name = req.headers[this.options.userHeader];
    // One name only: a repeated header (joined with ", " by Node) or an empty one names nobody.
    if (typeof name !== 'string' || name === '') return undefined;
    let id;
    try {
      id = spiffeIdFromSubject(this.options.trustDomain, name);
    } catch {
      return undefined;
    }
    const principal = this.identities().resolve(id);
    return { id: id.toString(), groups: new Set(principal.groups) };
  }

  /** A mapper over the rules in force, for the people's trust domain only; made again when the rules reload. */
  private identities(): IdentityMapper {
    const rules = this.options.identities();
    if (this.mapper?.rules !== rules) this.mapper = { rules, mapper: new IdentityMapper(rules, { trustDomains: [this.options.trustDomain] }) };
    return this.mapper.mapper;
  }

  private asset(req: IncomingMessage, res: ServerResponse, asset: { type: string; body: string }): void {
    const headers: Record<string, string | string[]> = { ...SECURITY_HEADERS, 'content-type': asset.type };
    // The session starts with the page: a new cookie when the browser has none (or a malformed one).
    if (asset.body === CONSOLE_HTML && sessionOf(req) === undefined) headers['set-cookie'] = sessionCookie(randomBytes(32).toString('base64url'));
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  /** The pending requests of the person's groups and their recent decisions, with the session's CSRF token. */
  private async requests(req: IncomingMessage, res: ServerResponse, approver: Approver): Promise<void> {
    const session = sessionOf(req);
    if (session === undefined) return json(res, 403, { error: 'no console session: reload the page' });
    const now = new Date(this.clock());
    const mine = (await this.options.store.list(now)).filter((a) => isApproverOf(approver.groups, a));
    const pending = mine.filter((a) => a.state === 'pending');
    const recent = mine
      .filter((a) => a.state !== 'pending')
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, RECENT_DECISIONS);
    json(res, 200, {
      approver: approver.id,
      groups: [...approver.groups],
      csrf: csrfToken(session, approver.id),
      now: now.toISOString(),
      pending: pending.map((a) => shown(a, approver)),
      recent: recent.map((a) => shown(a, approver)),
    });
  }

  /**
   * Why a decision is refused as possibly forged, or undefined: it must carry the session's
   * token, bound to this person, and come from the console's own origin.
   */
  private forged(req: IncomingMessage, approver: Approver): string | undefined {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `cross-site request (Sec-Fetch-Site: ${String(site).slice(0, 40)})`;
    const origin = req.headers.origin;
    if (origin === undefined || !sameOrigin(origin, req.headers.host)) return 'the Origin is not the console';
    const session = sessionOf(req);
    const token = req.headers[CSRF_HEADER];
    if (session === undefined || typeof token !== 'string') return 'no CSRF token';
    const expected = Buffer.from(csrfToken(session, approver.id));
    const given = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'wrong CSRF token';
    return undefined;
  }

  private async decide(res: ServerResponse, approver: Approver, id: string, verb: 'approve' | 'deny'): Promise<void> {
    const { store, actions } = this.options;
    const approval = await store.get(id, new Date(this.clock()));
    // An approval of a group the person is not in is answered as an unknown one: nothing learnt of it.
    if (approval === undefined) return this.refuse(res, approver, id, verb, 404, 'no such approval request');
    if (!isApproverOf(approver.groups, approval)) return this.refuse(res, approver, id, verb, 404, `not an approver of group "${approval.group}"`);
    const result = verb === 'approve' ? await actions.approve(id, approver.id) : await actions.deny(id, approver.id);
    if (!result.ok) return this.refuse(res, approver, id, verb, REFUSAL_STATUS[result.reason], `${verb} refused: ${result.reason}`);
    json(res, 200, { request: shown(result.approval, approver) });
  }

  /**
   * A refused decision: one decision record naming the person (as the Approvals service's
   * refusals are), and the answer. A request of a group not theirs is answered as an unknown
   * one; the record says which it was.
   */
  private refuse(res: ServerResponse, approver: Approver, id: string, verb: 'approve' | 'deny', status: number, reason: string): void {
    this.options.record({
      decisionId: this.options.nextDecisionId(),
      caller: approver.id,
      action: verb === 'approve' ? APPROVE : DENY,
      approval: id,
      decision: 'deny',
      httpStatus: status,
      reason: `approvals console: ${reason}`,
    });
    json(res, status, { error: status === 404 ? 'no such request among yours' : reason });
  }
}

/** What the page reads of a request: no digest (it would only help a forger), nothing the store did not keep redacted. */
function shown(a: Approval, approver: Approver) {
  return {
    id: a.id,
    state: a.state,
    caller: a.caller,
    principal: a.principal,
    action: a.action,
    upstream: a.resource,
    ...(a.task !== undefined && { task: a.task }),
    ...(a.intent !== undefined && { intent: a.intent }),
    group: a.group,
    quorum: a.quorum,
    policies: a.policies,
    approvers: a.approvers,
    approvedByYou: a.approvers.includes(approver.id),
    ...(a.deniedBy !== undefined && { deniedBy: a.deniedBy }),
    createdAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    ...(a.arguments !== undefined && { arguments: a.arguments }),
    ...(a.argumentsCut && { argumentsCut: true }),
  };
}

/** The CSRF token of a session for one person: a forger has neither the cookie's value nor a way to read this answer. */
function csrfToken(session: string, approver: string): string {
  return createHmac('sha256', session).update(`toolgate-console-csrf\0${approver}`).digest('base64url');
}

function sessionCookie(value: string): string {
  return `${CONSOLE_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

/** The session cookie's value, when the request has a well-formed one. */
function sessionOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === CONSOLE_COOKIE && value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}

/** Whether `origin` is the host the request was sent to (the proxy passes the browser's Host on). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
