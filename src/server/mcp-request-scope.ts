import type { IncomingHttpHeaders } from 'node:http';
import type { OnBehalfOf } from '../identity/on-behalf-of';
import type { GatewayState } from './call-context';
import type { AdmittedTask, ListedTask } from './call-guard';

/**
 * What one HTTP request to the MCP relay gathers while its messages are decided, for what the
 * gateway then sends upstream (the per-call JWT) and undoes when the request ends (a task's
 * concurrency slot, its registration for cutting). Made by the routes per request, dropped
 * with it.
 */
export class McpRequestScope {
  /** The task the request's tool calls were admitted under (one task token per request). */
  task: AdmittedTask | undefined;
  /** The task a `tools/list` of the request named by its task token, for filtering the answer (read, not counted). */
  listedTask: ListedTask | undefined;
  /** The user the request acts for (`x-toolgate-on-behalf-of`), verified by McpRoutes before the relay sees the request. */
  onBehalfOf: OnBehalfOf | undefined;
  readonly #cleanups: (() => void)[] = [];
  #ended = false;

  constructor(
    /** The caller's request headers: the task and on-behalf-of tokens are read from them. */
    readonly headers: IncomingHttpHeaders,
    /** Cuts the request (its task ended or expired while its tool call runs): the caller is answered `decisionId`. */
    readonly cut: (decisionId: string) => void,
    /**
     * The identities and policies the whole request is decided with, read once when it
     * arrived: a reload meanwhile applies to the next request, never to half of this one.
     */
    readonly state?: GatewayState,
  ) {}

  /**
   * Runs `cleanup` when the request ends, or now if it has ended already (the caller went
   * while a decision was awaited: a slot taken then must not leak).
   */
  onEnd(cleanup: () => void): void {
    if (this.#ended) cleanup();
    else this.#cleanups.push(cleanup);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The request is over (answered, or the caller gone): runs every cleanup once. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}
