import { status } from '@grpc/grpc-js';
import { refusalMessage, Status } from '../../../src/relay/grpc-status';

describe('refusalMessage', () => {
  // The words callers have always read: part of what a caller sees (README), so pinned here.
  it.each([
    [status.OK, 'ok'],
    [status.CANCELLED, 'cancelled'],
    [status.UNKNOWN, 'unknown error'],
    [status.INVALID_ARGUMENT, 'invalid argument'],
    [status.DEADLINE_EXCEEDED, 'deadline exceeded'],
    [status.NOT_FOUND, 'not found'],
    [status.PERMISSION_DENIED, 'permission denied'],
    [status.RESOURCE_EXHAUSTED, 'resource exhausted'],
    [status.UNIMPLEMENTED, 'unimplemented'],
    [status.INTERNAL, 'internal error'],
    [status.UNAVAILABLE, 'unavailable'],
    [status.UNAUTHENTICATED, 'unauthenticated'],
  ])('status %i reads "%s (decision …)"', (code, words) => {
    expect(refusalMessage(code, '3f2a9c41d0e2-7')).toBe(`${words} (decision 3f2a9c41d0e2-7)`);
  });

  it('numbers statuses as grpc-js and the gRPC spec do', () => {
    expect(Status.PERMISSION_DENIED).toBe(7);
    expect(Status.RESOURCE_EXHAUSTED).toBe(8);
    expect(Status.UNAVAILABLE).toBe(14);
    expect(Status.UNAUTHENTICATED).toBe(16);
  });
});
