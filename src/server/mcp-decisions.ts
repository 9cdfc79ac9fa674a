import { errorMessage } from '../errors/unknown-error';
import type { CedarValue } from '../identity/cedar-value';
import { cedarDecider, couldPermit, mcpAction, type McpCaller, type McpCouldPermit, type McpDecide, type McpDecision, type McpDecisionRequest, type McpRelayEvent } from '../mcp';
import type { DecisionLog } from '../observability/decision-log';
import type { GatewayMetrics } from '../observability/metrics';
import type { Caller, GatewayState } from './call-context';
import { principalLabel } from './call-context';
import type { Admission, CallGuard, Refusal } from './call-guard';
import type { OnBehalfOf } from '../identity/on-behalf-of';
import { taskContext } from '../tasks/task';
import { consumeRefusal, usageAfter } from '../tasks/task-store';
import { Status } from '../relay/grpc-status';
import { ON_BEHALF_OF_HEADER } from './owned-headers';
import type { IncomingHttpHeaders } from 'node:http';
import type { McpRequestScope } from './mcp-request-scope';
import type { OpenTaskCalls } from './open-task-calls';
import type { Decision } from '../policy/authorization';
import { approvedUser } from '../approvals/approval-digest';
import { McpApprovals, type EscalatedToolCall, type McpApprovalsOptions } from './mcp-approvals';

/** A caller of the MCP relay: the relay's view (key, principal) and the listener's (peer), for one HTTP request. */
export interface McpGatewayCaller extends McpCaller {
  /** `context.peer`, as for gRPC calls on the same connection. */
  readonly peer: Caller['peer'];
  /** The request's headers (task token), and what its decisions gather (task slots, the JWT's scope). */
  readonly scope?: McpRequestScope;
}

/** A caller while one of its messages is decided: what the guard admitted that message with. */
interface AdmittedCaller extends McpGatewayCaller {
  readonly admission?: Admission;
}

/** The MCP method whose calls count against a task's budget and the agent's rate: tool calls (docs/tasks.md#mcp). */
const TOOL_CALL = 'tools/call';
/** The list whose answer depends on the request's task: it shows the tools a call under that task could use. */
const TOOLS_LIST = 'tools/list';

export interface McpDecisionsOptions {
  readonly log: DecisionLog;
  readonly metrics: GatewayMetrics;
  /**
   * The state in force, for a caller without a request scope and for the relay's own
   * refusals of a caller gone before a scope was made; a scoped request is decided with the
   * state its scope read when it arrived.
   */
  readonly state: () => GatewayState;
  readonly nextDecisionId: () => string;
  /** Task tokens, on-behalf-of tokens, the agent rate limit and task budgets, as for gRPC calls; none when absent. */
  readonly guard?: CallGuard;
  /** Open tool calls by task, cut when their task ends or expires. */
  readonly openTasks?: OpenTaskCalls;
  /** Where escalated tool calls' approval requests live, and how long they are held (`approvals`); without it an escalate is denied. */
  readonly approvals?: McpApprovalsOptions;
}

/**
 * The MCP side of the gateway's decisions: the relay's `decide` and `couldPermit` over the
 * live policy engine, and every MCP decision and refusal written as one record through the
 * one `DecisionLog` (with `protocol: 'mcp'`) and counted in the same metrics as gRPC calls.
 */
export class McpDecisions {
  /** Escalated tool calls held for and released by approval (docs/approvals.md, "MCP"); undefined: an escalate is denied. */
  private readonly approvals: McpApprovals | undefined;

  constructor(private readonly options: McpDecisionsOptions) {
    this.approvals = options.approvals && new McpApprovals(options.approvals);
  }

