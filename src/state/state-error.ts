import { ToolgateError } from '../errors/toolgate-error';

/**
 * Shared state (Redis) that cannot be reached or answered nothing usable. At start it stops
 * the gateway; on a call the guard refuses it `UNAVAILABLE` (fail closed). The message names
 * the URL with its password masked, never the password.
 */
export class StateError extends ToolgateError<'ERR_STATE_UNAVAILABLE'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_STATE_UNAVAILABLE', message, options);
  }
}
