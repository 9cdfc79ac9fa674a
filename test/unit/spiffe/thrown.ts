import type { SpiffeError } from '../../../src/spiffe/errors';

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * The error `run` throws, asserted to be a `type` carrying the stable `code`. Fails the test
 * when nothing is thrown, so that a call that passes can never satisfy an expected failure.
 */
export function thrown<E extends SpiffeError>(type: ErrorClass<E>, code: string, run: () => unknown): E {
  try {
    run();
  } catch (err) {
    return checked(type, code, err);
  }
  throw new Error(`expected ${type.name} (${code}), but nothing was thrown`);
}

/** `thrown` for a promise: the error it rejects with. */
export async function rejection<E extends SpiffeError>(type: ErrorClass<E>, code: string, promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return checked(type, code, err);
  }
  throw new Error(`expected ${type.name} (${code}), but the promise resolved`);
}

function checked<E extends SpiffeError>(type: ErrorClass<E>, code: string, err: unknown): E {
  expect(err).toBeInstanceOf(type);
  expect((err as E).code).toBe(code);
  return err as E;
}
