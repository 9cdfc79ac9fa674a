/**
 * What cedar-wasm cannot read at all. Its entry points parse their argument as JSON (the glue
 * sends JSON.stringify's text) before answering, and on a parse error they *throw* rather than
 * answer `failure`, and each such throw leaks wasm stack: after ~1 500 of them (measured with
 * cedar-wasm 4.13) the instance is dead, every later call failing with "memory access out of
 * bounds", for every caller, until the process restarts. The engine therefore refuses, before
 * calling cedar-wasm, the two inputs its parser refuses:
 *
 * - a string or attribute name holding a lone surrogate (JSON.stringify escapes it as `\udXXX`,
 *   which serde_json rejects); JavaScript's JSON.parse and protobuf decoders can produce one;
 * - nesting past serde_json's recursion limit: 128 arrays and objects deep counting the call's
 *   own, so 126 for the context (the call is one level) and 124 for an entity's attributes
 *   (call, `entities`, the entity: three).
 *
 * A request holding either is denied as cedar-wasm would have denied it (with an error), minus
 * the leak. Anything else cedar-wasm reads is left to it, and answered as before.
 */

/** Deepest context (the context record itself is 1) cedar-wasm parses. */
export const MAX_CONTEXT_DEPTH = 126;
/** Deepest entity attributes (the attribute record itself is 1) cedar-wasm parses. */
export const MAX_ATTRS_DEPTH = 124;

/** Why cedar-wasm cannot read `value`, nested at most `maxDepth` deep; undefined when it can. */
export function unreadableByCedar(value: unknown, maxDepth: number): string | undefined {
  // Iterative, so that a value nested deeper than JS's stack allows is refused, not a RangeError.
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (typeof item === 'string') {
      if (!wellFormed(item)) return 'a string holds a lone surrogate (not Unicode text)';
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth > maxDepth) return `nested more than ${maxDepth} levels deep`;
    if (Array.isArray(item)) {
      for (const element of item) stack.push([element, depth + 1]);
      continue;
    }
    for (const key of Object.keys(item)) {
      if (!wellFormed(key)) return 'an attribute name holds a lone surrogate (not Unicode text)';
      stack.push([(item as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}

/** No lone surrogate (ES2024's `isWellFormed`, in Node 20 but not in this project's TS lib). */
export function wellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}
