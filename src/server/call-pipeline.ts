import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { errorMessage } from '../errors/unknown-error';
import type { OnBehalfOf } from '../identity/on-behalf-of';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { Tracing, Trace } from '../observability/trace';
import type { CedarValue } from '../identity/cedar-value';
import { parseGrpcPath } from '../relay/grpc-path';
import { refusalMessage, Status, endWithStatus } from '../relay/grpc-status';
import { decompress } from '../relay/decompress';
import { decodeMessage, requestContext } from '../relay/proto-json';
import { encodeCanonical } from '../relay/canonical-encode';
import { grpcFrame } from '../relay/grpc-frames';
import { RelayCall } from '../relay/relay-call';
import type { CallerSlots } from '../limits/caller-slots';
import type { MethodInfo } from '../relay/method-catalog';
import type { DecisionLog } from '../observability/decision-log';
import { requestDigest } from '../observability/request-digest';
import { GATEWAY_RESOURCE, TASKS_SERVICE } from '../tasks/tasks-api';
import { principalLabel, type Caller, type CallContext, type GatewayState, type IdentifiedCall } from './call-context';
import { CallApprovals, type ShownCalls } from './call-approvals';
import { CallDecisions } from './call-decisions';
import type { ApprovalStore } from '../approvals/approval-store';
import { APPROVALS_SERVICE } from '../approvals/approvals-api';
import type { ApprovalActions } from './approval-actions';
import { ApprovalsHandler } from './approvals-handler';
import type { Admission, CallGuard } from './call-guard';
import { endUnsupportedMediaType, isGrpcContentType } from './grpc-content-type';
import { HEALTH_CHECK, HEALTH_SERVICE, serveHealth } from './health-service';
import type { OpenTaskCalls } from './open-task-calls';
import {
  AGENT_HEADER,
  AUTHORIZATION_HEADER,
  CALLER_HEADER,
  DECISION_HEADER,
  FORWARDED_CLIENT_CERT_HEADER,
  forwardedClientCert,
  TASK_ID_HEADER,
  upstreamRequestHeaders,
} from './owned-headers';
import type { RouteTable } from './route-table';
import { TasksHandler } from './tasks-handler';
import type { TasksService } from './tasks-service';

export interface CallPipelineOptions {
  /** Where every decision record goes. */
  decisionLog: DecisionLog;
  /** Operational log: upstream failures and why. */
  logger: Logger;
  metrics: GatewayMetrics;
  /** Opt-in debug traces (`pipeline`, `policy`, `relay`, `tasks`); none when absent. */
  tracing?: Tracing;
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
  /** Where escalated calls' approval requests live, and how long calls are held (`approvals`); without it an escalate is denied. */
  approvals?: { store: ApprovalStore; holdMs: number; defaultTtlMs: number; maxTtlMs: number; maxPendingPerCaller?: number; actions: ApprovalActions; show?: ShownCalls };
}

/** Why a client- or bidi-streaming message that policy escalates is denied instead (docs/approvals.md). */
const STREAM_CANNOT_ESCALATE = 'a client- or bidi-streaming call cannot be held for approval: one approval cannot be bound to messages not yet sent';
/** Why a call decided on its headers alone that policy escalates is denied instead. */
const HEADERS_CANNOT_ESCALATE = 'a call decided on its headers (an upstream without protos) cannot be bound to an approval: its message is never read';

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

type Route = NonNullable<ReturnType<RouteTable['get']>>;

/**
 * The per-call path: route → identify → authorize → relay, each decision one record.
 * Every failure before the relay denies (fail closed); the caller sees a generic message
 * with the decision id, and the reason goes only to the decision record.
 */
export class CallPipeline {
  /** Every decision and refusal, recorded through the one decision log. */
  private readonly decisions: CallDecisions;
  private readonly tasks: TasksHandler;
  /** Escalated calls held for and released by approval; undefined: an escalate is denied. */
  private readonly approvals: CallApprovals | undefined;
  /** `toolgate.v1.Approvals` for approvers; undefined without `approvals`. */
  private readonly approvers: ApprovalsHandler | undefined;
  private readonly trace: Trace;
  private readonly relayTrace: Trace;

