import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { IdentityMapper } from '../identity/identity-mapper';
import type { Principal } from '../identity/principal';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { Decision } from '../policy/authorization';
import type { CedarValue } from '../identity/cedar-value';
import type { PolicyEngine } from '../policy/policy-engine';
import { parseGrpcPath } from '../relay/grpc-path';
import { endWithStatus, refusalMessage, Status, type StatusCode } from '../relay/grpc-status';
import { decompress } from '../relay/decompress';
import { decodeMessage, decodeRequest, requestContext } from '../relay/proto-json';
import { encodeCanonical } from '../relay/canonical-encode';
import type { DecodedMessage } from '../relay/exact-decode';
import { grpcFrame } from '../relay/grpc-frames';
import { RelayCall, type Denial } from '../relay/relay-call';
import type { CallerSlots } from '../limits/caller-slots';
import type { MethodInfo } from '../relay/method-catalog';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import { TaskError, type TaskErrorCode } from '../tasks/task-errors';
import type { OnBehalfOf } from '../identity/on-behalf-of';
import type { Admission, CallGuard, Refusal } from './call-guard';
import { HEALTH_CHECK, HEALTH_SERVICE, serveHealth } from './health-service';
import type { OpenTaskCalls } from './open-task-calls';
import { AGENT_HEADER, AUTHORIZATION_HEADER, CALLER_HEADER, DECISION_HEADER, FORWARDED_CLIENT_CERT_HEADER, forwardedClientCert, TASK_ID_HEADER, upstreamRequestHeaders } from './owned-headers';
import type { RouteTable } from './route-table';
import { BEGIN_TASK, END_TASK, GATEWAY_RESOURCE, GET_TASK, TASKS_SERVICE } from '../tasks/tasks-api';
import type { TasksService } from './tasks-service';
import { readUnaryRequest, respondUnary } from './unary-call';
import { errorMessage } from '../errors/unknown-error';

/**
 * How the caller proved its identity: an X.509-SVID on the mTLS listener, or a bearer
 * token on the token listener (a JWT-SVID, or an OIDC workload token from a configured issuer).
 */
export type CallerAuthn = 'x509-svid' | 'jwt-svid' | 'oidc';

/** An authenticated caller: once per connection for mTLS, once per token for bearer callers. */
export interface Caller {
  id: SpiffeId;
  /** `context.peer` for every call on the connection. */
  peer: { spiffeId: string; trustDomain: string; authn: CallerAuthn };
}

/** What the pipeline decides with; replaced as a whole when config or policies reload. */
export interface GatewayState {
  identities: IdentityMapper;
  engine: PolicyEngine;
  /** Names the policy set in every decision log line. */
  policyHash: string;
  routes: RouteTable;
}

export interface CallPipelineOptions {
  decisionLog: Logger;
  /** Operational log: upstream failures and why. */
  logger: Logger;
  metrics: GatewayMetrics;
  nextDecisionId: () => string;
  /** Request headers copied into `context.metadata`; lowercase. */
  metadataAllow: readonly string[];
  maxMessageBytes: number;
  /** Calls open per caller SPIFFE ID on this replica, capped (`limits.perCaller`). */
  callerSlots: CallerSlots;
  /** A relayed call with no byte either way for this long is ended (`limits.streamIdleSeconds`). */
  streamIdleMs: number;
  isReady: () => boolean;
  /** Why every call is refused UNAVAILABLE right now (the gateway's own SVID expired), or undefined. */
  unavailable?: () => string | undefined;
  /** On-behalf-of tokens, task tokens, rate limits and budgets, checked before policy. */
  guard: CallGuard;
  /** The Tasks service on the gateway's own listener. */
  tasks: TasksService;
  /** Open calls by task, cut when their task ends or expires. */
  openTasks: OpenTaskCalls;
  /** Mints the per-call JWT for the upstream (`authorization: Bearer`). */
  upstreamToken: (facts: UpstreamTokenFacts) => string;
  /** The gateway's SPIFFE ID, from its current SVID: `By=` of the `x-forwarded-client-cert` it sets. */
  gatewayId: () => string;
}

