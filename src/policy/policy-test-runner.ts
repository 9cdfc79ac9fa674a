import { outcomeOf } from './authorization';
import type { PolicyEngine } from './policy-engine';
import type { KnownActions } from './policy-test-actions';
import type { PolicyTestCase } from './policy-test-file';
import { buildRequest, type RequestConfig } from './policy-test-request';
import { errorMessage } from '../errors/unknown-error';

export interface PolicyTestResult {
  readonly name: string;
  /** Why the case failed; undefined when it passed. */
  readonly failure?: string;
}

/**
 * Decides each case with `engine` exactly as the gateway would decide the call (the same
 * request building, the same fail-closed engine) and compares with what the case expects.
 * A case also fails when evaluation reports errors, even if the decision matches: an
 * expected deny that only came from an error (a field the case left out, a broken policy)
 * proves nothing about the policies. So does one naming an action the gateway never decides
 * (not among `actions`): it is not evaluated.
 */
export function runPolicyTests(cases: readonly PolicyTestCase[], engine: PolicyEngine, config: RequestConfig, actions: KnownActions): PolicyTestResult[] {
  return cases.map((testCase) => ({ name: testCase.name, ...check(testCase, engine, config, actions) }));
}

function check(testCase: PolicyTestCase, engine: PolicyEngine, config: RequestConfig, actions: KnownActions): { failure?: string } {
  const unknown = actions.problem(testCase.action);
  if (unknown !== undefined) return { failure: unknown };
  let request;
  try {
    request = buildRequest(testCase, config);
  } catch (err) {
    return { failure: `cannot build the request: ${errorMessage(err)}` };
  }
  const decision = engine.explain(request);
  const got = outcomeOf(decision);
  if (decision.errors.length > 0) return { failure: `expected ${testCase.expect}, got ${got} with errors: ${decision.errors.join('; ')}` };
  if (got !== testCase.expect) return { failure: `expected ${testCase.expect}, got ${got} (policies: ${list(decision.policies)})` };
  const expected = testCase.policies;
  if (expected !== undefined && !sameMembers(expected, decision.policies)) {
    return { failure: `expected ${got} by policies ${list(expected)}, got ${got} by ${list(decision.policies)}` };
  }
  return {};
}

function list(ids: readonly string[]): string {
  return ids.length === 0 ? 'none' : ids.join(', ');
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((id) => set.has(id));
}