  constructor(
    private state: GatewayState,
    private readonly options: CallPipelineOptions,
  ) {
    const tracing = options.tracing;
    this.trace = tracing?.for('pipeline');
    this.relayTrace = tracing?.for('relay');
    this.decisions = new CallDecisions(options.decisionLog, options.metrics, tracing?.for('policy'));
    this.approvals =
      options.approvals &&
      new CallApprovals({
        ...options.approvals,
        // A held call moves no byte: the idle limit would end it first.
        holdMs: Math.min(options.approvals.holdMs, options.streamIdleMs - 1000),
        decisions: this.decisions,
        current: () => this.state,
      });
    this.approvers =
      options.approvals &&
      new ApprovalsHandler({
        store: options.approvals.store,
        actions: options.approvals.actions,
        decisions: this.decisions,
        guard: options.guard,
        maxMessageBytes: options.maxMessageBytes,
      });
    this.tasks = new TasksHandler({
      service: options.tasks,
      guard: options.guard,
      decisions: this.decisions,
      metrics: options.metrics,
      maxMessageBytes: options.maxMessageBytes,
      trace: tracing?.for('tasks'),
    });
  }

  get current(): GatewayState {
    return this.state;
  }

  /** Swaps in new config or policies; calls already decided keep the state they had. */
  replaceState(state: GatewayState): void {
    this.state = state;
  }