  /**
   * The relay's decider: a `tools/call` first through the call guard (the caller's task
   * token, budget, per-tool caps and concurrency, the agent's rate), then Cedar over the
   * engine in force, with `context.task`, `context.rate` and `context.onBehalfOf` as for a
   * gRPC call. Each decision and each refusal is recorded.
   */
  decider(): { decide: McpDecide; couldPermit: McpCouldPermit } {
    const { metrics } = this.options;
    // With `escalated`, an escalate is handed to it unrecorded (the call is then held for approval, each step recorded there).
    const onCedar = (state: GatewayState, escalated?: (decision: Decision) => void) =>
      cedarDecider(state.engine, {
        contextFor: (caller) => contextOf(caller),
        nextDecisionId: this.options.nextDecisionId,
        onDecision: (caller, request, decision, decisionId) => {
          if (decision.escalate !== undefined && escalated !== undefined) return escalated(decision);
          const admission = (caller as AdmittedCaller).admission;
          this.options.log.write({
            decisionId,
            protocol: 'mcp',
            caller: callerName(caller),
            principal: principalLabel(caller.principal),
            action: request.action,
            resource: request.resource,
            ...(request.requestDigest !== undefined && { requestDigest: request.requestDigest }),
            ...(admission?.task && { task: admission.task.id }),
            ...(userOf(caller) && { onBehalfOf: userOf(caller)!.subject }),
            decision: decision.allow ? 'allow' : 'deny',
            policies: decision.policies,
            errors: decision.errors,
            ...(decision.escalate && { reason: `approval required (${decision.policies.join(', ')}), but ${cannotHold(request, this.approvals)}` }),
            ...(decision.shadow && { shadow: decision.shadow }),
            evalUs: Math.round(decision.evaluationMicros),
            cached: decision.cached,
            policySet: state.policyHash,
          });
          metrics.decisionSeconds.observe(decision.evaluationMicros / 1e6);
          if (decision.allow) metrics.allowed.inc();
          else metrics.denied.inc();
        },
      });
    return {
      decide: (caller, request) => this.decide(caller as McpGatewayCaller, request, onCedar),
      couldPermit: (caller, action, resource, request) => this.couldPermit(caller as McpGatewayCaller, action, resource, request),
    };
  }

  /**
   * Whether a list answer shows an item (docs/mcp.md, "Discovery"): whether a request using
   * it, carrying the list request's headers, could be permitted. A tool call is asked with
   * what such a call would carry: under the request's task (read by `decide` for the list),
   * `context.task` as that call would leave it, and no chance at all for a tool outside the
   * task or past a spent budget or cap; with `limits.agentRate`, `context.rate` present but
   * unknown. Every request has the request's `context.onBehalfOf`.
   */
  private couldPermit(caller: McpGatewayCaller, action: string, resource: string, request: Parameters<McpCouldPermit>[3]): boolean {
    const context = contextOf(caller);
    const unknownContext: string[] = [];
    if (action.startsWith(`${mcpAction(resource, TOOL_CALL)}/`)) {
      const listed = caller.scope?.listedTask;
      if (listed !== undefined) {
        // The task's own refusals (the tool, the budget, a cap) hold whatever policy says; a full concurrency cap passes.
        if (consumeRefusal(listed.snapshot, action, listed.at, { concurrency: false }) !== undefined) return false;
        context.task = taskContext(listed.snapshot.task, listed.at, usageAfter(listed.snapshot, action));
      }
      if (this.options.guard?.limitsRate === true) unknownContext.push('rate');
    }
    const { engine } = this.stateOf(caller);
    return couldPermit(engine.set, { principal: caller.principal, action, resource, context, ...(request !== undefined && { request }), unknownContext }).possible;
  }

