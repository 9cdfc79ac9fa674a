import type { Expr, PolicyJson } from './cedar';

/**
 * Which attributes a policy set can ever observe. Cedar names attributes only literally
 * (`e.name`, `e["name"]`, `e has name`): there is no computed access and no way to read an
 * entity's attributes as one value. So a top-level entity attribute whose name no policy
 * mentions cannot affect any decision, and the engine leaves it out of what it marshals to
 * Cedar — that marshalling is most of a decision's cost (~3 µs per attribute value). The same
 * holds for a top-level `context` key, unless `context` itself is used as a value
 * (`context == {...}`, `[context].contains(...)`), when the context is sent whole.
 *
 * Nested records are pruned the same way (a task's counters no policy reads must not make
 * every decision's input new), except under a name some policy uses as a whole value
 * (`context.task == {...}`, `[context.request].contains(...)`): such a record is sent whole.
 * Names are not tracked per level, so a name read anywhere is kept everywhere: conservative.
 */
export interface AttributeUsage {
  /** Every attribute name any policy reads; undefined when unknown (send everything). */
  readonly names: ReadonlySet<string> | undefined;
  /** `context` is used as a value somewhere: send it whole. */
  readonly wholeContext: boolean;
  /** Names of attributes whose value some policy uses as a whole (compared, contained, tested with `is`/`like`): never pruned inside. */
  readonly wholeValues: ReadonlySet<string>;
}

const BINARY = new Set(['==', '!=', 'in', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*', 'contains', 'containsAll', 'containsAny', 'getTag', 'hasTag']);
const UNARY = new Set(['!', 'neg', 'isEmpty']);

/** Thrown inside the walk on an expression form this code does not know: give up pruning. */
class UnknownForm extends Error {}

export function analyzeAttributeUsage(policies: readonly PolicyJson[]): AttributeUsage {
  const names = new Set<string>();
  const wholeValues = new Set<string>();
  let wholeContext = false;

  const walk = (expr: Expr, accessed = false): void => {
    if (typeof expr !== 'object' || expr === null) throw new UnknownForm();
    const entries = Object.entries(expr);
    if (entries.length !== 1) throw new UnknownForm();
    const [op, arg] = entries[0] as [string, unknown];
    const node = arg as Record<string, unknown>;
    if (op === 'Value' || op === 'Slot') return;
    if (op === 'Var') {
      if (arg === 'context' && !accessed) wholeContext = true;
    } else if (op === '.' || op === 'has') {
      for (const name of ([] as unknown[]).concat(node['attr'])) {
        names.add(String(name));
        // `a.b` whose value is not itself read by `.`/`has`: b's value is used whole.
        if (op === '.' && !accessed) wholeValues.add(String(name));
      }
      walk(node['left'] as Expr, true);
    } else if (BINARY.has(op)) {
      walk(node['left'] as Expr);
      walk(node['right'] as Expr);
    } else if (UNARY.has(op)) {
      walk(node['arg'] as Expr);
    } else if (op === 'like') {
      walk(node['left'] as Expr);
    } else if (op === 'is') {
      walk(node['left'] as Expr);
      if (node['in'] !== undefined) walk(node['in'] as Expr);
    } else if (op === 'if-then-else') {
      for (const key of ['if', 'then', 'else']) walk(node[key] as Expr);
    } else if (op === 'Set' && Array.isArray(arg)) {
      for (const e of arg as Expr[]) walk(e);
    } else if (op === 'Record') {
      for (const e of Object.values(node)) walk(e as Expr);
    } else if (Array.isArray(arg)) {
      for (const e of arg as Expr[]) walk(e); // an extension function call: `ip(...)`, `.isInRange(...)`
    } else {
      throw new UnknownForm();
    }
  };

  try {
    for (const policy of policies) for (const clause of policy.conditions) walk(clause.body);
  } catch (err) {
    if (err instanceof UnknownForm) return { names: undefined, wholeContext: true, wholeValues };
    throw err;
  }
  return { names, wholeContext, wholeValues };
}
