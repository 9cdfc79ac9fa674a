import type { DecisionRecord } from './decision-log';

/**
 * The decision record's members, each once: the compiler checks this list against
 * `DecisionRecord` (a member added there and not here fails to compile), and a record
 * holding any other member takes the generic path.
 */
const RECORD_MEMBERS = {
  decisionId: true,
  protocol: true,
  decision: true,
  event: true,
  caller: true,
  principal: true,
  action: true,
  resource: true,
  message: true,
  requestDigest: true,
  task: true,
  approval: true,
  by: true,
  onBehalfOf: true,
  status: true,
  httpStatus: true,
  policies: true,
  errors: true,
  reason: true,
  shadow: true,
  evalUs: true,
  cached: true,
  policySet: true,
  listener: true,
  code: true,
  expiresAt: true,
} as const satisfies Record<keyof DecisionRecord, true>;

type Member = keyof typeof RECORD_MEMBERS;
const isMember = (key: string): key is Member => Object.prototype.hasOwnProperty.call(RECORD_MEMBERS, key);

/**
 * The canonical text (RFC 8785, less `hash`) of a record line `{level, time, log, ...record,
 * origin, seq, prev}`, for a record whose members are all plain: strings, booleans, finite
 * numbers, arrays of strings. For those, RFC 8785 is `JSON.stringify` of an object whose
 * members are in sorted order, and V8 serializes such an object several times faster than the
 * generic canonicalizer walks it (bench/RESULTS.md, "Decision log chain and checkpoints").
 * Returns undefined for any other record (an unknown member, an object such as `shadow`, a
 * non-finite number): the caller then takes the generic path, whose result this equals
 * wherever it answers (test/unit/observability/record-line.test.ts, a differential test).
 *
 * Only the record's own enumerable members are read (as JSON.stringify and the generic path
 * read them), through `slots`: never an inherited property.
 */
export function canonicalRecordLine(time: string, record: DecisionRecord, origin: string, seq: number, prev: string): string | undefined {
  const s: Partial<Record<Member, unknown>> = {};
  const members = record as unknown as Record<string, unknown>;
  for (const key of Object.keys(members)) {
    if (!isMember(key)) return undefined;
    const value = members[key];
    if (!isPlain(value)) return undefined;
    s[key] = value;
  }
  // Members in UTF-16 code unit order (RFC 8785 §3.2.3), the record's and the line's own
  // interleaved; an undefined member is left out by JSON.stringify, as by the canonicalizer.
  return JSON.stringify({
    action: s.action,
    approval: s.approval,
    by: s.by,
    cached: s.cached,
    caller: s.caller,
    code: s.code,
    decision: s.decision,
    decisionId: s.decisionId,
    errors: s.errors,
    evalUs: s.evalUs,
    event: s.event,
    expiresAt: s.expiresAt,
    httpStatus: s.httpStatus,
    level: 'info',
    listener: s.listener,
    log: 'decision',
    message: s.message,
    onBehalfOf: s.onBehalfOf,
    origin,
    policies: s.policies,
    policySet: s.policySet,
    prev,
    principal: s.principal,
    protocol: s.protocol,
    reason: s.reason,
    requestDigest: s.requestDigest,
    resource: s.resource,
    seq,
    shadow: s.shadow,
    status: s.status,
    task: s.task,
    time,
  });
}

/** A value whose JSON.stringify text is already its RFC 8785 text. */
function isPlain(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      // An array with a toJSON of its own would be written by it, not as the canonicalizer reads it.
      if (!Array.isArray(value) || 'toJSON' in value) return false;
      for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
      return true;
    default:
      return false;
  }
}