  private async decide(
    caller: McpGatewayCaller,
    request: McpDecisionRequest,
    onCedar: (state: GatewayState, escalated?: (decision: Decision) => void) => { decide: McpDecide },
  ): Promise<McpDecision> {
    const { guard } = this.options;
    const scope = caller.scope;
    let admission: Admission | undefined;
    if (request.method === TOOLS_LIST && guard !== undefined && scope !== undefined) {
      // The list is filtered by what a tool call with the same headers could do: its task, read once here.
      let listed: Awaited<ReturnType<CallGuard['task']>>;
      try {
        listed = await guard.task(scope.headers, caller.peer.spiffeId);
      } catch (err) {
        return this.refusal(caller, request, `guard failed: ${errorMessage(err)}`);
      }
      if (listed !== undefined && 'refused' in listed) {
        this.options.metrics.guardRefusals.labels(String(listed.code)).inc();
        return this.refusal(caller, request, listed.reason, listed.taskId);
      }
      scope.listedTask = listed;
    }
    if (request.method === TOOL_CALL && guard !== undefined) {
      // Without a scope the request's headers are unknown: a task token could not be read, so refuse rather than run the call outside its task.
      if (scope === undefined) return this.refusal(caller, request, 'no request scope to read a task token from');
      if (guard.applies(scope.headers)) {
        let admitted: Awaited<ReturnType<CallGuard['admit']>>;
        try {
          // The request's user was verified once for the whole request (McpRoutes): not again per call.
          admitted = await guard.admit(scope.headers, caller.peer.spiffeId, principalLabel(caller.principal), request.action, { user: { onBehalfOf: scope.onBehalfOf } });
        } catch (err) {
          // As for a gRPC call: recorded with its reason, never an unrecorded failed decision.
          return this.refusal(caller, request, `guard failed: ${errorMessage(err)}`);
        }
        if ('refused' in admitted) {
          this.options.metrics.guardRefusals.labels(String(admitted.code)).inc();
          return this.refusal(caller, request, admitted.reason, admitted.taskId);
        }
        admission = admitted;
      }
    }
    const admitted: AdmittedCaller = admission === undefined ? caller : { ...caller, admission };
    const task = admission?.task;
    let decision: McpDecision;
    let escalated: Decision | undefined;
    const holdable = this.approvals !== undefined && request.method === TOOL_CALL && request.approvalBytes !== undefined;
    // A held call keeps its task's slot, and is cut if its task ends meanwhile, as a running one is.
    let taskHeld = false;
    try {
      decision = await onCedar(this.stateOf(caller), holdable ? (d) => (escalated = d) : undefined).decide(admitted, request);
      if (escalated !== undefined) {
        if (scope !== undefined && task !== undefined) {
          this.holdTask(caller, scope, request, task, decision.decisionId);
          taskHeld = true;
        }
        decision = await this.approvals!.settle(this.escalatedCall(admitted, request, decision.decisionId, escalated));
      }
    } catch (err) {
      // Admitted but not decided: the task's slot is given back (the relay refuses the call).
      if (!taskHeld) task?.release();
      throw err;
    }
    if (!decision.allow) {
      // Counted against the budget, as a gRPC call denied by policy is; its slot is given back now (a held call's, when its request ends).
      if (!taskHeld) task?.release();
      return decision;
    }
    if (scope !== undefined) {
      if (task !== undefined && !taskHeld) this.holdTask(caller, scope, request, task, decision.decisionId);
    }
    return decision;
  }

  /** An escalated tool call as McpApprovals settles it: its facts, its request's headers and end, and how to record and re-decide it. */
  private escalatedCall(caller: AdmittedCaller, request: McpDecisionRequest, decisionId: string, decision: Decision): EscalatedToolCall {
    const { metrics, log } = this.options;
    const scope = caller.scope;
    const facts = {
      caller: callerName(caller),
      principal: principalLabel(caller.principal),
      action: request.action,
      upstream: request.resource,
      ...(caller.admission?.task && { task: caller.admission.task.id }),
    };
    return {
      ...facts,
      ...approvedUser(userOf(caller)),
      request: request.request,
      ...(caller.admission?.task?.context.intent !== undefined && { intent: caller.admission.task.context.intent }),
      decisionId,
      message: request.approvalBytes!(),
      escalate: decision.escalate!,
      decision,
      headers: scope?.headers ?? {},
      // Without a scope there is no request to hold, nor headers to read.
      holdable: request.inBatch !== true && scope !== undefined,
      onGone: (listener) => {
        scope?.onEnd(() => listener('the caller went away while its call was held for approval'));
        // Cut: its task ended or expired while the call was held (holdTask registered it).
        const cut = caller.cut;
        const onCut = () => listener('its task ended or expired while the call was held for approval');
        if (cut?.aborted === true) onCut();
        else cut?.addEventListener('abort', onCut, { once: true });
      },
      reevaluate: () => {
        const state = this.options.state();
        const again = state.engine.authorize({
          principal: caller.principal,
          action: request.action,
          resource: request.resource,
          context: { ...contextOf(caller), request: request.request },
        });
        return { decision: again, policySet: state.policyHash };
      },
      record: (fields) =>
        log.write({
          decisionId,
          protocol: 'mcp',
          caller: facts.caller,
          principal: facts.principal,
          action: facts.action,
          resource: facts.upstream,
          ...(facts.task !== undefined && { task: facts.task }),
          ...(fields.approval !== undefined && { approval: fields.approval }),
          ...(fields.by !== undefined && { by: fields.by }),
          ...(userOf(caller) && { onBehalfOf: userOf(caller)!.subject }),
          ...fields,
          policySet: fields.policySet ?? this.stateOf(caller).policyHash,
        }),
      count: (outcome) => {
        if (outcome === 'escalate') return metrics.escalated.inc();
        (outcome === 'allow' ? metrics.allowed : metrics.denied).inc();
      },
    };
  }

