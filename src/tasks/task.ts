import { randomBytes } from 'node:crypto';
import { TaskError } from './task-errors';

/** Milliseconds since the epoch; passed in so that callers and tests control time. */
export type Clock = () => number;

/** Limits on a task's calls. An absent limit means none beyond the gateway's own. */
export interface TaskBudget {
  /** Total calls the task may make (each call, unary or streaming, counts once). */
  readonly calls?: number;
  /** Caps keyed by action id (`pkg.Service/Method`) or service name (`pkg.Service`, all its methods together). */
  readonly perMethod?: Readonly<Record<string, number>>;
  /** Calls of the task that may be in flight at once (open streams count until they close). */
  readonly maxConcurrent?: number;
}

/** A declared piece of work an agent may do, with which tools, until when, within what budget. */
export interface Task {
  /** Random, URL-safe; the token's `jti`. Not a secret: the token is. */
  readonly id: string;
  /** The SPIFFE ID that began the task; only a connection with this ID may use its token. */
  readonly ownerSpiffeId: string;
  readonly intent: string;
  /** Action ids (`pkg.Service/Method`) or service names (`pkg.Service`). */
  readonly tools: readonly string[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly budget: TaskBudget;
  /** Set once the task was ended; an ended task denies new calls. */
  readonly endedAt?: Date;
}

/** What a task has used so far. */
export interface TaskUsage {
  readonly callsUsed: number;
  /** Calls counted per `budget.perMethod` key. */
  readonly perMethod: Readonly<Record<string, number>>;
  /** Calls in flight now (acquired and not yet released); counted only for a task with `maxConcurrent`. */
  readonly inFlight: number;
}

/**
 * `callsRemaining` in `context.task` for a task without a total budget: the largest Long a
 * JavaScript number holds exactly, so that `context.task.callsRemaining < n` never denies
 * an unlimited task by accident.
 */
export const UNLIMITED_CALLS = Number.MAX_SAFE_INTEGER;

/** The Cedar `context.task` record. Every number is a Cedar `Long` (a whole number). */
export interface TaskContext {
  readonly id: string;
  readonly intent: string;
  readonly tools: readonly string[];
  /** Whole seconds since the task began. */
  readonly ageSeconds: number;
  /** Whole seconds until it expires; 0 once expired. */
  readonly remainingSeconds: number;
  readonly callsUsed: number;
  /** Calls left in the total budget; `UNLIMITED_CALLS` without one. */
  readonly callsRemaining: number;
  /** Calls counted per `budget.perMethod` key (an action id or a service), as a set of `{ key, value }` like proto maps. */
  readonly perMethod: readonly { readonly key: string; readonly value: number }[];
  /** Calls of the task in flight now, this one included; counted only for a task with `maxConcurrent` (else 0). */
  readonly inFlight: number;
  readonly [key: string]: string | number | readonly string[] | readonly { readonly key: string; readonly value: number }[];
}

/** `pkg.Service/Method`: a dotted service name, one slash, a method name. */
const ACTION_ID = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*\/[A-Za-z_]\w*$/;
/** `pkg.Service`. */
const SERVICE_NAME = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/;

/**
 * An MCP upstream's tool calls, as Cedar names them (docs/mcp.md): `mcp:<upstream>/tools/call`,
 * all its tools (in the place of a gRPC service), or `mcp:<upstream>/tools/call/<tool>`, one
 * tool (in the place of a method). The store's matching (the action, or the action less its
 * last `/` segment) then covers MCP tool calls unchanged. A tool name with another character
 * than the MCP spec's `[A-Za-z0-9_.-]` cannot be listed: a call of it under a task is refused.
 */
const MCP_TOOL_CALLS = /^mcp:[A-Za-z0-9][A-Za-z0-9._-]*\/tools\/call(\/[A-Za-z0-9_.-]{1,128})?$/;

/** True when `tool` is an action id or a service name, gRPC or MCP (`mcp:<upstream>/tools/call[/<tool>]`). */
export function isToolName(tool: string): boolean {
  return ACTION_ID.test(tool) || SERVICE_NAME.test(tool) || MCP_TOOL_CALLS.test(tool);
}

/**
 * Whether the task may call `action` (`pkg.Service/Method`): a tool listed as that action id
 * allows it, a tool listed as its service (`pkg.Service`) allows all the service's methods.
 * Says nothing about expiry, ending or budgets.
 */
export function taskAllows(task: Pick<Task, 'tools'>, action: string): boolean {
  const slash = action.lastIndexOf('/');
  if (slash <= 0 || slash === action.length - 1) return false;
  const service = action.slice(0, slash);
  return task.tools.some((tool) => tool === action || tool === service);
}

/** The `budget.perMethod` keys that count a call to `action` (its action id and its service). */
export function budgetKeysOf(budget: TaskBudget, action: string): string[] {
  const caps = budget.perMethod;
  if (caps === undefined) return [];
  const slash = action.lastIndexOf('/');
  const service = slash > 0 ? action.slice(0, slash) : undefined;
  return Object.keys(caps).filter((key) => key === action || key === service);
}

/** The Cedar `context.task` record of `task` at `now`, given its `usage`. */
export function taskContext(task: Omit<Task, 'ownerSpiffeId' | 'endedAt'>, now: Date, usage: TaskUsage): TaskContext {
  const nowMs = now.getTime();
  const calls = task.budget.calls;
  return {
    id: task.id,
    intent: task.intent,
    tools: [...task.tools],
    ageSeconds: Math.max(0, Math.floor((nowMs - task.createdAt.getTime()) / 1000)),
    remainingSeconds: Math.max(0, Math.floor((task.expiresAt.getTime() - nowMs) / 1000)),
    callsUsed: usage.callsUsed,
    callsRemaining: calls === undefined ? UNLIMITED_CALLS : Math.max(0, calls - usage.callsUsed),
    perMethod: Object.entries(usage.perMethod).map(([key, value]) => ({ key, value })),
    inFlight: usage.inFlight,
  };
}

/** A new random task id: 128 bits, base64url. */
export function newTaskId(): string {
  return randomBytes(16).toString('base64url');
}

/** What BeginTask asks for, before the gateway gives it an id and times. */
export interface TaskRequest {
  readonly ownerSpiffeId: string;
  readonly intent: string;
  readonly tools: readonly string[];
  readonly ttlSeconds: number;
  readonly budget?: TaskBudget;
}

/** At most this many tools per task: they travel in the token. */
export const MAX_TOOLS = 64;

/**
 * A new task from a request, checked: `ERR_TASK_TTL` for a TTL that is not a positive whole
 * number of seconds or exceeds `maxTtlSeconds`, `ERR_TASK_INVALID` for bad tools or budget.
 */
export function newTask(request: TaskRequest, now: Date, maxTtlSeconds: number, id: string = newTaskId()): Task {
  checkTtl(request.ttlSeconds, maxTtlSeconds);
  if (request.tools.length === 0) throw new TaskError('ERR_TASK_INVALID', 'a task needs at least one tool');
  if (request.tools.length > MAX_TOOLS) throw new TaskError('ERR_TASK_INVALID', `a task may name at most ${MAX_TOOLS} tools`);
  for (const tool of request.tools) {
    if (!isToolName(tool))
      throw new TaskError('ERR_TASK_INVALID', `tool ${JSON.stringify(tool)} is neither pkg.Service/Method, pkg.Service nor mcp:<upstream>/tools/call[/<tool>]`);
  }
  const budget = request.budget ?? {};
  checkBudget(budget);
  return {
    id,
    ownerSpiffeId: request.ownerSpiffeId,
    intent: request.intent,
    tools: [...new Set(request.tools)],
    createdAt: new Date(now.getTime()),
    // Whole seconds, as the token's `exp` is: token, store and stream cut-off agree exactly.
    expiresAt: new Date(Math.floor(now.getTime() / 1000 + request.ttlSeconds) * 1000),
    budget,
  };
}

/** Throws `ERR_TASK_TTL` unless `ttlSeconds` is a whole number in 1..maxTtlSeconds. */
export function checkTtl(ttlSeconds: number, maxTtlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new TaskError('ERR_TASK_TTL', `ttl_seconds must be a positive whole number, not ${ttlSeconds}`);
  }
  if (ttlSeconds > maxTtlSeconds) throw new TaskError('ERR_TASK_TTL', `ttl_seconds ${ttlSeconds} exceeds the cap of ${maxTtlSeconds}`);
}

