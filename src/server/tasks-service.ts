import type * as protobuf from 'protobufjs';
import type { CedarValue } from '../identity/cedar-value';
import { findService, loadProtoRoot } from '../protos/proto-files';
import type { SigningKeys } from '../tasks/signing-keys';
import { newTask, type Clock, type Task, type TaskBudget, type TaskUsage } from '../tasks/task';
import { TaskError } from '../tasks/task-errors';
import type { TaskStore } from '../tasks/task-store';
import { mintTaskToken } from '../tasks/task-token';
import { TASKS_PROTO_PATH, TASKS_SERVICE } from '../tasks/tasks-api';

/** The Tasks service's messages, from the proto the clients use. */
export class TasksProto {
  readonly service: protobuf.Service;
  readonly beginRequest: protobuf.Type;
  readonly beginResponse: protobuf.Type;
  readonly taskIdRequest: protobuf.Type;
  readonly endResponse: protobuf.Type;
  readonly task: protobuf.Type;

  constructor() {
    const root = loadProtoRoot([TASKS_PROTO_PATH]);
    this.service = findService(root, TASKS_SERVICE)!;
    this.beginRequest = root.lookupType('toolgate.v1.BeginTaskRequest');
    this.beginResponse = root.lookupType('toolgate.v1.BeginTaskResponse');
    // EndTaskRequest and GetTaskRequest are both { string task_id = 1 }.
    this.taskIdRequest = root.lookupType('toolgate.v1.GetTaskRequest');
    this.endResponse = root.lookupType('toolgate.v1.EndTaskResponse');
    this.task = root.lookupType('toolgate.v1.Task');
  }
}

export interface TasksServiceOptions {
  readonly store: TaskStore;
  readonly keys: SigningKeys;
  readonly clock: Clock;
  /** The config's `tasks.maxTtlSeconds`. */
  readonly maxTtlSeconds: number;
}

/**
 * What `toolgate.v1.Tasks` does once the caller is authenticated and, for BeginTask,
 * policy has permitted the request: begin, end and show the caller's own tasks. A task of
 * another SPIFFE ID is "not found", never "not yours". Results are encoded messages.
 */
export class TasksService {
  readonly proto = new TasksProto();

  constructor(private readonly options: TasksServiceOptions) {}

  /** Begins a task for `owner` from the decoded request (`context.request` of the decision). */
  async begin(owner: string, request: Record<string, CedarValue>): Promise<{ task: Task; response: Uint8Array }> {
    const { store, keys, clock, maxTtlSeconds } = this.options;
    const task = newTask(
      {
        ownerSpiffeId: owner,
        intent: request.intent as string,
        tools: request.tools as string[],
        ttlSeconds: request.ttlSeconds as number,
        budget: budgetOf(request.budget as Record<string, CedarValue> | undefined),
      },
      new Date(clock()),
      maxTtlSeconds,
    );
    await store.begin(task);
    const token = await mintTaskToken(keys, task);
    const response = { task_id: task.id, token, expires_at: timestamp(task.expiresAt) };
    return { task, response: encode(this.proto.beginResponse, response) };
  }

  /** Ends a task of `owner`'s (its open streams are cut through the store's `onEnded`). */
  async end(owner: string, taskId: string): Promise<Uint8Array> {
    await this.owned(owner, taskId);
    await this.options.store.end(taskId, new Date(this.options.clock()));
    return encode(this.proto.endResponse, {});
  }

  /** A task of `owner`'s, with its usage. */
  async get(owner: string, taskId: string): Promise<Uint8Array> {
    const { task, usage } = await this.owned(owner, taskId);
    return encode(this.proto.task, taskMessage(task, usage));
  }

  /** The task's id from an EndTask or GetTask request message. */
  taskIdOf(message: Uint8Array): string {
    try {
      const { task_id } = this.proto.taskIdRequest.decode(message) as unknown as { task_id: string };
      return task_id;
    } catch (cause) {
      throw new TaskError('ERR_TASK_INVALID', 'malformed request message', { cause });
    }
  }

  private async owned(owner: string, taskId: string) {
    const snapshot = taskId === '' ? undefined : await this.options.store.get(taskId);
    if (snapshot === undefined || snapshot.task.ownerSpiffeId !== owner) throw new TaskError('ERR_TASK_NOT_FOUND', 'no such task');
    return snapshot;
  }
}

/**
 * The proto budget (0 = no limit) as the task model's (absent = no limit). Only 0 means
 * "no limit": any other value, a negative one included, is kept for `newTask` to check, so
 * that -1 is refused (INVALID_ARGUMENT) and never read as unlimited past a policy that
 * bounded the budget from above only.
 */
function budgetOf(budget: Record<string, CedarValue> | undefined): TaskBudget {
  if (budget === undefined) return {};
  const calls = budget.calls as number;
  const maxConcurrent = budget.maxConcurrent as number;
  const entries = (budget.perMethod as { key: string; value: number }[]).map(({ key, value }) => [key, value] as const);
  return {
    ...(calls !== 0 && { calls }),
    ...(maxConcurrent !== 0 && { maxConcurrent }),
    ...(entries.length > 0 && { perMethod: Object.fromEntries(entries) }),
  };
}

function taskMessage(task: Task, usage: TaskUsage): Record<string, unknown> {
  const calls = task.budget.calls;
  return {
    task_id: task.id,
    intent: task.intent,
    tools: [...task.tools],
    created_at: timestamp(task.createdAt),
    expires_at: timestamp(task.expiresAt),
    calls_used: usage.callsUsed,
    calls_remaining: calls === undefined ? -1 : Math.max(0, calls - usage.callsUsed),
    ended: task.endedAt !== undefined,
    owner_spiffe_id: task.ownerSpiffeId,
  };
}

function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function encode(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}