  /** Records a call the token listener refused for want of a valid token (the caller reads only `decisionId`). */
  recordTokenRefusal(reason: string, code: string, decisionId: string): void {
    this.decisions.recordTokenRefusal(decisionId, reason, code, this.state.policyHash);
  }

  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, caller: Caller): void {
    const started = performance.now();
    const method = parseGrpcPath(headers[':path']);
    this.trace?.debug({ path: headers[':path'], caller: caller.peer.spiffeId, authn: caller.peer.authn, contentType: headers['content-type'] }, 'call received');
    if (method === undefined || headers[':method'] !== 'POST') {
      this.decisions.deny(this.context(stream, headers, caller, String(headers[':path']), undefined, started), Status.UNIMPLEMENTED, 'not a gRPC method');
      return;
    }
    if (!isGrpcContentType(headers['content-type'])) {
      const reason = `content-type ${JSON.stringify(headers['content-type'] ?? null)} is not application/grpc`;
      this.decisions.deny(this.context(stream, headers, caller, method.action, undefined, started), Status.INVALID_ARGUMENT, reason, endUnsupportedMediaType);
      return;
    }
    const unavailable = this.options.unavailable?.();
    if (unavailable !== undefined) {
      this.decisions.deny(this.context(stream, headers, caller, method.action, undefined, started), Status.UNAVAILABLE, unavailable);
      return;
    }
    if (method.service === HEALTH_SERVICE) {
      if (method.action === HEALTH_CHECK) serveHealth(stream, this.options.isReady());
      else this.decisions.deny(this.context(stream, headers, caller, method.action, undefined, started), Status.UNIMPLEMENTED, 'no such method');
      return;
    }

    const approvalsService = method.service === APPROVALS_SERVICE && this.approvers !== undefined;
    const ownService = method.service === TASKS_SERVICE || approvalsService;
    const route = ownService ? undefined : this.state.routes.get(method.service);
    const call = this.context(stream, headers, caller, method.action, ownService ? GATEWAY_RESOURCE : route?.target.name, started);
    if (!this.identify(call)) return;
    // One slot per open call of this caller, given back when its stream closes, however the
    // call ends (the stream is new here: its 'close' is still to come).
    const releaseSlot = this.options.callerSlots.take(caller.peer.spiffeId);
    if (releaseSlot === undefined) {
      const reason = `caller has ${this.options.callerSlots.maxPerCaller} calls open (limits.perCaller.maxConcurrentCalls)`;
      this.decisions.refuse(call, { refused: true, code: Status.RESOURCE_EXHAUSTED, reason });
      return;
    }
    stream.once('close', releaseSlot);
    if (approvalsService) {
      this.trace?.debug({ decisionId: call.decisionId, action: call.action }, 'routed to the Approvals service');
      this.approvers!.handle(call);
      return;
    }
    if (ownService) {
      this.trace?.debug({ decisionId: call.decisionId, action: call.action }, 'routed to the Tasks service');
      this.tasks.handle(call);
      return;
    }
    if (route === undefined) {
      this.decisions.deny(call, Status.UNIMPLEMENTED, `no upstream serves ${method.service}`);
      return;
    }
    this.trace?.debug({ decisionId: call.decisionId, upstream: route.target.name, payloadAware: route.methods?.get(call.action) !== undefined }, 'routed');

    const guard = this.options.guard;
    if (!guard.applies(headers)) {
      this.authorizeAndRelay(call, route);
      return;
    }
    guard.admit(headers, caller.peer.spiffeId, call.principalLabel, call.action).then(
      (admission) => {
        if ('refused' in admission) return this.decisions.refuse(call, admission);
        // The caller may have gone while the guard waited: give back what was counted.
        if (stream.closed || stream.destroyed) return admission.task?.release();
        call.admission = admission;
        this.trace?.debug(
          { decisionId: call.decisionId, task: admission.task?.id, rateRemaining: admission.rate?.remaining, onBehalfOf: admission.onBehalfOf !== undefined },
          'admitted by the guard',
        );
        this.authorizeAndRelay(call, route);
      },
      (err: Error) => this.decisions.refuse(call, { refused: true, code: Status.INTERNAL, reason: `guard failed: ${err.message}` }),
    );
  }

  /** The call's context, with a decision id of its own; every field present from the start (one object shape per call). */
  private context(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, caller: Caller, action: string, resource: string | undefined, started: number): CallContext {
    return {
      stream,
      headers,
      caller,
      state: this.state,
      decisionId: this.options.nextDecisionId(),
      action,
      resource,
      started,
      principal: undefined,
      principalLabel: undefined,
      metadata: undefined,
      admission: NO_ADMISSION,
      requestDigest: undefined,
    };
  }

  /** Maps the caller to its principal (false, and the call denied, for a caller no mapping accepts). */
  private identify(call: CallContext): call is IdentifiedCall {
    try {
      call.principal = call.state.identities.resolve(call.caller.id);
    } catch (err) {
      this.decisions.deny(call, Status.UNAUTHENTICATED, errorMessage(err));
      return false;
    }
    call.principalLabel = principalLabel(call.principal);
    call.metadata = this.metadata(call.headers);
    return true;
  }

  /** Decides the call (or, payload-aware, each of its messages) and relays what is permitted. */
  private authorizeAndRelay(call: IdentifiedCall, route: Route): void {
    const { task } = call.admission;
    const { stream, decisionId } = call;
    const catalog = route.methods;
    const info = catalog?.get(call.action);
    const decisions = this.decisions;
    if (info === undefined) {
      // With protos, a method they do not declare is one whose messages the gateway cannot
      // read: denied, or a tool newer than its protos would run calls on no payload check.
      // Without protos: one decision for the whole call, on its headers.
      const denial = decisions.decide(
        call,
        decisionId,
        catalog === undefined ? undefined : { reason: `${call.action} is not declared in the protos of upstream "${route.target.name}"` },
        HEADERS_CANNOT_ESCALATE,
      );
      if (denial) {
        task?.release();
        endWithStatus(stream, denial.code, denial.message);
      } else {
        this.relayTo(call, route, undefined).start();
      }
      return;
    }
    // Payload-aware: each request message is decided on its own content before it is
    // relayed, and what is relayed is that content re-encoded (canonical-encode.ts), never
    // the caller's bytes: the tool parses exactly what policy saw. The upstream call opens
    // with the first admitted message.
    const encoding = call.headers['grpc-encoding'];
    const maxBytes = this.options.maxMessageBytes;
    this.relayTo(call, route, info).startGated({
      admit: (message, index) => {
        const id = index === 0 ? decisionId : this.options.nextDecisionId();
        const at = info.requestStream ? index : undefined;
        let request: Record<string, CedarValue>;
        let payload: Uint8Array;
        try {
          const decoded = decodeMessage(info.requestType, decompress(message, encoding, maxBytes));
          request = requestContext(decoded);
          // Encoded before the decision: its record carries the digest of exactly what the tool would get.
          payload = encodeCanonical(decoded);
        } catch (err) {
          return { denial: decisions.decide(call, id, { reason: errorMessage(err), index: at })! };
        }
        // One SHA-256 of the message: the records' requestDigest, and what an approval's digest binds.
        const digest = requestDigest(payload);
        if (!info.requestStream) call.requestDigest = digest;
        const approvals = this.approvals;
        const verdict = decisions.decide(
          call,
          id,
          { request, index: at, requestDigest: digest },
          info.requestStream ? STREAM_CANNOT_ESCALATE : approvals !== undefined || 'approvals are not configured',
        );
        if (verdict !== undefined && 'code' in verdict) return { denial: verdict };
        // Canonical varints can be longer than the caller's (a negative int32 sent in 5 bytes).
        if (payload.length > maxBytes) {
          const reason = `message re-encodes to ${payload.length} bytes, over the limit of ${maxBytes}`;
          decisions.record(call, { decisionId: id, ...(at !== undefined && { message: at }), requestDigest: digest, decision: 'deny', status: Status.RESOURCE_EXHAUSTED, reason });
          return { denial: { code: Status.RESOURCE_EXHAUSTED, message: refusalMessage(Status.RESOURCE_EXHAUSTED, id), reason } };
        }
        if (verdict !== undefined) return { pending: approvals!.settle(call, id, verdict, { request, payload, digest }) };
        return { relay: grpcFrame(payload) };
      },
      admitEmpty: () => decisions.decide(call, decisionId, undefined),
    });
  }

  /**
   * The relay for a call permitted on its headers, or for a payload-aware call about to be
   * decided message by message (a call denied on its headers costs no header copy and no
   * token): the gateway's own headers and per-call JWT, and, for a task's call, its slot
   * released and its registration for cancellation undone when it ends.
   */
  private relayTo(call: IdentifiedCall, route: Route, method: MethodInfo | undefined): RelayCall {
    const { caller, principal, admission, decisionId, stream, headers } = call;
    const { task, onBehalfOf } = admission;
    const owned: Record<string, string> = { [CALLER_HEADER]: caller.peer.spiffeId, [DECISION_HEADER]: decisionId };
    if (principal.type === 'Agent') owned[AGENT_HEADER] = principal.id;
    if (task) owned[TASK_ID_HEADER] = task.id;
    // Only a caller that presented an X.509-SVID has a client certificate to speak of; a
    // bearer caller gets none (x-toolgate-caller says who it is).
    if (caller.peer.authn === 'x509-svid') owned[FORWARDED_CLIENT_CERT_HEADER] = forwardedClientCert(this.options.gatewayId(), caller.peer.spiffeId);
    let untrack: (() => void) | undefined;
    const relayTrace = this.relayTrace;
    // Called once, when the upstream stream opens (at the first request byte): the token is
    // minted (or a reused one, at most upstreamTokenReuseSeconds old, taken) then, so that its
    // lifetime is counted from then, not from when the caller's headers came.
    const upstreamHeaders = () => {
      owned[AUTHORIZATION_HEADER] = `Bearer ${this.options.upstreamToken({
        caller: caller.peer.spiffeId,
        ...(principal.type === 'Agent' && { agent: principal.id }),
        audience: route.target.spiffeId.toString(),
        action: call.action,
        ...(task && { task: { id: task.id, expiresAt: task.expiresAt } }),
        ...(onBehalfOf && { onBehalfOf }),
      })}`;
      const sent = upstreamRequestHeaders(headers, route.target.address, owned);
      // Names only: values carry the per-call JWT and the caller's own headers.
      relayTrace?.debug({ decisionId, upstream: route.target.name, headers: Object.keys(sent) }, 'upstream stream opening');
      return sent;
    };
    const relay = new RelayCall(stream, route, upstreamHeaders, {
      maxMessageBytes: this.options.maxMessageBytes,
      idleMs: this.options.streamIdleMs,
      decisionId,
      singleRequest: method?.requestStream === false,
      onEnd: (outcome) => {
        untrack?.();
        task?.release();
        // The relay refused the request's bytes itself (size, a message cut short): the caller read only the decision id.
        if (outcome.refused) this.decisions.record(call, { decision: 'deny', status: outcome.grpcStatus, reason: outcome.reason });
        const seconds = (performance.now() - call.started) / 1000;
        this.options.metrics.observeCall(outcome.grpcStatus, seconds);
        relayTrace?.debug(
          {
            decisionId,
            upstream: route.target.name,
            grpcStatus: outcome.grpcStatus,
            reason: outcome.reason,
            refused: outcome.refused === true,
            upstreamError: outcome.upstreamError === true,
            seconds,
          },
          'relayed call ended',
        );
        if (outcome.upstreamError) {
          this.options.metrics.upstreamErrors.labels(route.target.name).inc();
          this.options.logger.warn({ decisionId, upstream: route.target.name, reason: outcome.reason }, 'upstream call failed');
        }
      },
    });
    if (task) {
      untrack = this.options.openTasks.add(
        task.id,
        task.expiresAt,
        (reason) => {
          this.decisions.record(call, { decision: 'cut', status: Status.PERMISSION_DENIED, reason });
          this.options.metrics.taskEvents.labels('cut').inc();
          relay.fail(Status.PERMISSION_DENIED, refusalMessage(Status.PERMISSION_DENIED, decisionId), reason);
        },
        task.lease,
      );
    }
    return relay;
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
}
