import type { IncomingHttpHeaders } from 'node:http2';
import type { OnBehalfOf } from '../identity/on-behalf-of';
import type { RateLimiter } from '../limits/rate-limiter';
import { Status, type StatusCode } from '../relay/grpc-status';
import { taskContext, type Clock, type TaskContext } from '../tasks/task';
import { consumeRefusalError, type ConsumeRefusal, type TaskSnapshot, type TaskStore } from '../tasks/task-store';
import type { TaskTokenClaims } from '../tasks/task-token';
import type { TaskTokenVerifier } from '../tasks/task-token-verifier';
import { ON_BEHALF_OF_HEADER, TASK_HEADER } from './owned-headers';
import { errorMessage } from '../errors/unknown-error';

/** Verifies on-behalf-of user tokens (one configured OIDC issuer). */
export interface OnBehalfOfVerifier {
  verify(token: string): Promise<OnBehalfOf>;
}

/** A call admitted with a task: counted against it, holding one of its concurrency slots. */
export interface AdmittedTask {
  readonly id: string;
  readonly expiresAt: Date;
  /** `context.task`, usage counted with this call. */
  readonly context: TaskContext;
  /** Frees the call's concurrency slot; call once, when the call ends. */
  readonly release: () => void;
  /** The slot's lease, for a task with a concurrency cap: renewed while the call runs. */
  readonly lease?: string;
}

/** What a call brings to its decision beyond who calls what. */
export interface Admission {
  readonly task?: AdmittedTask;
  /** `context.rate`: whole tokens left in the agent's bucket after this call. */
  readonly rate?: { readonly remaining: number };
  readonly onBehalfOf?: OnBehalfOf;
}

/** A task as a request's token names it, read from the store without counting (`CallGuard.task`). */
export interface ListedTask {
  readonly id: string;
  readonly snapshot: TaskSnapshot;
  /** When it was read: `context.task`'s ages and the expiry check are as of then. */
  readonly at: Date;
}

/** How `admit` reads a call's headers. */
export interface AdmitOptions {
  /** False for the gateway's own Tasks service: a task token is not consulted. Default true. */
  readonly countsTask?: boolean;
  /** The request's user, already verified by `user()` (MCP reads it once per HTTP request). */
  readonly user?: { readonly onBehalfOf: OnBehalfOf | undefined };
}

/** A call refused before policy: the status the caller sees, and the reason for the log. */
export interface Refusal {
  readonly refused: true;
  readonly code: StatusCode;
  readonly reason: string;
  /** The task the call named, when the refusal is about it. */
  readonly taskId?: string;
}

export interface CallGuardOptions {
  readonly store: TaskStore;
  readonly tokens: TaskTokenVerifier;
  readonly rateLimiter?: RateLimiter;
  readonly onBehalfOf?: OnBehalfOfVerifier;
  readonly clock: Clock;
  /** Store failures (Redis down) are logged by the caller; this is only for released leases. */
  readonly onReleaseError?: (err: Error) => void;
}

/**
 * What is checked before policy, in order: the on-behalf-of user token, the task token
 * (bound to the caller's SPIFFE ID), the agent's rate limit, and the task's state and
 * budget, counted atomically in the store. Any failure refuses the call (fail closed):
 * budgets and rates with RESOURCE_EXHAUSTED, a bad user token with UNAUTHENTICATED, the
 * store unreachable with UNAVAILABLE, anything else about the task with PERMISSION_DENIED.
 */
export class CallGuard {
  constructor(private readonly options: CallGuardOptions) {}

  /** Whether `admit` has anything to do for a call with these headers; when not, the call stays synchronous. */
  applies(headers: IncomingHttpHeaders): boolean {
    return this.options.rateLimiter !== undefined || headers[TASK_HEADER] !== undefined || headers[ON_BEHALF_OF_HEADER] !== undefined;
  }

  /**
   * The user a request acts for: its on-behalf-of token verified (undefined without one), or
   * a refusal (UNAUTHENTICATED) for a token that does not verify or that nothing is configured
   * to verify. The first step of `admit`; MCP takes it once per HTTP request.
   */
  async user(headers: IncomingHttpHeaders): Promise<{ onBehalfOf: OnBehalfOf | undefined } | Refusal> {
    const userToken = single(headers[ON_BEHALF_OF_HEADER]);
    if (userToken === undefined) return { onBehalfOf: undefined };
    const verifier = this.options.onBehalfOf;
    if (verifier === undefined) return refuse(Status.UNAUTHENTICATED, 'on-behalf-of token sent, but no onBehalfOf issuer is configured');
    try {
      return { onBehalfOf: await verifier.verify(userToken) };
    } catch (err) {
      return refuse(Status.UNAUTHENTICATED, `on-behalf-of token refused: ${errorMessage(err)}`);
    }
  }

