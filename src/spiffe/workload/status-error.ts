import * as grpc from '@grpc/grpc-js';
import { WorkloadApiError } from '../errors';

/**
 * A failed Workload API call as a typed error, e.g.
 * `FetchX509SVID: PERMISSION_DENIED: no identity issued`. Callers branch on `grpcCode`.
 */
export function workloadApiError(method: string, status: Pick<grpc.StatusObject, 'code' | 'details'>): WorkloadApiError {
  const name = grpc.status[status.code] ?? `code ${status.code}`;
  return new WorkloadApiError(`${method}: ${name}: ${status.details}`, status.code);
}
