import { ToolgateError } from '../errors/toolgate-error';

/**
 * A SPIFFE ID that cannot become a principal (its trust domain is not accepted), or an
 * identity rule that cannot be used. The gateway denies the call: identity fails closed.
 */
export class IdentityError extends ToolgateError<'ERR_IDENTITY'> {
  constructor(message: string) {
    super('ERR_IDENTITY', message);
  }
}
