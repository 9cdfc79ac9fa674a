import fc from 'fast-check';
import { PolicyEngine, PolicyError, PolicySet, type AuthorizationRequest, type CedarValue, type Decision, type Principal } from '../../../src/policy';

/**
 * The fast path (src/policy/fast-path.ts) must decide exactly as cedar-wasm: generated sets of
 * policies, mostly in the compiled subset and some outside it (extension functions, `in`,
 * arithmetic), decided for generated requests by an engine with the fast path and by one
 * without (both uncached, so every decision is evaluated), must agree on allow, escalate, the
 * determining policies and the errors. Requests carry missing attributes, values of the wrong
 * type (errors), sets, strings with `*`, `\` and non-ASCII for `like`, Longs beyond 2^53 and
 * near 2^63, lone surrogates and nesting: cases the fast path must either get right or leave
 * to cedar-wasm. A second property keeps this from being vacuous: the fast path must answer a
 * good share of the requests itself.
 *
 * Bounded for the suite (a few seconds); FAST_PATH_RUNS=2000 runs a longer one, repeated in new processes for more (docs/policies.md, "Fast path").
 */

const RUNS = Number(process.env['FAST_PATH_RUNS'] ?? 150);
const ACTIONS = ['svc.A/M1', 'svc.A/M2', 'svc.B/M1'];
/** Names Cedar cannot read (a lone surrogate: cedar-wasm refuses the request) or must escape. */
const ODD_ACTIONS = ['svc.A/M\udc00', 'svc\ud800.A/M1', 'svc.A/"é"'];

const STRINGS = ['', 'a', 'ab', 'a*b', 'ba', 'b\\', 'é', '😀a', 'x-task', '\ud800', 'type'];
const LONGS = [0, 1, -1, 2, 5, 100, -100, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 + 2, 2 ** 63 - 1024, -(2 ** 63), 2 ** 63, 1.5];
const ATTRS = ['a', 'n', 's', 'tags', 'r', 'tier', 'level'];

const scalar: fc.Arbitrary<CedarValue> = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...LONGS), fc.boolean());
/** Nested `depth` deep, around the fast path's limit (32): the deepest it reads, and those it leaves to cedar-wasm. */
const deep = (depth: number, inner: CedarValue): CedarValue => (depth === 0 ? inner : depth % 2 === 0 ? [deep(depth - 1, inner)] : { a: deep(depth - 1, inner) });
const small: fc.Arbitrary<CedarValue> = fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.dictionary(fc.constantFrom(...ATTRS), scalar, { maxKeys: 2 }));
const value: fc.Arbitrary<CedarValue> = fc.oneof(
  { weight: 10, arbitrary: scalar },
  { weight: 4, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...ATTRS), scalar, { maxKeys: 3 }) },
  // Sets of sets and of records, records of sets: equality and membership at depth.
  { weight: 2, arbitrary: fc.array(small, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...ATTRS), small, { maxKeys: 3 }) },
  { weight: 2, arbitrary: fc.constant({ __entity: { type: 'Agent', id: 'alice' } }) },
  { weight: 2, arbitrary: fc.constant({ type: 'Agent', id: 'alice' }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 29, max: 35 }), scalar).map(([depth, inner]) => deep(depth, inner)) },
  // Past the per-decision comparison budget when compared with another such set (compiled-values.ts).
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => i % 7)) },
);
const long = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -3, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(...LONGS) });
const likeText = fc.array(fc.constantFrom('a', 'b', '*', '\\', 'é', '😀', '-'), { maxLength: 5 }).map((chars) => chars.join(''));
/** Mostly well-typed by name (`n` a Long, `s` a string, `tags` a set), so that comparisons and `like` get decided, not just error; sometimes anything. */
const typed: Record<string, fc.Arbitrary<CedarValue>> = {
  n: long,
  level: long,
  s: fc.oneof(likeText, fc.constantFrom(...STRINGS)),
  tier: fc.constantFrom('gold', 'a', 'ab'),
  tags: fc.array(fc.oneof(fc.constantFrom('a', 'b', 'gold'), long), { maxLength: 3 }),
  r: fc.dictionary(fc.constantFrom(...ATTRS), scalar, { maxKeys: 3 }),
};
const record = fc
  .array(fc.tuple(fc.constantFrom(...ATTRS), fc.boolean()), { maxLength: 6 })
  .chain((keys) => fc.tuple(...keys.map(([key, wild]) => (wild || typed[key] === undefined ? value : (typed[key] as fc.Arbitrary<CedarValue>)).map((v) => [key, v] as const))))
  .map((entries) => Object.fromEntries(entries) as Record<string, CedarValue>);