  /**
   * Holds the task's slot until the request ends, and cuts the answer if the task ends or
   * expires first (a tool call's SSE stream can outlive its task otherwise).
   */
  private holdTask(caller: McpGatewayCaller, scope: McpRequestScope, request: McpDecisionRequest, task: NonNullable<Admission['task']>, decisionId: string): void {
    scope.task = task;
    scope.onEnd(task.release);
    const openTasks = this.options.openTasks;
    if (openTasks === undefined) return;
    const untrack = openTasks.add(
      task.id,
      task.expiresAt,
      (reason) => {
        this.options.log.write({
          decisionId,
          protocol: 'mcp',
          caller: callerName(caller),
          principal: principalLabel(caller.principal),
          action: request.action,
          resource: request.resource,
          ...(request.requestDigest !== undefined && { requestDigest: request.requestDigest }),
          task: task.id,
          ...(scope.onBehalfOf && { onBehalfOf: scope.onBehalfOf.subject }),
          decision: 'cut',
          reason,
          policySet: this.stateOf(caller).policyHash,
        });
        this.options.metrics.taskEvents.labels('cut').inc();
        scope.cut(decisionId);
      },
      task.lease,
    );
    scope.onEnd(untrack);
  }

  /** A tool call the guard refused (task, budget, rate): recorded with its reason; the caller is told only the decision id. */
  private refusal(caller: McpGatewayCaller, request: McpDecisionRequest, reason: string, taskId?: string): McpDecision {
    const decisionId = this.options.nextDecisionId();
    this.options.log.write({
      decisionId,
      protocol: 'mcp',
      caller: callerName(caller),
      principal: principalLabel(caller.principal),
      action: request.action,
      resource: request.resource,
      ...(request.requestDigest !== undefined && { requestDigest: request.requestDigest }),
      ...(taskId !== undefined && { task: taskId }),
      ...(userOf(caller) && { onBehalfOf: userOf(caller)!.subject }),
      decision: 'deny',
      reason,
      policySet: this.stateOf(caller).policyHash,
    });
    this.options.metrics.denied.inc();
    return { allow: false, decisionId };
  }

  /** The state `caller`'s request is decided with: its scope's, read once when the request arrived. */
  private stateOf(caller: McpCaller): GatewayState {
    return (caller as Partial<McpGatewayCaller>).scope?.state ?? this.options.state();
  }

  /**
   * The user an MCP request acts for (`x-toolgate-on-behalf-of`), verified once per HTTP
   * request by the gRPC calls' own verifier: undefined without the header, a refusal for a
   * token that does not verify (or with no guard to verify it: fail closed).
   */
  async user(headers: IncomingHttpHeaders): Promise<{ onBehalfOf: OnBehalfOf | undefined } | Refusal> {
    const guard = this.options.guard;
    let user: { onBehalfOf: OnBehalfOf | undefined } | Refusal;
    if (guard !== undefined) user = await guard.user(headers);
    else if (headers[ON_BEHALF_OF_HEADER] === undefined) user = { onBehalfOf: undefined };
    else user = { refused: true, code: Status.UNAUTHENTICATED, reason: 'on-behalf-of token sent, but no onBehalfOf issuer is configured' };
    // Counted with the gRPC calls the guard refuses, by the status a gRPC call would have got.
    if ('refused' in user) this.options.metrics.guardRefusals.labels(String(user.code)).inc();
    return user;
  }

