import { LRUCache } from 'lru-cache';
import { approvalRequired } from './approval-annotations';
import type { AttributeUsage } from './attribute-usage';
import type { AuthorizationRequest, Decision, Explanation } from './authorization';
import { statefulIsAuthorized, type AuthorizationAnswer, type EntityJson, type StatefulAuthorizationCall } from './cedar';
import { MAX_ATTRS_DEPTH, MAX_CONTEXT_DEPTH, unreadableByCedar, wellFormed } from './cedar-input';
import { actionEntity, contextToSend, principalEntity } from './entities';
import { FastPath, type CompiledSlice } from './fast-path';
import { PolicyIndex } from './policy-index';
import type { PolicySet } from './policy-set';
import { PolicySlices, type SliceStats } from './policy-slices';
import type { Principal } from '../identity/principal';
import { errorMessage } from '../errors/unknown-error';

export interface PolicyEngineOptions {
  /** Most decisions remembered; 0 turns the decision cache off. Default 10 000. */
  cacheSize?: number;
  /** Most memory the decision cache's keys may take, in bytes (counted as below); default 8 MiB. */
  cacheBytes?: number;
  /** A monotonic clock in milliseconds, for `evaluationMicros`. Default `performance.now`. */
  now?: () => number;
  /**
   * Evaluate each call against only the policies whose principal and action scopes can match
   * it (policy-index.ts); decisions are the same either way. Default true: it measured no
   * slower even at 10 policies (bench/policy-scale.bench.js), since a skipped policy saves
   * more than the lookup costs; `false` is for comparing against unindexed evaluation.
   */
  index?: boolean;
  /**
   * Most policies the index keeps in preparsed slices (policy-slices.ts), ~5 KB of wasm memory
   * each; calls it cannot slice within the budget are evaluated against the whole set.
   * Default 20 000.
   */
  sliceBudget?: number;
  /**
   * Decide in JS, without cedar-wasm, whenever every policy that can apply is in the compiled
   * subset and no policy errors (fast-path.ts, docs/policies.md "Fast path"); else ask
   * cedar-wasm as usual. Default false.
   */
  fastPath?: boolean;
  /** One fast decision in this many is also evaluated by cedar-wasm and compared (the shadow check); 0 never. Default 1000. */
  fastPathCheckEvery?: number;
  /** Called when the shadow check finds the fast path and cedar-wasm disagree; cedar-wasm's verdict is the one used. */
  onFastPathDisagreement?: (disagreement: FastPathDisagreement) => void;
  /** Counts the decisions evaluated (cache misses) by what decided them; one object can be shared by the engines of successive policy sets. */
  evaluations?: EvaluationCounts;
}

/** A fast decision that cedar-wasm, asked the same, decided otherwise. */
export interface FastPathDisagreement {
  readonly request: AuthorizationRequest;
  readonly fast: Pick<Decision, 'allow' | 'policies' | 'errors' | 'escalate'>;
  readonly cedar: Pick<Decision, 'allow' | 'policies' | 'errors' | 'escalate'>;
}

/** Decisions evaluated rather than taken from the cache, by what decided them (the fast path's sampled checks count once, as fast). */
export interface EvaluationCounts {
  fastPath: number;
  cedarWasm: number;
}

/** What the fast path did since the engine was built. */
export interface FastPathStats {
  /** Policies of the set in the compiled subset. */
  readonly compiledPolicies: number;
  /** Decisions the fast path answered (cache misses only). */
  readonly answered: number;
  /** Decisions left to cedar-wasm: a slice outside the subset, a value it cannot read exactly, or an error. */
  readonly leftToCedar: number;
  readonly checked: number;
  readonly disagreements: number;
}

const DEFAULT_CACHE_SIZE = 10_000;
/** Keys longer than this (a large context, e.g. a decoded payload) are not cached. */
const MAX_KEY_LENGTH = 4096;
/**
 * The cache's memory bound. Without it, callers varying 4 KB arguments would fill 10 000
 * entries with ~80 MB of keys (two bytes a character for non-Latin-1 text); 8 MiB still holds
 * the 10 000 of the bench's ~300-character keys.
 */