/** What the per-call upstream JWT says: who called what, for which task and user. */
export interface UpstreamTokenFacts {
  caller: string;
  /** The agent name, when the caller maps to one. */
  agent?: string;
  /** The upstream's SPIFFE ID: the token's audience. */
  audience: string;
  action: string;
  task?: { id: string; expiresAt: Date };
  onBehalfOf?: OnBehalfOf;
}

const NO_ADMISSION: Admission = Object.freeze({});

const EMPTY_METADATA = Object.freeze({});

/**
 * The per-call path: route → identify → authorize → relay, and one decision log line.
 * Every failure before the relay denies (fail closed); the caller sees a generic message
 * with the decision id, and the reason goes only to the decision log.
 */
export class CallPipeline {
  constructor(
    private state: GatewayState,
    private readonly options: CallPipelineOptions,
  ) {}

  get current(): GatewayState {
    return this.state;
  }

  /** Swaps in new config or policies; calls already decided keep the state they had. */
  replaceState(state: GatewayState): void {
    this.state = state;
  }

  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, caller: Caller): void {
    const started = performance.now();
    const method = parseGrpcPath(headers[':path']);
    if (method === undefined || headers[':method'] !== 'POST') {
      this.unanswered(stream, caller, String(headers[':path']), 'not a gRPC method', started);
      return;
    }
    const unavailable = this.options.unavailable?.();
    if (unavailable !== undefined) {
      this.deny(stream, Status.UNAVAILABLE, { decisionId: this.options.nextDecisionId(), caller: caller.peer.spiffeId, action: method.action, resource: undefined, reason: unavailable, started });
      return;
    }
    if (method.service === HEALTH_SERVICE) {
      if (method.action === HEALTH_CHECK) serveHealth(stream, this.options.isReady());
      else this.unanswered(stream, caller, method.action, 'no such method', started);
      return;
    }

    const state = this.state;
    const decisionId = this.options.nextDecisionId();
    const ownService = method.service === TASKS_SERVICE;
    const route = ownService ? undefined : state.routes.get(method.service);
    const resource = ownService ? GATEWAY_RESOURCE : route?.target.name;
    const before = () => ({ decisionId, caller: caller.peer.spiffeId, action: method.action, resource, started });
    let principal: Principal;
    try {
      principal = state.identities.resolve(caller.id);
    } catch (err) {
      this.deny(stream, Status.UNAUTHENTICATED, { ...before(), reason: errorMessage(err) });
      return;
    }
    // One slot per open call of this caller, given back when its stream closes, however the
    // call ends (the stream is new here: its 'close' is still to come).
    const releaseSlot = this.options.callerSlots.take(caller.peer.spiffeId);
    if (releaseSlot === undefined) {
      const reason = `caller has ${this.options.callerSlots.maxPerCaller} calls open (limits.perCaller.maxConcurrentCalls)`;
      this.refuse(stream, { refused: true, code: Status.RESOURCE_EXHAUSTED, reason }, { ...before(), principal: label(principal) });
      return;
    }
    stream.once('close', releaseSlot);
    if (ownService) {
      this.serveTasks(stream, headers, { state, principal, caller, action: method.action, resource: GATEWAY_RESOURCE, metadata: this.metadata(headers), started, admission: NO_ADMISSION }, decisionId);
      return;
    }
    if (route === undefined) {
      const reason = `no upstream serves ${method.service}`;
      this.deny(stream, Status.UNIMPLEMENTED, { ...before(), principal: label(principal), reason });
      return;
    }

    const call: CallFacts = { state, principal, caller, action: method.action, resource: route.target.name, metadata: this.metadata(headers), started, admission: NO_ADMISSION };
    const guard = this.options.guard;
    if (!guard.applies(headers)) {
      this.authorizeAndRelay(stream, headers, call, route, decisionId);
      return;
    }
    guard.admit(headers, caller.peer.spiffeId, label(principal), method.action).then(
      (admission) => {
        if (isRefusal(admission)) return this.refuse(stream, admission, { ...before(), principal: label(principal) });
        // The caller may have gone while the guard waited: give back what was counted.
        if (stream.closed || stream.destroyed) return admission.task?.release();
        this.authorizeAndRelay(stream, headers, { ...call, admission }, route, decisionId);
      },
      (err: Error) => this.refuse(stream, { refused: true, code: Status.INTERNAL, reason: `guard failed: ${err.message}` }, { ...before(), principal: label(principal) }),
    );
  }

  /** Decides the call (or, payload-aware, each of its messages) and relays what is permitted. */
  private authorizeAndRelay(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, call: CallFacts, route: Route, decisionId: string): void {
    const { task } = call.admission;
    const catalog = route.methods;
    const info = catalog?.get(call.action);
    if (info === undefined) {
      // With protos, a method they do not declare is one whose messages the gateway cannot
      // read: denied, or a tool newer than its protos would run calls on no payload check.
      // Without protos: one decision for the whole call, on its headers.
      const denial = this.decide(call, decisionId, catalog === undefined ? undefined : { reason: `${call.action} is not declared in the protos of upstream "${route.target.name}"` });
      if (denial) {
        task?.release();
        endWithStatus(stream, denial.code, denial.message);
      } else {
        this.relayTo(stream, headers, call, route, decisionId, undefined).start();
      }
      return;
    }
    // Payload-aware: each request message is decided on its own content before it is
    // relayed, and what is relayed is that content re-encoded (canonical-encode.ts), never
    // the caller's bytes: the tool parses exactly what policy saw. The upstream call opens
    // with the first admitted message.
    const encoding = headers['grpc-encoding'];
    const maxBytes = this.options.maxMessageBytes;
    this.relayTo(stream, headers, call, route, decisionId, info).startGated({
      admit: (message, index) => {
        const id = index === 0 ? decisionId : this.options.nextDecisionId();
        const at = info.requestStream ? index : undefined;
        let decoded: DecodedMessage;
        let request: Record<string, CedarValue>;
        try {
          decoded = decodeMessage(info.requestType, decompress(message, encoding, maxBytes));
          request = requestContext(decoded);
        } catch (err) {
          return { denial: this.decide(call, id, { reason: errorMessage(err), index: at })! };
        }
        const denial = this.decide(call, id, { request, index: at });
        if (denial) return { denial };
        const payload = encodeCanonical(decoded);
        // Canonical varints can be longer than the caller's (a negative int32 sent in 5 bytes).
        if (payload.length > maxBytes) return { denial: { code: Status.RESOURCE_EXHAUSTED, message: refusalMessage(Status.RESOURCE_EXHAUSTED, id), reason: `message re-encodes to ${payload.length} bytes, over the limit of ${maxBytes}` } };
        return { relay: grpcFrame(payload) };
      },
      admitEmpty: () => this.decide(call, decisionId, undefined),
    });
  }

  /**
   * The relay for a call permitted on its headers, or for a payload-aware call about to be
   * decided message by message (a call denied on its headers costs no header copy and no
   * token): the gateway's own headers and per-call JWT, and, for a task's call, its slot
   * released and its registration for cancellation undone when it ends.
   */
  private relayTo(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, call: CallFacts, route: Route, decisionId: string, method: MethodInfo | undefined): RelayCall {
    const { caller, principal, admission } = call;
    const { task, onBehalfOf } = admission;
    const owned: Record<string, string> = { [CALLER_HEADER]: caller.peer.spiffeId, [DECISION_HEADER]: decisionId };
    if (principal.type === 'Agent') owned[AGENT_HEADER] = principal.id;
    if (task) owned[TASK_ID_HEADER] = task.id;
    // Only a caller that presented an X.509-SVID has a client certificate to speak of; a
    // bearer caller gets none (x-toolgate-caller says who it is).
    if (caller.peer.authn === 'x509-svid') owned[FORWARDED_CLIENT_CERT_HEADER] = forwardedClientCert(this.options.gatewayId(), caller.peer.spiffeId);
    // Minted when the upstream stream opens (at the first request byte), so that the token's
    // lifetime starts then, not when the caller's headers came.
    const bearer = () => `Bearer ${this.options.upstreamToken({
      caller: caller.peer.spiffeId,
      ...(principal.type === 'Agent' && { agent: principal.id }),
      audience: route.target.spiffeId.toString(),
      action: call.action,
      ...(task && { task: { id: task.id, expiresAt: task.expiresAt } }),
      ...(onBehalfOf && { onBehalfOf }),
    })}`;
    let untrack: (() => void) | undefined;
    const upstreamHeaders = () => upstreamRequestHeaders(headers, route.target.address, { ...owned, [AUTHORIZATION_HEADER]: bearer() });
    const relay = new RelayCall(stream, route, upstreamHeaders, {
      maxMessageBytes: this.options.maxMessageBytes,
      idleMs: this.options.streamIdleMs,
      decisionId,
      singleRequest: method?.requestStream === false,
      onEnd: (outcome) => {
        untrack?.();
        task?.release();
        // The relay refused the request's bytes itself (size, a message cut short): the caller read only the decision id.
        if (outcome.refused) this.options.decisionLog.info({ decisionId, caller: caller.peer.spiffeId, principal: label(principal), action: call.action, resource: call.resource, ...(task && { task: task.id }), decision: 'deny', reason: outcome.reason, policySet: call.state.policyHash });
        this.options.metrics.observeCall(outcome.grpcStatus, (performance.now() - call.started) / 1000);
        if (outcome.upstreamError) {
          this.options.metrics.upstreamErrors.labels(route.target.name).inc();
          this.options.logger.warn({ decisionId, upstream: route.target.name, reason: outcome.reason }, 'upstream call failed');
        }
      },
    });
    if (task) {
      untrack = this.options.openTasks.add(task.id, task.expiresAt, (reason) => {
        this.options.decisionLog.info({ decisionId, caller: caller.peer.spiffeId, action: call.action, task: task.id, decision: 'cut', reason });
        this.options.metrics.taskEvents.labels('cut').inc();
        relay.fail(Status.PERMISSION_DENIED, `permission denied (decision ${decisionId})`, reason);
      }, task.lease);
    }
    return relay;
  }

  /**
   * `toolgate.v1.Tasks` on the gateway's own listener. BeginTask is a Cedar decision on
   * `Tool::"toolgate"` with the request in `context.request`; EndTask and GetTask need no
   * policy: a caller may always end or read its own tasks, and only its own.
   */
  private serveTasks(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, call: CallFacts, decisionId: string): void {
    const { principal, caller, action } = call;
    const before = { decisionId, caller: caller.peer.spiffeId, principal: label(principal), action, resource: GATEWAY_RESOURCE, started: call.started };
    if (action !== BEGIN_TASK && action !== END_TASK && action !== GET_TASK) {
      this.deny(stream, Status.UNIMPLEMENTED, { ...before, reason: 'no such method' });
      return;
    }
    const tasks = this.options.tasks;
    const owner = caller.peer.spiffeId;
    const fail = (code: StatusCode, reason: string) => this.refuse(stream, { refused: true, code, reason }, before);
    const serve = async (): Promise<void> => {
      const admission = this.options.guard.applies(headers) ? await this.options.guard.admit(headers, owner, label(principal), action, false) : NO_ADMISSION;
      if (isRefusal(admission)) return this.refuse(stream, admission, before);
      const message = await readUnaryRequest(stream, this.options.maxMessageBytes).catch((err: Error) => {
        fail(Status.INTERNAL, err.message);
        return undefined;
      });
      if (message === undefined) return;
      if (action === BEGIN_TASK) {
        const begin: CallFacts = { ...call, admission };
        let request: Record<string, CedarValue>;
        try {
          request = decodeRequest(tasks.proto.beginRequest, message);
        } catch (err) {
          const denial = this.decide(begin, decisionId, { reason: errorMessage(err) });
          return endWithStatus(stream, denial!.code, denial!.message);
        }
        const denial = this.decide(begin, decisionId, { request });
        if (denial) return endWithStatus(stream, denial.code, denial.message);
        const { task, response } = await tasks.begin(owner, request);
        this.options.decisionLog.info({ decisionId, caller: owner, principal: label(principal), action, task: task.id, event: 'task begun', expiresAt: task.expiresAt.toISOString() });
        this.options.metrics.taskEvents.labels('begun').inc();
        return respondUnary(stream, response);
      }
      const taskId = tasks.taskIdOf(message);
      const response = action === END_TASK ? await tasks.end(owner, taskId) : await tasks.get(owner, taskId);
      this.options.decisionLog.info({ decisionId, caller: owner, principal: label(principal), action, task: taskId, decision: 'allow', reason: 'own task' });
      if (action === END_TASK) this.options.metrics.taskEvents.labels('ended').inc();
      respondUnary(stream, response);
    };
    serve().catch((err: Error) => {
      const code = err instanceof TaskError ? TASK_ERROR_STATUS[err.code] : Status.UNAVAILABLE;
      fail(code, err instanceof TaskError ? `${err.code}: ${err.message}` : `task store unavailable: ${err.message}`);
    });
  }

  /**
   * Authorizes one call (or one message of it), logs the decision, and returns the denial
   * to send, or undefined to proceed. With `payload.reason` the message could not be read
   * and is denied without asking Cedar.
   */
  private decide(call: CallFacts, decisionId: string, payload: PayloadFacts | undefined): Denial | undefined {
    const { state, principal, action, resource } = call;
    const context: Record<string, CedarValue> = { peer: call.caller.peer, metadata: call.metadata };
    const { task, rate, onBehalfOf } = call.admission;
    if (task) context.task = task.context;
    if (rate) context.rate = rate;
    if (onBehalfOf) context.onBehalfOf = { issuer: onBehalfOf.issuer, subject: onBehalfOf.subject };
    if (payload?.request) context.request = payload.request;
    if (payload?.index !== undefined) context.stream = { index: payload.index };
    const decision: Pick<Decision, 'allow' | 'policies' | 'errors' | 'evaluationMicros' | 'cached' | 'shadow'> = payload?.reason
      ? { allow: false, policies: [], errors: [], evaluationMicros: 0, cached: false }
      : state.engine.authorize({ principal, action, resource, context });
    this.options.decisionLog.info({
      decisionId,
      caller: call.caller.peer.spiffeId,
      principal: label(principal),
      action,
      resource,
      ...(payload?.index !== undefined && { message: payload.index }),
      ...(task && { task: task.id }),
      ...(onBehalfOf && { onBehalfOf: onBehalfOf.subject }),
      decision: decision.allow ? 'allow' : 'deny',
      policies: decision.policies,
      errors: decision.errors,
      ...(payload?.reason !== undefined && { reason: payload.reason }),
      ...(decision.shadow && { shadow: decision.shadow }),
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
      policySet: state.policyHash,
    });
    const metrics = this.options.metrics;
    metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    if (decision.allow) {
      metrics.allowed.inc();
      return undefined;
    }
    metrics.denied.inc();
    return { code: Status.PERMISSION_DENIED, message: `permission denied (decision ${decisionId})`, reason: payload?.reason ?? 'denied by policy' };
  }

  private metadata(headers: IncomingHttpHeaders): Record<string, string> {
    const allow = this.options.metadataAllow;
    if (allow.length === 0) return EMPTY_METADATA;
    const out: Record<string, string> = {};
    for (const name of allow) {
      const value = headers[name];
      if (typeof value === 'string') out[name] = value;
      else if (Array.isArray(value)) out[name] = value.join(', ');
    }
    return out;
  }

  /** Ends a call the guard (or the Tasks service) refused before or instead of policy. */
  private refuse(stream: ServerHttp2Stream, refusal: Refusal, record: Omit<DenialRecord, 'reason'>): void {
    this.options.metrics.guardRefusals.labels(String(refusal.code)).inc();
    this.deny(stream, refusal.code, { ...record, reason: refusal.reason, ...(refusal.taskId !== undefined && { task: refusal.taskId }) });
  }

  /** Ends a request that names no method the gateway serves or routes, before anything else is looked at. */
  private unanswered(stream: ServerHttp2Stream, caller: Caller, action: string, reason: string, started: number): void {
    this.deny(stream, Status.UNIMPLEMENTED, { decisionId: this.options.nextDecisionId(), caller: caller.peer.spiffeId, action, resource: undefined, reason, started });
  }

  /** Ends a call that never reached policy (no identity, no route) and logs why; the caller reads only the status and the decision id. */
  private deny(stream: ServerHttp2Stream, code: StatusCode, record: DenialRecord): void {
    const { started, ...fields } = record;
    this.options.decisionLog.info({ ...fields, decision: 'deny', policySet: this.state.policyHash });
    this.options.metrics.denied.inc();
    this.options.metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    endWithStatus(stream, code, refusalMessage(code, record.decisionId));
  }
}

