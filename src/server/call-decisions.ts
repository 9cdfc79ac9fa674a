import type { ServerHttp2Stream } from 'node:http2';
import type { DecisionLog, DecisionOutcome, DecisionRecord } from '../observability/decision-log';
import type { GatewayMetrics } from '../observability/metrics';
import type { Trace } from '../observability/trace';
import type { ApprovalRequirement, Decision } from '../policy/authorization';
import type { CedarValue } from '../identity/cedar-value';
import { endWithStatus, refusalMessage, Status, type StatusCode } from '../relay/grpc-status';
import type { Denial } from '../relay/relay-call';
import type { CallContext, GatewayState, IdentifiedCall } from './call-context';
import type { Refusal } from './call-guard';

/** The request message a decision is about, for payload-aware methods and BeginTask. */
export interface PayloadFacts {
  request?: Record<string, CedarValue>;
  /** The message's position, for client- and bidi-streaming methods. */
  index?: number;
  /** Why the message could not be read (it is then denied without asking Cedar). */
  reason?: string;
  /** `sha256:<hex>` of the message as it would be relayed (its canonical re-encoding), for the record. */
  requestDigest?: string;
}

/** How a refused call's stream is ended: `endWithStatus`, or another response carrying the same status. */
export type EndCall = (stream: ServerHttp2Stream, code: StatusCode, message: string) => void;

/** What a record says beyond the call's own facts. */
type RecordFields = Pick<
  DecisionRecord,
  'message' | 'requestDigest' | 'task' | 'approval' | 'by' | 'event' | 'status' | 'policies' | 'errors' | 'reason' | 'shadow' | 'evalUs' | 'cached' | 'expiresAt' | 'policySet'
> & {
  decision?: DecisionOutcome;
  decisionId?: string;
};

export type DecisionFacts = Pick<Decision, 'allow' | 'escalate' | 'policies' | 'errors' | 'evaluationMicros' | 'cached' | 'shadow'>;

/** A message Cedar permits only with a person's approval: not yet recorded (its record names the approval request). */
export interface Escalation {
  readonly escalate: ApprovalRequirement;
  readonly decision: DecisionFacts;
}

const UNREADABLE: DecisionFacts = Object.freeze({ allow: false, policies: [], errors: [], evaluationMicros: 0, cached: false });

/**
 * Every decision and refusal of a call, for the pipeline and the Tasks handler alike: Cedar
 * asked, the record written (through the one `DecisionLog`), the metrics counted, and a
 * refused call ended with its status and decision id (never the reason).
 */
export class CallDecisions {
  constructor(
    private readonly log: DecisionLog,
    private readonly metrics: GatewayMetrics,
    /** The `policy` trace. */
    private readonly trace: Trace,
  ) {}

  /**
   * Authorizes one call (or one message of it), records the decision, and returns the
   * denial to send, or undefined to proceed. With `payload.reason` the message could not be
   * read and is denied without asking Cedar. An `escalate` decision is returned unrecorded
   * as an `Escalation` when `escalation` is true (the caller holds the call for approval and
   * records it); otherwise it is denied, `escalation` saying why the call cannot wait for one.
   */
  decide(call: IdentifiedCall, decisionId: string, payload: PayloadFacts | undefined, escalation?: string): Denial | undefined;
  decide(call: IdentifiedCall, decisionId: string, payload: PayloadFacts | undefined, escalation: true | string): Denial | Escalation | undefined;
  decide(call: IdentifiedCall, decisionId: string, payload: PayloadFacts | undefined, escalation?: true | string): Denial | Escalation | undefined {
    const { action, resource } = call;
    const decision: DecisionFacts = payload?.reason ? UNREADABLE : this.evaluate(call, payload, call.state);
    // Field names only: values (headers, payloads) may carry what must not reach a log.
    this.trace?.debug(
      {
        decisionId,
        principal: call.principalLabel,
        action,
        resource,
        context: this.trace && contextKeys(call, payload),
        request: payload?.request && Object.keys(payload.request),
        allow: decision.allow,
        escalate: decision.escalate !== undefined,
        policies: decision.policies,
        errors: decision.errors,
        evalUs: decision.evaluationMicros,
        cached: decision.cached,
        unreadable: payload?.reason !== undefined,
      },
      'cedar decision',
    );
    if (decision.escalate !== undefined && escalation === true) return { escalate: decision.escalate, decision };
    const why = decision.escalate === undefined ? payload?.reason : `approval required (${decision.policies.join(', ')}), but ${escalation ?? 'this call cannot be held for one'}`;
    const denied = decision.allow
      ? undefined
      : { code: Status.PERMISSION_DENIED, message: refusalMessage(Status.PERMISSION_DENIED, decisionId), reason: why ?? 'denied by policy' };
    // Absent facts stay undefined: `record` lays every field out in order and the log omits them.
    this.record(call, {
      decisionId,
      message: payload?.index,
      requestDigest: payload?.requestDigest,
      decision: decision.allow ? 'allow' : 'deny',
      status: denied?.code,
      policies: decision.policies,
      errors: decision.errors,
      reason: why,
      shadow: decision.shadow,
      evalUs: Math.round(decision.evaluationMicros),
      cached: decision.cached,
    });
    const metrics = this.metrics;
    metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    if (denied) metrics.denied.inc();
    else metrics.allowed.inc();
    return denied;
  }