  /**
   * Admits a call of `action` by `callerSpiffeId` (rate-limited per `agentKey`), or refuses it.
   * With `countsTask` false (the gateway's own Tasks service) a task token is not consulted;
   * with `user`, the request's user as `user()` verified it already (not verified again).
   */
  async admit(headers: IncomingHttpHeaders, callerSpiffeId: string, agentKey: string, action: string, options: AdmitOptions = {}): Promise<Admission | Refusal> {
    const { tokens, rateLimiter, clock } = this.options;
    const admission: { task?: AdmittedTask; rate?: { remaining: number }; onBehalfOf?: OnBehalfOf } = {};

    const user = options.user ?? (await this.user(headers));
    if ('refused' in user) return user;
    if (user.onBehalfOf !== undefined) admission.onBehalfOf = user.onBehalfOf;

    const taskToken = options.countsTask === false ? undefined : single(headers[TASK_HEADER]);
    let claims: TaskTokenClaims | undefined;
    if (taskToken !== undefined) {
      try {
        claims = await tokens.verify(taskToken, callerSpiffeId);
      } catch (err) {
        return refuse(Status.PERMISSION_DENIED, errorMessage(err));
      }
    }

    const taskId = claims?.taskId;
    if (rateLimiter !== undefined) {
      let result;
      try {
        result = await rateLimiter.take(agentKey, new Date(clock()));
      } catch (err) {
        return refuse(Status.UNAVAILABLE, `rate limiter unavailable: ${errorMessage(err)}`, taskId);
      }
      if (!result.ok) return refuse(Status.RESOURCE_EXHAUSTED, `rate limit of ${agentKey} exceeded`, taskId);
      admission.rate = { remaining: result.remaining };
    }

    if (claims !== undefined) {
      const task = await this.consume(claims, action);
      if ('refused' in task) return task;
      admission.task = task;
    }
    return admission;
  }

  /** Whether calls get `context.rate` (`limits.agentRate` is configured). */
  get limitsRate(): boolean {
    return this.options.rateLimiter !== undefined;
  }

  /**
   * The task a request's task token names, as the store has it now, without counting
   * anything (discovery under a task: which tool calls the task could let through):
   * undefined without a token; refused as a call would be for a token that does not verify
   * or is not the caller's (PERMISSION_DENIED), a task unknown, ended or expired
   * (PERMISSION_DENIED), or the store unreachable (UNAVAILABLE).
   */
  async task(headers: IncomingHttpHeaders, callerSpiffeId: string): Promise<ListedTask | undefined | Refusal> {
    const taskToken = single(headers[TASK_HEADER]);
    if (taskToken === undefined) return undefined;
    let claims: TaskTokenClaims;
    try {
      claims = await this.options.tokens.verify(taskToken, callerSpiffeId);
    } catch (err) {
      return refuse(Status.PERMISSION_DENIED, errorMessage(err));
    }
    const id = claims.taskId;
    const now = new Date(this.options.clock());
    let snapshot: TaskSnapshot | undefined;
    try {
      snapshot = await this.options.store.get(id);
    } catch (err) {
      return refuse(Status.UNAVAILABLE, `task store unavailable: ${errorMessage(err)}`, id);
    }
    // As `consume` refuses any call of a task unknown, ended or expired (whatever its tool and budget).
    const gone: ConsumeRefusal | undefined =
      snapshot === undefined ? 'not-found' : snapshot.task.endedAt !== undefined ? 'ended' : now.getTime() >= snapshot.task.expiresAt.getTime() ? 'expired' : undefined;
    if (gone !== undefined) return refuse(Status.PERMISSION_DENIED, consumeRefusalError({ ok: false, reason: gone }).message, id);
    return { id, snapshot: snapshot!, at: now };
  }

  /** Counts the call against the task in the store; `context.task` comes from the verified token and the new usage. */
  private async consume(claims: TaskTokenClaims, action: string): Promise<AdmittedTask | Refusal> {
    const { store, clock } = this.options;
    const id = claims.taskId;
    const now = new Date(clock());
    let result;
    try {
      result = await store.consume(id, action, now);
    } catch (err) {
      return refuse(Status.UNAVAILABLE, `task store unavailable: ${errorMessage(err)}`, id);
    }
    if (!result.ok) {
      const error = consumeRefusalError(result);
      return refuse(error.code === 'ERR_TASK_BUDGET' ? Status.RESOURCE_EXHAUSTED : Status.PERMISSION_DENIED, error.message, id);
    }
    const lease = result.lease;
    const release = lease === undefined ? NOTHING_TO_RELEASE : () => void store.release(id, lease).catch((err: Error) => this.options.onReleaseError?.(err));
    const task = {
      id,
      intent: claims.intent ?? '',
      tools: claims.tools,
      createdAt: claims.issuedAt,
      expiresAt: claims.expiresAt,
      budget: claims.callBudget === undefined ? {} : { calls: claims.callBudget },
    };
    return { id, expiresAt: claims.expiresAt, context: taskContext(task, now, result.usage), release, ...(lease !== undefined && { lease }) };
  }
}

const NOTHING_TO_RELEASE = () => {};

function refuse(code: StatusCode, reason: string, taskId?: string): Refusal {
  return { refused: true, code, reason, ...(taskId !== undefined && { taskId }) };
}

/** A token header's value; when a caller repeats the header, the first value is the one checked (and must verify). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