/** What every decision of one call shares. */
interface CallFacts {
  state: GatewayState;
  principal: Principal;
  caller: Caller;
  action: string;
  resource: string;
  metadata: Record<string, string>;
  started: number;
  /** What the guard admitted the call with: its task, rate and on-behalf-of user. */
  admission: Admission;
}

/** The request message a decision is about, for payload-aware methods. */
interface PayloadFacts {
  request?: Record<string, CedarValue>;
  /** The message's position, for client- and bidi-streaming methods. */
  index?: number;
  /** Why the message could not be read (it is then denied). */
  reason?: string;
}

interface DenialRecord {
  decisionId: string;
  caller: string;
  principal?: string;
  action: string;
  resource: string | undefined;
  reason: string;
  task?: string;
  started: number;
}

type Route = NonNullable<ReturnType<RouteTable['get']>>;

/** The status a refused Tasks request gets, by the task layer's error code. */
const TASK_ERROR_STATUS: Record<TaskErrorCode, StatusCode> = {
  ERR_TASK_TOKEN: Status.PERMISSION_DENIED,
  ERR_TASK_ENDED: Status.PERMISSION_DENIED,
  ERR_TASK_EXPIRED: Status.PERMISSION_DENIED,
  ERR_TASK_BUDGET: Status.RESOURCE_EXHAUSTED,
  ERR_TASK_OPEN_LIMIT: Status.RESOURCE_EXHAUSTED,
  ERR_TASK_TTL: Status.INVALID_ARGUMENT,
  ERR_TASK_NOT_FOUND: Status.NOT_FOUND,
  ERR_TASK_TOOL: Status.PERMISSION_DENIED,
  ERR_TASK_INVALID: Status.INVALID_ARGUMENT,
  ERR_TASK_KEY: Status.INTERNAL,
};

function isRefusal(result: Admission | Refusal): result is Refusal {
  return 'refused' in result;
}

/** `Agent::"name"`: the principal as Cedar names it. */
function label(principal: Principal): string {
  return `${principal.type}::"${principal.id}"`;
}
