import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import type { WorkloadApiError } from '../../../../src/spiffe/errors';
import type { Backoff, BackoffStrategy } from '../../../../src/spiffe/workload/backoff';
import { StreamWatcher } from '../../../../src/spiffe/workload/stream-watcher';

/** Stands in for a grpc-js ClientReadableStream: tests drive its events. */
class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
    this.end(grpc.status.CANCELLED, 'Cancelled on client');
  }
  end(code: grpc.status, details = ''): void {
    if (code !== grpc.status.OK) this.emit('error', Object.assign(new Error(details), { code }));
    this.emit('status', { code, details, metadata: new grpc.Metadata() });
  }
}

/** Delays 100, 200, 300, ... and a log of what the watcher asked. */
function recordingBackoff(): { strategy: BackoffStrategy; log: string[] } {
  const log: string[] = [];
  let n = 0;
  const backoff: Backoff = {
    next: () => {
      n++;
      log.push(`next ${n * 100}`);
      return n * 100;
    },
    reset: () => {
      n = 0;
      log.push('reset');
    },
  };
  return { strategy: { newBackoff: () => backoff }, log };
}

describe('StreamWatcher', () => {
  let streams: FakeStream[];
  let messages: string[];
  let errors: [number, boolean][];
  let backoff: ReturnType<typeof recordingBackoff>;

  function watch(accept: (m: string) => boolean = () => true, onError?: (w: StreamWatcher<string>) => void): StreamWatcher<string> {
    const watcher: StreamWatcher<string> = new StreamWatcher<string>(
      'FetchX509SVID',
      () => {
        const stream = new FakeStream();
        streams.push(stream);
        return stream as unknown as grpc.ClientReadableStream<string>;
      },
      backoff.strategy,
      {
        onMessage: (m) => {
          messages.push(m);
          return accept(m);
        },
        onError: (e: WorkloadApiError, willRetry) => {
          errors.push([e.grpcCode, willRetry]);
          onError?.(watcher);
        },
      },
    );
    return watcher;
  }

  beforeEach(() => {
    jest.useFakeTimers();
    streams = [];
    messages = [];
    errors = [];
    backoff = recordingBackoff();
  });
  afterEach(() => jest.useRealTimers());

  it('opens at once, and re-opens only after the backoff delay', () => {
    watch();
    expect(streams).toHaveLength(1);
    streams[0].end(grpc.status.UNAVAILABLE, 'down');
    jest.advanceTimersByTime(99);
    expect(streams).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(streams).toHaveLength(2);
    expect(errors).toEqual([[grpc.status.UNAVAILABLE, true]]);
  });

  it('re-opens a normally ended stream after a backoff, without reporting an error', () => {
    watch();
    streams[0].end(grpc.status.OK);
    expect(errors).toEqual([]);
    jest.advanceTimersByTime(100);
    expect(streams).toHaveLength(2);
  });

  it('resets the backoff after a good message only', () => {
    watch((m) => m !== 'bad');
    streams[0].end(grpc.status.UNAVAILABLE);
    jest.advanceTimersByTime(100);
    streams[1].emit('data', 'bad');
    streams[1].end(grpc.status.UNAVAILABLE);
    jest.advanceTimersByTime(200);
    streams[2].emit('data', 'good');
    streams[2].end(grpc.status.UNAVAILABLE);
    expect(backoff.log).toEqual(['next 100', 'next 200', 'reset', 'next 100']);
    expect(messages).toEqual(['bad', 'good']);
  });

  it.each([
    ['PermissionDenied', grpc.status.PERMISSION_DENIED],
    ['Unavailable', grpc.status.UNAVAILABLE],
    ['Unknown', grpc.status.UNKNOWN],
    ['Cancelled by the server', grpc.status.CANCELLED],
    ['Internal', grpc.status.INTERNAL],
  ])('reports %s and retries', (_name, code) => {
    watch();
    streams[0].end(code, 'x');
    jest.advanceTimersByTime(100);
    expect(errors).toEqual([[code, true]]);
    expect(streams).toHaveLength(2);
  });

  it.each([
    ['InvalidArgument', grpc.status.INVALID_ARGUMENT],
    ['Unimplemented', grpc.status.UNIMPLEMENTED],
  ])('reports %s as final and never retries', (_name, code) => {
    const watcher = watch();
    streams[0].end(code, 'x');
    jest.advanceTimersByTime(60_000);
    expect(errors).toEqual([[code, false]]);
    expect(streams).toHaveLength(1);
    expect(watcher.isStopped).toBe(true);
    expect(backoff.log).toEqual([]);
  });

  it('stop() cancels the open call silently and is idempotent', () => {
    const watcher = watch();
    watcher.stop();
    watcher.stop();
    expect(streams[0].cancelled).toBe(true);
    jest.advanceTimersByTime(60_000);
    expect(errors).toEqual([]);
    expect(streams).toHaveLength(1);
  });

  it('stop() during the backoff wait cancels the reconnect', () => {
    const watcher = watch();
    streams[0].end(grpc.status.UNAVAILABLE);
    watcher.stop();
    jest.advanceTimersByTime(60_000);
    expect(streams).toHaveLength(1);
  });

  it('does not reconnect when the owner stops it from inside onError', () => {
    watch(undefined, (w) => w.stop());
    streams[0].end(grpc.status.PERMISSION_DENIED);
    jest.advanceTimersByTime(60_000);
    expect(streams).toHaveLength(1);
  });

  it('still takes a message that grpc-js delivers after the status, and ignores all after stop()', () => {
    const watcher = watch();
    streams[0].end(grpc.status.UNAVAILABLE);
    streams[0].emit('data', 'late');
    expect(messages).toEqual(['late']);
    watcher.stop();
    streams[0].emit('data', 'after stop');
    expect(messages).toEqual(['late']);
  });
});
