import { VerifiedTokenCache } from '../identity/verified-token-cache';
import type { SigningKeys } from './signing-keys';
import type { Clock } from './task';
import { TaskError } from './task-errors';
import { checkPresenter, verifyTaskTokenClaims, type TaskTokenClaims } from './task-token';

const DEFAULT_CAPACITY = 10_000;

/**
 * Task-token verification with the verified-token cache the workload tokens use, so that a
 * task's every call after its first costs a map lookup instead of an ECDSA verification. The
 * cache holds what a token says whoever presents it; the presenter's SPIFFE ID and the
 * expiry (without the verification leeway) are checked on every call. Whether the task still
 * runs (ended, budget) is the store's answer, never the cache's.
 */
export class TaskTokenVerifier {
  readonly #verified: VerifiedTokenCache<TaskTokenClaims>;

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.#verified = new VerifiedTokenCache(capacity, clock);
  }

  /** The token's claims, if it verifies and was issued to `presenterSpiffeId`; else a `TaskError`. */
  async verify(token: string, presenterSpiffeId: string): Promise<TaskTokenClaims> {
    const claims = await this.#verified.get(token, async () => {
      const value = await verifyTaskTokenClaims(this.keys, token, this.clock);
      return { value, expiresAt: value.expiresAt };
    });
    if (this.clock() >= claims.expiresAt.getTime()) throw new TaskError('ERR_TASK_EXPIRED', 'task token refused: it has expired');
    return checkPresenter(claims, presenterSpiffeId);
  }
}
