import { errorMessage } from '../errors/unknown-error';
import type { GatewayMetrics } from '../observability/metrics';
import type { Trace } from '../observability/trace';
import type { CedarValue } from '../identity/cedar-value';
import { decodeRequest } from '../relay/proto-json';
import { endWithStatus, Status, type StatusCode } from '../relay/grpc-status';
import { TaskError, type TaskErrorCode } from '../tasks/task-errors';
import { BEGIN_TASK, END_TASK, GET_TASK } from '../tasks/tasks-api';
import type { IdentifiedCall } from './call-context';
import type { CallDecisions } from './call-decisions';
import type { CallGuard } from './call-guard';
import type { TasksService } from './tasks-service';
import { readUnaryRequest, respondUnary } from './unary-call';

export interface TasksHandlerOptions {
  readonly service: TasksService;
  /** On-behalf-of tokens and rate limits apply to the Tasks service too (a task token does not). */
  readonly guard: CallGuard;
  readonly decisions: CallDecisions;
  readonly metrics: GatewayMetrics;
  readonly maxMessageBytes: number;
  /** The `tasks` trace. */
  readonly trace: Trace;
}

/**
 * `toolgate.v1.Tasks` on the gateway's own listener, for a call the pipeline has
 * authenticated, mapped and counted against its caller. BeginTask is a Cedar decision on
 * `Tool::"toolgate"` with the request in `context.request`; EndTask and GetTask need no
 * policy: a caller may always end or read its own tasks, and only its own.
 */
export class TasksHandler {
  constructor(private readonly options: TasksHandlerOptions) {}

  handle(call: IdentifiedCall): void {
    const { action, decisionId } = call;
    const { decisions } = this.options;
    if (action !== BEGIN_TASK && action !== END_TASK && action !== GET_TASK) {
      decisions.deny(call, Status.UNIMPLEMENTED, 'no such method');
      return;
    }
    this.serve(call).catch((err: Error) => {
      const code = err instanceof TaskError ? TASK_ERROR_STATUS[err.code] : Status.UNAVAILABLE;
      const reason = err instanceof TaskError ? `${err.code}: ${err.message}` : `task store unavailable: ${err.message}`;
      this.options.trace?.debug({ decisionId, action, code, reason }, 'tasks request failed');
      decisions.refuse(call, { refused: true, code, reason });
    });
  }

  private async serve(call: IdentifiedCall): Promise<void> {
    const { service, guard, decisions, metrics, trace } = this.options;
    const { stream, headers, action, decisionId } = call;
    const owner = call.caller.peer.spiffeId;
    if (guard.applies(headers)) {
      const admission = await guard.admit(headers, owner, call.principalLabel, action, { countsTask: false });
      if ('refused' in admission) return decisions.refuse(call, admission);
      call.admission = admission;
    }
    const message = await readUnaryRequest(stream, this.options.maxMessageBytes).catch((err: Error) => {
      decisions.refuse(call, { refused: true, code: Status.INTERNAL, reason: err.message });
      return undefined;
    });
    if (message === undefined) return;
    trace?.debug({ decisionId, action, bytes: message.length }, 'tasks request read');
    if (action === BEGIN_TASK) {
      let request: Record<string, CedarValue>;
      try {
        request = decodeRequest(service.proto.beginRequest, message);
      } catch (err) {
        const denial = decisions.decide(call, decisionId, { reason: errorMessage(err) })!;
        return endWithStatus(stream, denial.code, denial.message);
      }
      const denial = decisions.decide(call, decisionId, { request });
      if (denial) return endWithStatus(stream, denial.code, denial.message);
      const { task, response } = await service.begin(owner, request);
      decisions.record(call, { task: task.id, event: 'task begun', expiresAt: task.expiresAt.toISOString() });
      metrics.taskEvents.labels('begun').inc();
      trace?.debug({ decisionId, task: task.id, expiresAt: task.expiresAt.toISOString() }, 'task begun');
      return respondUnary(stream, response);
    }
    const taskId = service.taskIdOf(message);
    const response = action === END_TASK ? await service.end(owner, taskId) : await service.get(owner, taskId);
    decisions.record(call, { task: taskId, decision: 'allow', reason: 'own task' });
    if (action === END_TASK) metrics.taskEvents.labels('ended').inc();
    trace?.debug({ decisionId, action, task: taskId }, 'tasks request answered');
    respondUnary(stream, response);
  }
}

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
