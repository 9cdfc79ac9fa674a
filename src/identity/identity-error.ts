/**
 * A SPIFFE ID that cannot become a principal (its trust domain is not accepted), or an
 * identity rule that cannot be used. The gateway denies the call: identity fails closed.
 */
export class IdentityError extends Error {
  readonly code = 'ERR_IDENTITY';

  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}
