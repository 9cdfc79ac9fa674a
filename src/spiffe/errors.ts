/**
 * Typed errors with stable codes, in the manner of jose: callers branch on `code`
 * (or `instanceof`), never on message text. Messages never carry key material.
 */
export abstract class SpiffeError extends Error {
  /** A stable, machine-readable code, e.g. `ERR_SPIFFE_ID`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An invalid SPIFFE ID or trust domain. The message matches go-spiffe's. */
export class SpiffeIdError extends SpiffeError {
  readonly code = 'ERR_SPIFFE_ID';
}

/** An invalid Workload API endpoint address (SPIFFE_ENDPOINT_SOCKET). */
export class EndpointAddressError extends SpiffeError {
  readonly code = 'ERR_ENDPOINT_ADDRESS';
}

/** An X.509-SVID that cannot be parsed, or a peer chain that fails verification. */
export class X509SvidError extends SpiffeError {
  readonly code = 'ERR_X509_SVID';
}

/**
 * Malformed DER: certificate framing (`splitDer`) or a certificate that cannot be parsed.
 * Neutral on purpose, since DER serves both SVIDs and bundles: callers wrap it in
 * `X509SvidError` or `BundleError` with their own prefix, keeping it as the `cause`.
 */
export class DerError extends SpiffeError {
  readonly code = 'ERR_DER';
}

/** A bundle (X.509 or JWT) that cannot be parsed, or no bundle for a trust domain. */
export class BundleError extends SpiffeError {
  readonly code = 'ERR_BUNDLE';
}

/** A JWT-SVID that fails validation. */
export class JwtSvidError extends SpiffeError {
  readonly code = 'ERR_JWT_SVID';
}

/** A peer whose verified SPIFFE ID the authorizer refused. */
export class AuthorizationError extends SpiffeError {
  readonly code = 'ERR_UNAUTHORIZED_ID';
}

/** A Workload API call or stream that failed; `grpcCode` is the gRPC status code. */
export class WorkloadApiError extends SpiffeError {
  readonly code = 'ERR_WORKLOAD_API';

  constructor(
    message: string,
    readonly grpcCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A source that has been closed, or that did not get its first update in time. */
export class SourceError extends SpiffeError {
  readonly code = 'ERR_SOURCE';
}