const principal: fc.Arbitrary<Principal> = fc.record({
  type: fc.constantFrom('Agent' as const, 'Workload' as const),
  id: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('alice', 'bob', 'g1') }, { weight: 1, arbitrary: fc.constantFrom('al\ud800', '"q"') }),
  attrs: record,
  groups: fc.oneof({ weight: 9, arbitrary: fc.subarray(['g1', 'g2', 'alice']) }, { weight: 1, arbitrary: fc.subarray(['g1', 'g\udc00', 'g1']) }),
});

/**
 * Sometimes one attribute made non-enumerable: JSON.stringify (what cedar-wasm is sent) leaves
 * it out, so the fast path must not read it either.
 */
const withHidden = (context: Record<string, CedarValue>, hide: number): Record<string, CedarValue> => {
  const keys = Object.keys(context);
  if (hide >= keys.length) return context;
  const copy = { ...context };
  Object.defineProperty(copy, keys[hide] as string, { enumerable: false });
  return copy;
};

const request: fc.Arbitrary<AuthorizationRequest> = fc.record({
  principal,
  action: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ACTIONS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_ACTIONS) }),
  resource: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('t1', 't2') }, { weight: 1, arbitrary: fc.constantFrom('t\ud800', '') }),
  context: fc.tuple(record, fc.integer({ min: 0, max: 12 })).map(([context, hide]) => withHidden(context, hide)),
});

const cedarString = (s: string): string => JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, '\\u{$1}');
const literal: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...STRINGS.filter((s) => s !== '\ud800')).map(cedarString),
  fc.integer({ min: -3, max: 6 }).map(String),
  fc.constantFrom('100', '9007199254740991', '9007199254740993', '9223372036854775807', 'true', 'false', '"gold"'),
  fc.constant('Agent::"alice"'),
);
const attr = fc.constantFrom(...ATTRS);
const operand: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: attr.map((a) => `context.${a}`) },
  { weight: 2, arbitrary: attr.map((a) => `principal.${a}`) },
  { weight: 1, arbitrary: fc.tuple(attr, attr).map(([a, b]) => `context.${a}.${b}`) },
  { weight: 3, arbitrary: literal },
  { weight: 1, arbitrary: fc.array(literal, { maxLength: 3 }).map((items) => `[${items.join(', ')}]`) },
  // `context` as a value: the whole context is sent, unread attributes included.
  { weight: 1, arbitrary: fc.constantFrom('principal', 'resource', 'action', 'Tool::"t1"', 'context') },
);
/** A `like` pattern: literal text (with `\*` for a literal star), and `*` wildcards. */
const pattern = fc.array(fc.constantFrom('a', 'b', 'é', '😀', '\\*', '*', '*', '\\\\', '-'), { maxLength: 4 }).map((parts) => `"${parts.join('')}"`);

