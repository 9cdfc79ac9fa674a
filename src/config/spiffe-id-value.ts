import { SpiffeId } from '../spiffe/id';
import { InvalidValueError } from '../errors/invalid-value-error';

/**
 * Parses a SPIFFE ID that must name a workload: an X.509-SVID always has a path, so an
 * ID of a bare trust domain would never match a peer. Throws `SpiffeIdError` or `InvalidValueError` with the reason.
 */
export function parseWorkloadId(value: string): SpiffeId {
  const id = SpiffeId.parse(value);
  if (!id.isWorkload) throw new InvalidValueError('names a trust domain only; the ID in an SVID always has a path');
  return id;
}
