import fc from 'fast-check';
import { canonicalJson, canonicalJsonOfParts } from '../../../src/observability/canonical-json';
import { DecisionChain, lineHash } from '../../../src/observability/decision-chain';
import type { DecisionRecord } from '../../../src/observability/decision-log';
import { canonicalRecordLine } from '../../../src/observability/record-line';

const ORIGIN = 'toolgate/replica-a/2026-12-01T10:00:00.000Z/9f3c20aa';
const MEMBERS = [
  'decisionId',
  'protocol',
  'decision',
  'event',
  'caller',
  'principal',
  'action',
  'resource',
  'message',
  'requestDigest',
  'task',
  'approval',
  'by',
  'onBehalfOf',
  'status',
  'httpStatus',
  'policies',
  'errors',
  'reason',
  'shadow',
  'evalUs',
  'cached',
  'policySet',
  'listener',
  'code',
  'expiresAt',
];
// Names a record must not hold (the line's own) or does not know, and a few that sort between the record's.
const OTHERS = ['level', 'time', 'log', 'origin', 'seq', 'prev', 'hash', 'decisionid', 'Action', 'policiesX', '', 'toJSON', '\u00e9', '\ud83d\ude00'];

// Strings of any UTF-16 code units (lone surrogates, controls, quotes): JSON.stringify escapes them.
const text = fc.string({ unit: 'binary', maxLength: 12 });
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 2, arbitrary: fc.array(text, { maxLength: 4 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() }, // -0, NaN, ±Infinity, 1e21 included
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(text, fc.integer(), fc.constant(null)), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(text, fc.constantFrom('1', '10', '9', 'b', 'a')), fc.oneof(text, fc.integer()), { maxKeys: 4 }) },
);
const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...MEMBERS) }, { weight: 1, arbitrary: fc.constantFrom(...OTHERS) }, { weight: 1, arbitrary: text });
/** Arbitrary records, in arbitrary member order: mostly DecisionRecord's members, sometimes anything. */
const record = fc.array(fc.tuple(key, value), { maxLength: 14 }).map((entries) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out as unknown as DecisionRecord;
});
const time = fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms).toISOString());

/** What the chain wrote for each record before the fast path: the generic canonicalizer over the line's parts. */
function genericLink(chain: DecisionChain, t: string, r: DecisionRecord): { text: string; hash: string } | 'throws' {
  try {
    return chain.link({ level: 'info', time: t, log: 'decision' }, r);
  } catch {
    return 'throws';
  }
}

function fastLink(chain: DecisionChain, t: string, r: DecisionRecord): { text: string; hash: string } | 'throws' {
  try {
    return chain.linkRecord(t, r);
  } catch {
    return 'throws';
  }
}

describe("a decision record's line, made in one pass (record-line.ts)", () => {
  it('is byte for byte the line and hash of the generic chain, for arbitrary records, and audit verify recomputes its hash', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(time, record), { minLength: 1, maxLength: 8 }), (steps) => {
        const generic = new DecisionChain(ORIGIN);
        const fast = new DecisionChain(ORIGIN);
        generic.genesis({ level: 'info', time: '2026-12-01T10:00:00.000Z', log: 'decision', genesis: {} });
        fast.genesis({ level: 'info', time: '2026-12-01T10:00:00.000Z', log: 'decision', genesis: {} });
        for (const [t, r] of steps) {
          const expected = genericLink(generic, t, r);
          const actual = fastLink(fast, t, r);
          expect(actual).toEqual(expected);
          // What audit verify recomputes, for a record the type allows (a member named like the line's own, `hash`, `seq`, …, is written twice).
          if (actual !== 'throws' && Object.keys(r).every((k) => MEMBERS.includes(k))) expect(lineHash(JSON.parse(actual.text) as object)).toBe(actual.hash);
          expect(fast.head).toBe(generic.head);
          expect(fast.size).toBe(generic.size);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('answers for every record of plain members, the generic canonical text; and leaves anything else to the generic path', () => {
    fc.assert(
      fc.property(time, record, fc.integer({ min: 1 }), (t, r, seq) => {
        const parts = [{ level: 'info', time: t, log: 'decision' }, r, { origin: ORIGIN, seq, prev: 'kq3Zt+/=' }];
        const fastText = canonicalRecordLine(t, r, ORIGIN, seq, 'kq3Zt+/=');
        if (fastText !== undefined) expect(fastText).toBe(canonicalJsonOfParts(parts));
      }),
      { numRuns: 1000 },
    );
    const typical: DecisionRecord = {
      decisionId: '3f2a9c41d0e2-1',
      protocol: 'mcp',
      caller: 'spiffe://example.org/agents/research-bot',
      principal: 'Agent::"research-bot"',
      action: 'mcp:notes/tools/call/read_note',
      resource: 'notes',
      requestDigest: 'sha256:7c1e0b',
      decision: 'allow',
      by: ['spiffe://example.org/people/alice'],
      policies: ['researchers-read-files'],
      errors: [],
      evalUs: 41,
      cached: false,
      policySet: 'bdcc24d630df',
    };
    // The records the gateway writes take the fast path; a shadow object, an unknown member or NaN do not.
    expect(canonicalRecordLine('t', typical, ORIGIN, 1, 'p')).toBe(canonicalJson({ level: 'info', time: 't', log: 'decision', ...typical, origin: ORIGIN, seq: 1, prev: 'p' }));
    expect(canonicalRecordLine('t', { ...typical, shadow: { decision: 'deny' } }, ORIGIN, 1, 'p')).toBeUndefined();
    expect(canonicalRecordLine('t', { ...typical, level: 'warn' } as DecisionRecord, ORIGIN, 1, 'p')).toBeUndefined();
    expect(canonicalRecordLine('t', { ...typical, evalUs: Number.NaN }, ORIGIN, 1, 'p')).toBeUndefined();
    expect(canonicalRecordLine('t', { ...typical, policies: Object.assign(['p'], { toJSON: () => 'x' }) }, ORIGIN, 1, 'p')).toBeUndefined();
  });

  it('reads only the record own members, never an inherited one (as JSON.stringify does)', () => {
    const inherited = Object.assign(Object.create({ reason: 'inherited' }) as object, { decisionId: 'x-1', decision: 'allow' }) as DecisionRecord;
    const generic = new DecisionChain(ORIGIN);
    const fast = new DecisionChain(ORIGIN);
    expect(fast.linkRecord('t', inherited)).toEqual(generic.link({ level: 'info', time: 't', log: 'decision' }, inherited));
  });
});
