import { LruCache } from '../policy/lru-cache';
import type { SigningKeys } from './signing-keys';
import type { Clock } from './task';
import { TaskError } from './task-errors';
import { verifyTaskToken, type TaskTokenClaims } from './task-token';

const DEFAULT_CAPACITY = 10_000;

/**
 * Task-token verification with a cache of verified tokens, so that a task's every call
 * after its first costs a map lookup instead of an ECDSA verification. A cached token is
 * still checked on each call against the presenter's SPIFFE ID and its expiry; whether the
 * task still runs (ended, budget) is the store's answer, never the cache's.
 */
export class TaskTokenVerifier {
  readonly #verified: LruCache<TaskTokenClaims>;

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.#verified = new LruCache(capacity);
  }

  /** The token's claims, if it verifies and was issued to `presenterSpiffeId`; else a `TaskError`. */
  async verify(token: string, presenterSpiffeId: string): Promise<TaskTokenClaims> {
    const cached = this.#verified.get(token);
    if (cached === undefined) {
      const claims = await verifyTaskToken(this.keys, token, presenterSpiffeId, this.clock);
      this.#verified.set(token, claims);
      return claims;
    }
    if (cached.ownerSpiffeId !== presenterSpiffeId) throw new TaskError('ERR_TASK_TOKEN', 'task token refused: it was issued to another SPIFFE ID');
    if (this.clock() >= cached.expiresAt.getTime()) throw new TaskError('ERR_TASK_EXPIRED', 'task token refused: it has expired');
    return cached;
  }
}