function checkBudget(budget: TaskBudget): void {
  const limits: [string, number | undefined][] = [
    ['calls', budget.calls],
    ['max_concurrent', budget.maxConcurrent],
    ...Object.entries(budget.perMethod ?? {}).map(([key, cap]): [string, number] => [`per_method[${JSON.stringify(key)}]`, cap]),
  ];
  for (const [name, limit] of limits) {
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new TaskError('ERR_TASK_INVALID', `budget ${name} must be a whole number >= 0, not ${limit}`);
    }
  }
  for (const key of Object.keys(budget.perMethod ?? {})) {
    if (!isToolName(key))
      throw new TaskError('ERR_TASK_INVALID', `budget per_method key ${JSON.stringify(key)} is neither pkg.Service/Method, pkg.Service nor mcp:<upstream>/tools/call[/<tool>]`);
  }
}

/**
 * Open tasks (not ended, not expired) one SPIFFE ID may hold at once, by default. Each task is
 * a budget of its own, so without a cap an agent bounded per task by policy could open tasks
 * until the budgets add up to what no policy meant; and every task is state kept (in memory or
 * Redis) until it expires. 32 is far more than an agent working on a few things at once needs.
 */
export const DEFAULT_MAX_OPEN_PER_CALLER = 32;

/** A store's `maxOpenPerCaller`, checked: `ERR_TASK_INVALID` unless it is a positive whole number. */
export function checkedMaxOpen(maxOpenPerCaller: number | undefined): number {
  const max = maxOpenPerCaller ?? DEFAULT_MAX_OPEN_PER_CALLER;
  if (!Number.isSafeInteger(max) || max <= 0) throw new TaskError('ERR_TASK_INVALID', `maxOpenPerCaller must be a positive whole number, not ${max}`);
  return max;
}