  /** Cedar's decision on the call (and message) under `state`'s policies, unrecorded: `decide`, and a held call's re-evaluation at release. */
  evaluate(call: IdentifiedCall, payload: PayloadFacts | undefined, state: GatewayState): DecisionFacts {
    const { principal, action, resource } = call;
    const context: Record<string, CedarValue> = { peer: call.caller.peer, metadata: call.metadata };
    const { task, rate, onBehalfOf } = call.admission;
    if (task) context.task = task.context;
    if (rate) context.rate = rate;
    if (onBehalfOf) context.onBehalfOf = { issuer: onBehalfOf.issuer, subject: onBehalfOf.subject };
    if (payload?.request) context.request = payload.request;
    if (payload?.index !== undefined) context.stream = { index: payload.index };
    return state.engine.authorize({ principal, action, resource, context });
  }

  /** Ends a call that never reached policy (not a gRPC request, no identity, no route, the gateway unavailable) and records why. */
  deny(call: CallContext, code: StatusCode, reason: string, end: EndCall = endWithStatus, task?: string): void {
    this.record(call, { decision: 'deny', status: code, reason, task });
    this.metrics.denied.inc();
    this.metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    end(call.stream, code, refusalMessage(code, call.decisionId));
  }

  /** Counts a decision recorded with `record` (the escalated calls' steps), as `decide` counts its own. */
  count(call: CallContext, outcome: 'allow' | 'deny' | 'escalate'): void {
    const metrics = this.metrics;
    if (outcome === 'escalate') return metrics.escalated.inc();
    metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    (outcome === 'allow' ? metrics.allowed : metrics.denied).inc();
  }

  /** Ends a call whose refusal is already recorded (with fields `deny` has no room for), counted as denied. */
  endRecorded(call: CallContext, code: StatusCode): void {
    this.metrics.denied.inc();
    this.metrics.decisionSeconds.observe((performance.now() - call.started) / 1000);
    endWithStatus(call.stream, code, refusalMessage(code, call.decisionId));
  }

  /** Ends a call the guard (or the Tasks service) refused before or instead of policy. */
  refuse(call: CallContext, refusal: Refusal): void {
    this.metrics.guardRefusals.labels(String(refusal.code)).inc();
    this.deny(call, refusal.code, refusal.reason, endWithStatus, refusal.taskId);
  }

  /**
   * Writes one record of `call`: its facts (who, what, on which upstream, under which task
   * and policy set) then `fields`, always in the same order.
   */
  record(call: CallContext, fields: RecordFields): void {
    const { admission } = call;
    this.log.write({
      decisionId: fields.decisionId ?? call.decisionId,
      caller: call.caller.peer.spiffeId,
      principal: call.principalLabel,
      action: call.action,
      resource: call.resource,
      message: fields.message,
      // A single-request call's one message: on every record of the call (escalation steps, a cut).
      requestDigest: fields.requestDigest ?? call.requestDigest,
      task: fields.task ?? admission.task?.id,
      approval: fields.approval,
      by: fields.by,
      onBehalfOf: admission.onBehalfOf?.subject,
      decision: fields.decision,
      event: fields.event,
      status: fields.status,
      policies: fields.policies,
      errors: fields.errors,
      reason: fields.reason,
      shadow: fields.shadow,
      evalUs: fields.evalUs,
      cached: fields.cached,
      expiresAt: fields.expiresAt,
      policySet: fields.policySet ?? call.state.policyHash,
    });
  }

  /** A call the token listener refused before any caller was known: no call facts but the policy set in force. */
  recordTokenRefusal(decisionId: string, reason: string, code: string, policySet: string): void {
    this.metrics.denied.inc();
    this.log.write({ decisionId, decision: 'deny', status: Status.UNAUTHENTICATED, reason, policySet, listener: 'token', code });
  }
}

/** The names of the context's records, for the `policy` trace. */
function contextKeys(call: IdentifiedCall, payload: PayloadFacts | undefined): string[] {
  const { task, rate, onBehalfOf } = call.admission;
  return [
    'peer',
    'metadata',
    ...(task ? ['task'] : []),
    ...(rate ? ['rate'] : []),
    ...(onBehalfOf ? ['onBehalfOf'] : []),
    ...(payload?.request ? ['request'] : []),
    ...(payload?.index !== undefined ? ['stream'] : []),
  ];
}