const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;
/** What an entry costs besides its key, roughly (lru-cache's slots, the verdict), for the bound above. */
const CACHE_ENTRY_OVERHEAD_BYTES = 200;
/** Action entities kept; actions come from the route table, so this only guards against misuse. */
const MAX_ACTIONS = 10_000;
const DEFAULT_SLICE_BUDGET = 20_000;
const DEFAULT_FAST_PATH_CHECK_EVERY = 1000;

/** The part of a decision that is a function of the Cedar input, and so can be reused. */
type Verdict = Pick<Decision, 'allow' | 'policies' | 'errors' | 'escalate'>;

/** What the engine keeps per Principal object (immutable, so all of it stays valid). */
interface PreparedPrincipal {
  entity: EntityJson;
  /** The entity's JSON: the principal's part of the cache key. */
  key: string;
  /** Why cedar-wasm cannot read the entity (cedar-input.ts), if it cannot. */
  unreadable: string | undefined;
  /** Action → the preparsed set to evaluate its calls against (and its compiled slice), when indexing. */
  policySets: Map<string, Selection>;
}

interface Prepared {
  call: StatefulAuthorizationCall;
  /** The context as sent (`call.context`, typed as the caller's values). */
  context: AuthorizationRequest['context'];
  principal: PreparedPrincipal;
  action: { name: string; entity: EntityJson };
  resource: string;
}

/** The policies a call is evaluated against: their preparsed set in cedar-wasm, and their compiled form when all compiled. */
interface Selection {
  readonly id: string;
  readonly compiled: CompiledSlice | undefined;
}

interface Evaluated {
  verdict: Verdict;
  answer: AuthorizationAnswer | undefined;
}

/**
 * Decides calls against one PolicySet with `statefulIsAuthorized` on the set's preparsed
 * policies. Default deny, and fail closed: an exception from cedar-wasm, a `failure` answer,
 * or any policy evaluation error denies. (Cedar skips a policy that errors, so an erroring
 * forbid would otherwise let a permit through.) `authorize` never throws.
 *
 * The gateway calls this on every RPC, and most of a decision's cost is marshalling the
 * request between JS and wasm, so the engine marshals as little as it can:
 * - per Principal object (a WeakMap), the principal entity is built and stringified once;
 *   per action string, the action entity; attributes no policy reads are left out
 *   (attribute-usage.ts);
 * - a decision cache. Cedar evaluation is a pure function of (policies, entities, request):
 *   no clock, no randomness, no I/O. An engine has one immutable policy set, the entities are
 *   the principal's entity plus one derived from the action string, and the key holds the
 *   principal entity's JSON, the action, the resource and the JSON of the context as sent.
 *   cedar-wasm's glue marshals its argument with JSON.stringify, so equal keys mean byte-equal
 *   Cedar input, hence the same answer. The principal's content, not just its id, is in the
 *   key, so a reloaded identity config with new attributes or groups cannot hit an old entry;
 *   attributes no policy reads are not, so requests differing only in those share an entry.
 *   A new policy set means a new engine and an empty cache. Only answers from Cedar are
 *   cached; an exception from the wasm call is not;
 * - on a cache miss, only the policies whose principal and action scopes can match the call
 *   are evaluated (policy-index.ts, policy-slices.ts): a decision then costs about the same
 *   at 10 000 policies as at 10. The determining policies and errors are listed in set
 *   order, not in the order Cedar gives them (a hash order that varies from call to call),
 *   so that a decision reads the same however it was evaluated;
 * - with `fastPath`, a cache miss whose slice is all in the compiled subset is decided in JS
 *   (fast-path.ts) when that is sure to be Cedar's answer, and by cedar-wasm otherwise; one
 *   fast decision in `fastPathCheckEvery` is also decided by cedar-wasm, whose verdict stands.
 */
export class PolicyEngine {
  private readonly usage: AttributeUsage;
  private readonly now: () => number;
  /** The decision cache (lru-cache, no TTL: a decision holds as long as its policy set); undefined when `cacheSize` is 0. */
  private readonly cache: LRUCache<string, Verdict> | undefined;
  private readonly principals = new WeakMap<Principal, PreparedPrincipal>();
  private readonly actions = new Map<string, EntityJson>();
  /** Position of each policy id in the set: the order decisions list policies in. */
  private readonly order: ReadonlyMap<string, number>;
  private readonly index: { policies: PolicyIndex; slices: PolicySlices } | undefined;
  private readonly fast: { path: FastPath; whole: Selection; checkEvery: number; onDisagreement: PolicyEngineOptions['onFastPathDisagreement'] } | undefined;
  private fastCounts = { answered: 0, leftToCedar: 0, checked: 0, disagreements: 0 };
  private readonly evaluations: EvaluationCounts;
  /** Set at the first disagreement the sampled check finds: this engine no longer trusts its fast path. */
  private fastStopped = false;