/** The refusal of a task beyond its owner's `maxOpenPerCaller`. */
export function openLimitError(maxOpenPerCaller: number): TaskError {
  return new TaskError('ERR_TASK_OPEN_LIMIT', `the caller already has ${maxOpenPerCaller} open tasks (tasks.maxOpenPerCaller): end one first`);
}

/** A store's `maxTtlSeconds` in ms; throws `ERR_TASK_TTL` unless it is a positive whole number. */
export function maxTtlMsOf(maxTtlSeconds: number): number {
  if (!Number.isSafeInteger(maxTtlSeconds) || maxTtlSeconds <= 0) {
    throw new TaskError('ERR_TASK_TTL', `maxTtlSeconds must be a positive whole number, not ${maxTtlSeconds}`);
  }
  return maxTtlSeconds * 1000;
}

/** The task's lifetime in ms, checked against a store's cap: `ERR_TASK_TTL` when it is not positive or exceeds it. */
export function checkedLifetimeMs(task: Pick<Task, 'createdAt' | 'expiresAt'>, maxTtlMs: number): number {
  const lifetime = task.expiresAt.getTime() - task.createdAt.getTime();
  if (!(lifetime > 0)) throw new TaskError('ERR_TASK_TTL', 'a task must expire after it begins');
  if (lifetime > maxTtlMs) throw new TaskError('ERR_TASK_TTL', `task lifetime ${Math.ceil(lifetime / 1000)}s exceeds the cap of ${maxTtlMs / 1000}s`);
  return lifetime;
}