const condition: fc.Arbitrary<string> = fc.letrec<{ bool: string }>((tie) => ({
  bool: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('true', 'false'),
    fc.tuple(operand, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), operand).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(operand, pattern).map(([l, p]) => `${l} like ${p}`),
    // Well-typed on most requests, weighted up so that a wrong comparison or match is caught within the suite's budget.
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom('context.s', 'principal.s', 'context.r.s'), pattern).map(([l, p]) => `${l} like ${p}`) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom('context.n', 'principal.level', 'context.r.n'), fc.constantFrom('==', '!=', '<', '<=', '>', '>='), fc.integer({ min: -3, max: 6 }))
        .map(([l, op, r]) => `${l} ${op} ${r}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('context.tags', 'principal.tags'), fc.constantFrom('contains', 'containsAll', 'containsAny'), operand)
        .map(([l, m, r]) => `${l}.${m}(${r})`),
    },
    fc.tuple(fc.constantFrom('context', 'principal', 'context.r', 'resource'), attr).map(([l, a]) => `${l} has ${a}`),
    // Attributes of entities named by literal: the principal's own (read), others' (left to cedar-wasm).
    fc.tuple(fc.constantFrom('Agent::"alice"', 'Workload::"alice"', 'action', 'Tool::"t1"', 'AgentGroup::"g1"'), attr).map(([l, a]) => `${l} has ${a}`),
    fc.tuple(fc.constantFrom('Agent::"alice"', 'Agent::"bob"'), attr, operand).map(([l, a, r]) => `${l}.${a} == ${r}`),
    fc.tuple(operand, fc.constantFrom('<', '==', '>='), operand).map(([l, op, r]) => `-${l} ${op} ${r}`),
    fc.tuple(operand, fc.constantFrom('contains', 'containsAll', 'containsAny'), operand).map(([l, m, r]) => `${l}.${m}(${r})`),
    operand.map((o) => `${o}.isEmpty()`),
    fc.tuple(tie('bool'), fc.constantFrom('&&', '||'), tie('bool')).map(([l, op, r]) => `(${l} ${op} ${r})`),
    tie('bool').map((b) => `!(${b})`),
    fc.tuple(tie('bool'), operand, operand).map(([c, t, e]) => `(if ${c} then ${t} else ${e}) == ${t}`),
    fc.tuple(tie('bool'), tie('bool'), tie('bool')).map(([c, t, e]) => `(if ${c} then ${t} else ${e})`),
    // Outside the subset: their policies must always be left to cedar-wasm.
    fc.constantFrom(
      'ip("10.0.0.1").isIpv4()',
      'decimal("1.5").lessThan(decimal("2.0"))',
      'context.n + 1 > 2',
      'principal in AgentGroup::"g1"',
      'principal is Agent',
      '-context.n < 0',
    ),
    operand.map((o) => `${o}`),
  ),
})).bool;

const principalScope = fc.constantFrom(
  'principal',
  'principal in Agent::"alice"',
  'principal == Agent::"alice"',
  'principal in AgentGroup::"g1"',
  'principal in Agent::"bob"',
  'principal is Agent',
  'principal is Workload in AgentGroup::"g2"',
);
const actionScope = fc.constantFrom(
  'action',
  'action == Action::"svc.A/M1"',
  'action in Action::"svc.A"',
  'action in [Action::"svc.A/M2", Action::"svc.B"]',
  'action == Action::"svc.A"',
);
const resourceScope = fc.constantFrom('resource', 'resource == Tool::"t1"', 'resource in Tool::"t2"', 'resource is Tool', 'resource is Tool in Tool::"t1"', 'resource == Tool::""');

const policy = fc
  .record({
    effect: fc.constantFrom('permit', 'permit', 'forbid'),
    approval: fc.boolean(),
    principal: principalScope,
    action: actionScope,
    resource: resourceScope,
    clauses: fc.array(fc.tuple(fc.constantFrom('when', 'unless'), condition), { maxLength: 2 }),
  })
  .map((p) => {
    const annotation = p.effect === 'permit' && p.approval ? '@approval("ops")\n' : '';
    const clauses = p.clauses.map(([kind, body]) => ` ${kind} { ${body} }`).join('');
    return `${annotation}${p.effect} (${p.principal}, ${p.action}, ${p.resource})${clauses};`;
  });

/**
 * The fast engine sometimes caches (requests are then asked twice, the second answer from the
 * cache) and sometimes does not index (the whole set is its slice).
 */
const scenario = fc.record({
  policies: fc.array(policy, { minLength: 1, maxLength: 4 }),
  requests: fc.array(request, { minLength: 1, maxLength: 12 }),
  cached: fc.boolean(),
  index: fc.boolean(),
});

function setOf(policies: readonly string[]): PolicySet | undefined {
  try {
    return PolicySet.fromText({ 'gen.cedar': policies.map((p, i) => `@id("p${i}")\n${p}`).join('\n') });
  } catch (err) {
    // A generated policy Cedar does not parse (e.g. an escape it refuses) is skipped; anything else
    // (cedar-wasm out of memory for preparsed sets, which it never frees) must not pass as a skip.
    if (err instanceof PolicyError && err.code === 'ERR_POLICY_PARSE') return undefined;
    throw err;
  }
}

const ALICE: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: {}, groups: [] });
const verdict = (d: Decision) => ({ allow: d.allow, policies: d.policies, errors: d.errors, escalate: d.escalate });

describe('the compiled fast path decides exactly as cedar-wasm', () => {
  let answered = 0;
  /** Requests decided by both engines (each once: a repeat from the fast engine's cache is compared, not counted). */
  let decided = 0;
  /** Every comparison, cached repeats included. */
  let compared = 0;
  /** Of the second property, all answered by the fast path (it asserts so). */
  let focusedDecided = 0;

  it('agrees with cedar-wasm on every generated request it answers, and leaves the rest to it', () => {
    fc.assert(
      fc.property(scenario, ({ policies, requests, cached, index }) => {
        const set = setOf(policies);
        if (set === undefined) return;
        const fast = new PolicyEngine(set, { cacheSize: cached ? 100 : 0, index, fastPath: true, fastPathCheckEvery: 0 });
        // The same `index` for both: cedar-wasm's JSON error messages give a column, which moves with the length of the preparsed set's id.
        const wasm = new PolicyEngine(set, { cacheSize: 0, index });
        const asked = cached ? [...requests, ...requests] : requests;
        for (const req of asked) {
          expect(verdict(fast.authorize(req))).toEqual(verdict(wasm.authorize(req)));
        }
        answered += fast.fastPathStats?.answered ?? 0;
        decided += requests.length;
        compared += asked.length;
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees on single well-typed comparisons, matches and set tests, where a wrong operator shows at once', () => {
    const focused = fc.record({
      condition: fc.oneof(
        fc.tuple(fc.constantFrom('==', '!=', '<', '<=', '>', '>='), fc.integer({ min: -3, max: 6 })).map(([op, k]) => `context.n ${op} ${k}`),
        fc.constantFrom('"a"', '1', '"1"').map((r) => `context.tags.contains(${r})`),
        fc.tuple(fc.constantFrom('containsAll', 'containsAny'), fc.constantFrom('["a", 1]', '[]', '["b"]', '[2, 2]')).map(([m, r]) => `context.tags.${m}(${r})`),
      ),
      requests: fc.array(
        fc.record({ n: fc.integer({ min: -3, max: 6 }), s: likeText, tags: fc.array(fc.constantFrom('a', 'b', 1, 2), { maxLength: 3 }) }, { noNullPrototype: true }),
        { minLength: 1, maxLength: 10 },
      ),
    });
    // `like` on its own: texts mostly made from the pattern itself (each wildcard filled in, often with nothing), so most match or nearly match.
    const matching = fc.array(fc.constantFrom('a', 'b', 'é', '😀', '\\*', '*', '*', '\\\\'), { maxLength: 4 }).chain((tokens) =>
      fc.record({
        condition: fc.constant(`context.s like "${tokens.join('')}"`),
        requests: fc.array(
          fc
            .tuple(
              fc.oneof(
                fc.tuple(...tokens.map((t) => (t === '*' ? fc.oneof(fc.constant(''), likeText) : fc.constant(t.replace(/^\\/, ''))))).map((parts) => parts.join('')),
                likeText,
              ),
              fc.integer({ min: 0, max: 2 }),
            )
            .map(([text, cut]) => ({ n: 0, s: cut === 0 ? Array.from(text).slice(0, -1).join('') : text, tags: [] })),
          { minLength: 1, maxLength: 10 },
        ),
      }),
    );
    fc.assert(
      fc.property(fc.oneof(focused, matching), ({ condition, requests }) => {
        const set = setOf([`permit (principal, action, resource) when { ${condition} };`]);
        if (set === undefined) return;
        const fast = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 0 });
        const wasm = new PolicyEngine(set, { cacheSize: 0 });
        for (const context of requests) {
          const req = { principal: ALICE, action: 'svc.A/M1', resource: 't1', context };
          expect(verdict(fast.authorize(req))).toEqual(verdict(wasm.authorize(req)));
        }
        expect(fast.fastPathStats?.answered).toBe(requests.length);
        focusedDecided += requests.length;
        compared += requests.length;
      }),
      { numRuns: RUNS },
    );
  });

  it('answers a good share of the generated requests itself (the differential test is not vacuous)', () => {
    // One line for the long runs' tally (docs/policies.md, "Fast path").
    if (process.env['FAST_PATH_DEBUG'])
      console.log(
        `FAST_PATH_TALLY compared=${compared} decided=${decided + focusedDecided} answered=${answered + focusedDecided} generated=${decided} generatedAnswered=${answered}`,
      );
    expect(decided).toBeGreaterThan(RUNS);
    expect(answered / decided).toBeGreaterThan(0.25);
  });
});