  /**
   * Records a request refused before any Cedar decision (an unmapped caller, no calls left
   * to the caller) and returns its decision id, the only thing the caller is told.
   */
  refuse(caller: string, facts: { principal?: string; resource: string; action: string; httpStatus: number; reason: string }, state: GatewayState = this.options.state()): string {
    const decisionId = this.options.nextDecisionId();
    this.options.log.write({
      decisionId,
      protocol: 'mcp',
      caller,
      ...(facts.principal !== undefined && { principal: facts.principal }),
      action: facts.action,
      resource: facts.resource,
      decision: 'deny',
      httpStatus: facts.httpStatus,
      reason: facts.reason,
      policySet: state.policyHash,
    });
    this.options.metrics.denied.inc();
    return decisionId;
  }

  /**
   * Records what the relay refused on its own (a body it would not parse, another caller's
   * session): a deny without Cedar, so that every refusal has its line. Policy denials are
   * recorded as they are decided, and upstream failures are not decisions.
   */
  relayEvent(event: McpRelayEvent): void {
    if (event.kind !== 'refused' && event.kind !== 'foreign-session') return;
    this.refuse(
      callerName(event.from),
      { resource: event.upstream, action: `mcp:${event.upstream}`, httpStatus: event.status, reason: `${event.kind}: HTTP ${event.status}: ${event.reason}` },
      this.stateOf(event.from),
    );
  }

  /**
   * Records an MCP request the token listener refused before any caller was known (no
   * token, one that proves nothing, no valid Host), as the gRPC calls it refuses are recorded
   * (`listener: "token"`, the token error's `code`), with the HTTP status the caller got.
   */
  refuseOnTokenListener(facts: { httpStatus: number; reason: string; code?: string }): string {
    const decisionId = this.options.nextDecisionId();
    this.options.log.write({
      decisionId,
      protocol: 'mcp',
      decision: 'deny',
      httpStatus: facts.httpStatus,
      reason: facts.reason,
      policySet: this.options.state().policyHash,
      listener: 'token',
      ...(facts.code !== undefined && { code: facts.code }),
    });
    this.options.metrics.denied.inc();
    return decisionId;
  }
}

/**
 * `context` of an MCP decision beside `request`: the connection's peer, as for gRPC (no
 * metadata is read from MCP requests), the request's on-behalf-of user, and what the guard
 * admitted a tool call with.
 */
function contextOf(caller: McpCaller): Record<string, CedarValue> {
  const { peer, admission } = caller as Partial<AdmittedCaller>;
  const context: Record<string, CedarValue> = peer === undefined ? {} : { peer, metadata: {} };
  if (admission?.task) context.task = admission.task.context;
  if (admission?.rate) context.rate = admission.rate;
  const user = userOf(caller);
  if (user) context.onBehalfOf = { issuer: user.issuer, subject: user.subject };
  return context;
}

/** Why an escalated MCP request is denied rather than held (docs/approvals.md, "MCP"). */
function cannotHold(request: McpDecisionRequest, approvals: McpApprovals | undefined): string {
  if (approvals === undefined) return 'approvals are not configured';
  return request.method === TOOL_CALL ? 'the call cannot be held for one' : 'only a tools/call can be held for one';
}

/**
 * The caller as every record names it, MCP or gRPC, on either listener: its SPIFFE ID (for an
 * OIDC workload token, the ID the token proved; never the session key `iss#sub`).
 */
function callerName(caller: McpCaller): string {
  return (caller as Partial<McpGatewayCaller>).peer?.spiffeId ?? caller.key;
}

/** The user the caller's request acts for, as McpRoutes verified it. */
function userOf(caller: McpCaller): OnBehalfOf | undefined {
  return (caller as Partial<McpGatewayCaller>).scope?.onBehalfOf;
}
