import { createHash } from 'node:crypto';
import { preparsePolicySet } from './cedar';
import type { LoadedPolicy } from './policy-file';
import type { PolicySet } from './policy-set';

/**
 * Preparsed sub-sets ("slices") of one PolicySet: the policies PolicyIndex selects for a
 * request, parsed into cedar-wasm's store so that `statefulIsAuthorized` can evaluate just
 * them. Slices are built on first use and kept for the life of the engine.
 *
 * cedar-wasm 4.13 cannot drop a preparsed set, so what bounds memory is how slices are
 * named and how many are made:
 * - A slice is named by its content (its policies' ids and texts), never by the request
 *   that needed it: every principal and action that selects the same policies shares one
 *   slice, and an engine built on a reloaded set finds the slices whose policies did not
 *   change already parsed (`resident`) instead of parsing copies.
 * - Each engine holds at most `budget` policies in slices (a slice counts at least 1: even an
 *   empty one costs an entry); ~5 KB of wasm memory per policy, measured. Past the budget a
 *   new selection is evaluated against the whole set instead: the same decision, just at
 *   the unindexed cost. Slices of more than half the set are not made either: they would
 *   save little time for their memory.
 */
export class PolicySlices {
  /** Content (the selected positions) → id in cedar-wasm's store. */
  private readonly made = new Map<string, string>();
  private held = 0;
  private overBudget = 0;

  constructor(
    private readonly set: PolicySet,
    private readonly budget: number,
  ) {}

  /** The cedar-wasm id of a preparsed set of exactly the policies at `positions` (ascending), or of the whole set. */
  idFor(positions: readonly number[]): string {
    if (positions.length * 2 > this.set.size) return this.set.cedarId;
    const key = positions.join(',');
    const made = this.made.get(key);
    if (made !== undefined) return made;
    const cost = Math.max(1, positions.length);
    if (this.held + cost > this.budget) {
      this.overBudget++;
      return this.set.cedarId;
    }
    const id = preparse(positions.map((p) => this.set.policies[p] as LoadedPolicy));
    if (id === undefined) return this.set.cedarId;
    this.held += cost;
    this.made.set(key, id);
    return id;
  }

  /**
   * Slices made, the policies they hold, and how many selections were sent to the whole set
   * because the budget was spent: when that grows, decisions are running at unindexed cost.
   */
  get stats(): SliceStats {
    return { slices: this.made.size, policies: this.held, overBudget: this.overBudget };
  }
}

export interface SliceStats {
  readonly slices: number;
  readonly policies: number;
  readonly overBudget: number;
}

/**
 * Slice ids already in this thread's cedar-wasm store. Module state, like that store: a
 * worker thread has its own of both.
 */
const resident = new Set<string>();

/** The slice's id, preparsing it unless already resident; undefined if Cedar refuses it. */
function preparse(policies: readonly LoadedPolicy[]): string | undefined {
  const hash = createHash('sha256');
  // NUL separators, as in the set's own hash: no boundary can move without changing the digest.
  for (const policy of policies) hash.update(`${policy.id}\0${policy.text}\0`);
  const id = `toolgate:slice:${hash.digest('hex')}`;
  if (resident.has(id)) return id;
  // Each policy parsed already as part of the whole set, so a refusal is not expected; the
  // caller then evaluates the whole set, which is always correct.
  const answer = preparsePolicySet(id, { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) });
  if (answer.type === 'failure') return undefined;
  resident.add(id);
  return id;
}