  constructor(
    readonly set: PolicySet,
    options: PolicyEngineOptions = {},
  ) {
    this.usage = set.attributeUsage;
    this.evaluations = options.evaluations ?? { fastPath: 0, cedarWasm: 0 };
    this.now = options.now ?? (() => performance.now());
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.cache =
      cacheSize > 0
        ? new LRUCache({
            max: cacheSize,
            maxSize: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
            // Two bytes a character: what V8 takes for a key with any non-Latin-1 character.
            sizeCalculation: (_verdict, key) => 2 * key.length + CACHE_ENTRY_OVERHEAD_BYTES,
          })
        : undefined;
    this.order = new Map(set.ids.map((id, position) => [id, position]));
    this.index =
      (options.index ?? true)
        ? { policies: new PolicyIndex(set.policies.map((p) => p.json)), slices: new PolicySlices(set, options.sliceBudget ?? DEFAULT_SLICE_BUDGET) }
        : undefined;
    if (options.fastPath === true) {
      const path = new FastPath(set);
      this.fast = {
        path,
        whole: { id: set.cedarId, compiled: path.slice(undefined) },
        checkEvery: options.fastPathCheckEvery ?? DEFAULT_FAST_PATH_CHECK_EVERY,
        onDisagreement: options.onFastPathDisagreement,
      };
    }
  }

  authorize(req: AuthorizationRequest): Decision {
    const started = this.now();
    try {
      const prepared = this.prepare(req);
      if (typeof prepared === 'string') return this.decided(started, deny([prepared]), false);
      const key = this.cache === undefined ? undefined : cacheKey(req, prepared);
      const hit = key === undefined ? undefined : this.cache?.get(key);
      if (hit !== undefined) return this.decided(started, hit, true);
      const { verdict, answer } = this.evaluate(prepared, req);
      if (key !== undefined && answer !== undefined) this.cache?.set(key, verdict);
      return this.decided(started, verdict, false);
    } catch (err) {
      return this.decided(started, deny([`authorization failed: ${errorMessage(err)}`]), false);
    }
  }

  /** The index's slices (policy-slices.ts); undefined when the engine does not index. */
  get indexStats(): SliceStats | undefined {
    return this.index?.slices.stats;
  }

  /** What the fast path did; undefined when it is off. */
  get fastPathStats(): FastPathStats | undefined {
    return this.fast === undefined ? undefined : { compiledPolicies: this.fast.path.compiledCount, ...this.fastCounts };
  }

  /** Like `authorize`, always evaluated by cedar-wasm (the cache is neither read nor filled), with Cedar's input and full answer. */
  explain(req: AuthorizationRequest): Explanation {
    const started = this.now();
    const prepared = this.prepare(req);
    if (typeof prepared === 'string') {
      return { ...this.decided(started, deny([prepared]), false), policySet: this.set.hash, input: undefined, cedarDecision: undefined, satisfied: [] };
    }
    const { verdict, answer } = this.evaluate(prepared, undefined);
    const { principal, action, resource, entities } = prepared.call;
    const context = prepared.context;
    const response = answer?.type === 'success' ? answer.response : undefined;
    return {
      ...this.decided(started, verdict, false),
      policySet: this.set.hash,
      input: { principal, action, resource, context, entities },
      cedarDecision: response?.decision,
      satisfied: this.inSetOrder(response?.diagnostics.reason ?? []),
    };
  }

