import { ToolgateError } from './toolgate-error';

/**
 * One value that cannot be used: a `host:port`, a SPIFFE ID, a path, a duration, a rate
 * limit, a JWKS URL, a policy test's request. The message says why and leaves naming the
 * value's place to the caller: config loading puts the key path before it
 * (`config/issue-list.ts`), the CLI the flag.
 */
export class InvalidValueError extends ToolgateError<'ERR_INVALID_VALUE'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_INVALID_VALUE', message, options);
  }
}
