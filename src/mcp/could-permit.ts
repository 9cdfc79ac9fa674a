import type { CedarValue } from '../identity/cedar-value';
import { isAuthorizedPartial } from '../policy/cedar';
import { actionEntity, principalEntity } from '../policy/entities';
import type { PolicySet } from '../policy/policy-set';
import type { Principal } from '../identity/principal';
import { errorMessage } from '../errors/unknown-error';

/** A decision asked of policy before the request it would be about exists. */
export interface PossibleCall {
  readonly principal: Principal;
  readonly action: string;
  readonly resource: string;
  /** The context the call would have, less `request`. */
  readonly context: Readonly<Record<string, CedarValue>>;
  /** `context.request` when it is known (a listed resource's URI); undefined when any request is possible. */
  readonly request?: Readonly<Record<string, CedarValue>>;
  /**
   * Members of `context` the call would have but whose value is not known before it is made
   * (`rate`: the tokens left after it): present and unknown, so that a policy reading them
   * leaves a residual rather than a deny.
   */
  readonly unknownContext?: readonly string[];
}

export interface CouldPermitAnswer {
  readonly possible: boolean;
  /** Why not, when Cedar could not answer (the listing then hides the item). */
  readonly error?: string;
}

const policyTexts = new WeakMap<PolicySet, Record<string, string>>();

/**
 * Whether some request could be permitted for `call`: Cedar's partial evaluation with
 * `context.request` unknown (when not given) and everything else known. The answer is
 * "no" exactly when Cedar can already tell that every such request is denied: no permit can
 * be satisfied whatever the request holds, or a forbid is satisfied whatever it holds.
 * A permit whose condition depends on the request leaves a residual, so "possible".
 *
 * Fail closed: a failure, or a policy that errors on the known part (the engine would deny
 * every such call), answers "no".
 */
export function couldPermit(set: PolicySet, call: PossibleCall): CouldPermitAnswer {
  try {
    const action = actionEntity(call.action);
    const entities = [principalEntity(call.principal, set.attributeUsage), ...(action === undefined ? [] : [action])];
    const unknowns = Object.fromEntries((call.unknownContext ?? []).map((name) => [name, unknown(name)]));
    const request = call.request ?? unknown('request');
    const answer = isAuthorizedPartial({
      principal: { type: call.principal.type, id: call.principal.id },
      action: { type: 'Action', id: call.action },
      resource: { type: 'Tool', id: call.resource },
      context: { ...call.context, ...unknowns, request } as never,
      policies: { staticPolicies: textsOf(set) },
      entities: entities as never,
    });
    if (answer.type === 'failure') return { possible: false, error: answer.errors.map((e) => e.message).join('; ') };
    const { decision, errored } = answer.response;
    if (errored.length > 0) return { possible: false, error: `policies errored: ${errored.join(', ')}` };
    return { possible: decision !== 'deny' };
  } catch (err) {
    return { possible: false, error: errorMessage(err) };
  }
}

/** A value Cedar's partial evaluation leaves unknown, named `name` in residuals. */
function unknown(name: string): object {
  return { __extn: { fn: 'unknown', arg: name } };
}

function textsOf(set: PolicySet): Record<string, string> {
  let texts = policyTexts.get(set);
  if (texts === undefined) {
    texts = Object.fromEntries(set.policies.map((p) => [p.id, p.text]));
    policyTexts.set(set, texts);
  }
  return texts;
}