  private prepare(req: AuthorizationRequest): Prepared | string {
    const action = this.actionEntity(req.action);
    if (action === undefined) return `malformed action "${req.action}": expected "<package.Service>/<Method>"`;
    const principal = this.principalEntity(req.principal);
    const context = contextToSend(req.context, this.usage);
    return {
      principal,
      action: { name: req.action, entity: action },
      resource: req.resource,
      context,
      call: {
        principal: principal.entity.uid,
        action: action.uid,
        resource: { type: 'Tool', id: req.resource },
        context: context as StatefulAuthorizationCall['context'],
        preparsedPolicySetId: this.set.cedarId,
        entities: [principal.entity, action],
      },
    };
  }

  private principalEntity(principal: Principal): PreparedPrincipal {
    let prepared = this.principals.get(principal);
    if (prepared === undefined) {
      const entity = principalEntity(principal, this.usage);
      const unreadable = unreadableByCedar(entity.attrs, MAX_ATTRS_DEPTH) ?? unreadableByCedar([principal.id, ...principal.groups], 1);
      prepared = { entity, key: JSON.stringify(entity), unreadable: unreadable && `the principal: ${unreadable}`, policySets: new Map() };
      this.principals.set(principal, prepared);
    }
    return prepared;
  }

  /**
   * Evaluates against the policies that can apply: the index's slice when indexing, else the
   * whole set; by the fast path when it is on and sure of Cedar's answer (`req` undefined: never,
   * as for `explain`, which shows what cedar-wasm said).
   */
  private evaluate(prepared: Prepared, req: AuthorizationRequest | undefined): Evaluated {
    const selection = this.index !== undefined ? this.selectionFor(this.index, prepared) : this.fast?.whole;
    if (selection !== undefined) prepared.call.preparsedPolicySetId = selection.id;
    const fast = req === undefined ? undefined : this.fastVerdict(selection, prepared);
    if (fast !== undefined) {
      this.evaluations.fastPath++;
      if (!this.checkDue()) return { verdict: fast, answer: FAST_ANSWER };
    }
    const unreadable = unreadableRequest(prepared);
    if (unreadable !== undefined) return { verdict: deny([`not sent to cedar-wasm, which cannot read it: ${unreadable}`]), answer: undefined };
    if (fast === undefined && req !== undefined) this.evaluations.cedarWasm++;
    let answer: AuthorizationAnswer;
    try {
      answer = statefulIsAuthorized(prepared.call);
    } catch (err) {
      return { verdict: deny([`cedar-wasm threw: ${errorMessage(err)}`]), answer: undefined };
    }
    const verdict = this.verdictOf(answer);
    if (fast !== undefined && req !== undefined) this.compareFast(req, fast, verdict);
    return { verdict, answer };
  }

  private fastVerdict(selection: Selection | undefined, prepared: Prepared): Verdict | undefined {
    if (this.fast === undefined || this.fastStopped || selection === undefined) return undefined;
    const answer = selection.compiled && this.fast.path.decide(selection.compiled, prepared.principal.entity, prepared.action.entity, prepared.resource, prepared.context);
    if (answer === undefined) {
      this.fastCounts.leftToCedar++;
      return undefined;
    }
    this.fastCounts.answered++;
    return this.successVerdict(answer.decision, answer.reason);
  }

  /** Whether this fast decision is one of the sampled ones that cedar-wasm also decides. */
  private checkDue(): boolean {
    const every = this.fast?.checkEvery ?? 0;
    return every > 0 && this.fastCounts.answered % every === 1 % every;
  }

  /** The shadow check: cedar-wasm's verdict stands (the caller returns it); a difference is counted and reported. */
  private compareFast(req: AuthorizationRequest, fast: Verdict, cedar: Verdict): void {
    this.fastCounts.checked++;
    if (sameVerdict(fast, cedar)) return;
    this.fastCounts.disagreements++;
    // A fast path proven wrong once is not trusted again by this engine (the next policy set's
    // engine starts afresh): every later decision goes to cedar-wasm, and the cache, which may
    // hold other wrong fast answers, is emptied.
    this.fastStopped = true;
    this.cache?.clear();
    this.fast?.onDisagreement?.({ request: req, fast, cedar });
  }

  /** The preparsed set (and compiled slice) for this principal's calls of this action: selected once per Principal object and action. */
  private selectionFor(index: NonNullable<PolicyEngine['index']>, { principal, action }: Prepared): Selection {
    let selection = principal.policySets.get(action.name);
    if (selection === undefined) {
      const positions = index.policies.select(principal.entity, action.entity);
      const id = positions === undefined ? this.set.cedarId : index.slices.idFor(positions);
      selection = { id, compiled: this.fast?.path.slice(positions) };
      if (principal.policySets.size < MAX_ACTIONS) principal.policySets.set(action.name, selection);
    }
    return selection;
  }

