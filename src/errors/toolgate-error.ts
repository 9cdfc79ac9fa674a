/**
 * The one base of toolgate's errors, in jose's manner: callers branch on `code` (or on
 * `instanceof`), never on message text. Each family extends it with its own code union;
 * every code is listed in docs/errors.md, and a code once published does not change.
 *
 * The message names what is wrong (the file, key, flag or upstream), never a token, a key
 * or an SVID: messages reach logs, operators and sometimes callers. What caused the error
 * is kept as ES2022 `cause` when it is safe to keep (it is logged too).
 *
 * Plain `Error` is thrown only for internal invariants that no input can reach; the list is
 * in test/unit/errors/error-model.test.ts, which fails on any other.
 */
export abstract class ToolgateError<Code extends string = string> extends Error {
  /** A stable, machine-readable code, e.g. `ERR_CONFIG`. */
  readonly code: Code;

  constructor(code: Code, message: string, options: { cause?: unknown } = {}) {
    // No `cause` property at all rather than one holding undefined.
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}
