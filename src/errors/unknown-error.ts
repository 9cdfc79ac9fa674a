/*
 * What a `catch` receives is `unknown`: usually an Error, but possibly one from another
 * realm (fetch, vm), or anything at all that a library threw. These read it without a
 * cast, so that a thrown string or object still yields a message instead of `undefined`.
 */

/** The message of a caught value: its `message` when it has one, else its text. */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error'; // an object without a prototype, say
  }
}

/** The string `code` of a caught value (Node's `ENOENT`, jose's `ERR_JWT_EXPIRED`, ours), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** A caught value as an Error, for APIs that take one: itself when it is one, else wrapped with it as the cause. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err), { cause: err });
}