  private verdictOf(answer: AuthorizationAnswer): Verdict {
    if (answer.type === 'failure') return deny(answer.errors.map((e) => `cedar: ${e.message}`));
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      const errors = diagnostics.errors.slice().sort((a, b) => this.positionOf(a.policyId) - this.positionOf(b.policyId));
      return Object.freeze({
        allow: false,
        policies: Object.freeze([...new Set(errors.map((e) => e.policyId))]),
        errors: Object.freeze(errors.map((e) => `policy "${e.policyId}": ${e.error.message}`)),
      });
    }
    return this.successVerdict(decision, diagnostics.reason);
  }

  /** The verdict of an answer in which no policy errored, from cedar-wasm or the fast path alike. */
  private successVerdict(decision: 'allow' | 'deny', reason: readonly string[]): Verdict {
    const policies = Object.freeze(this.inSetOrder(reason));
    // A set without @approval permits pays one field read here, on a miss only (cached verdicts keep the outcome).
    const approvals = this.set.approvals;
    if (decision === 'allow' && approvals !== undefined) {
      const escalate = approvalRequired(policies, approvals);
      if (escalate !== undefined) return Object.freeze({ allow: false, policies, errors: Object.freeze([]), escalate });
    }
    return Object.freeze({ allow: decision === 'allow', policies, errors: Object.freeze([]) });
  }

  private inSetOrder(ids: readonly string[]): string[] {
    return ids.length < 2 ? ids.slice() : ids.slice().sort((a, b) => this.positionOf(a) - this.positionOf(b));
  }

  private positionOf(id: string): number {
    return this.order.get(id) ?? -1;
  }

  private actionEntity(action: string): EntityJson | undefined {
    let entity = this.actions.get(action);
    if (entity === undefined) {
      entity = actionEntity(action);
      if (entity !== undefined && this.actions.size < MAX_ACTIONS) this.actions.set(action, entity);
    }
    return entity;
  }

  private decided(started: number, verdict: Verdict, cached: boolean): Decision {
    const evaluationMicros = Math.round((this.now() - started) * 10_000) / 10;
    const decision = { allow: verdict.allow, policies: verdict.policies, errors: verdict.errors, evaluationMicros, cached };
    return verdict.escalate === undefined ? decision : { ...decision, escalate: verdict.escalate };
  }
}

/** Why cedar-wasm cannot read this request (cedar-input.ts): sent, it would throw and leak wasm memory. */
function unreadableRequest(prepared: Prepared): string | undefined {
  if (prepared.principal.unreadable !== undefined) return prepared.principal.unreadable;
  if (!wellFormed(prepared.action.name)) return 'the action holds a lone surrogate (not Unicode text)';
  if (!wellFormed(prepared.resource)) return 'the resource holds a lone surrogate (not Unicode text)';
  const context = unreadableByCedar(prepared.context, MAX_CONTEXT_DEPTH);
  return context && `the context: ${context}`;
}

/**
 * JSON texts are self-delimiting, so concatenating them is unambiguous. Undefined when the
 * key would be too long to be worth keeping.
 */
function cacheKey(req: AuthorizationRequest, prepared: Prepared): string | undefined {
  const key = prepared.principal.key + JSON.stringify(req.action) + JSON.stringify(req.resource) + JSON.stringify(prepared.context);
  return key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/** Stands for Cedar's answer when the fast path gave it: a success with no errors (only its presence is read, for caching). */
const FAST_ANSWER: AuthorizationAnswer = { type: 'success', response: { decision: 'deny', diagnostics: { reason: [], errors: [] } }, warnings: [] };

function sameVerdict(a: Verdict, b: Verdict): boolean {
  return a.allow === b.allow && JSON.stringify([a.policies, a.errors, a.escalate]) === JSON.stringify([b.policies, b.errors, b.escalate]);
}

function deny(errors: string[]): Verdict {
  return Object.freeze({ allow: false, policies: Object.freeze([]), errors: Object.freeze(errors) });
}
