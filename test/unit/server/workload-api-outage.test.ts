import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { OUTAGE_WARNING_EVERY_MS, WorkloadApiOutageLog } from '../../../src/server/workload-api-outage';
import { WorkloadApiError } from '../../../src/spiffe/errors';
import { CapturedLog } from '../../integration/support/gateway-world';

const unavailable = () => new WorkloadApiError('FetchX509SVID: UNAVAILABLE: No connection established', grpc.status.UNAVAILABLE);

describe('WorkloadApiOutageLog', () => {
  const start = new Date('2030-01-01T00:00:00Z').getTime();
  const expiresAt = new Date(start + 90_000);
  let source: EventEmitter & { closed: boolean };
  let log: CapturedLog;
  let outage: WorkloadApiOutageLog;
  const svid = { expiresAt, secondsLeft: () => (expiresAt.getTime() - Date.now()) / 1000 };

  beforeEach(() => {
    jest.useFakeTimers({ now: start });
    source = Object.assign(new EventEmitter(), { closed: false });
    log = new CapturedLog();
    outage = new WorkloadApiOutageLog(source, svid, log.logger);
  });
  afterEach(() => jest.useRealTimers());

  const lines = () => log.lines.map((l) => [l.level, l.msg, l.svidSecondsLeft]);

  it('warns once when the stream first fails, with the time left on the SVID, whatever the retries', () => {
    for (let i = 0; i < 10; i++) {
      source.emit('error', unavailable());
      jest.advanceTimersByTime(100);
    }
    expect(lines()).toEqual([[40, 'Workload API unreachable', 90]]);
    expect(log.lines[0]).toMatchObject({ svidExpiresAt: expiresAt.toISOString(), err: 'FetchX509SVID: UNAVAILABLE: No connection established' });
    expect(outage.down).toBe(true);
  });

  it('repeats the warning every 30 s while down, then says once at info that it is back', () => {
    expect(OUTAGE_WARNING_EVERY_MS).toBe(30_000);
    source.emit('error', unavailable());
    jest.advanceTimersByTime(29_999);
    source.emit('error', unavailable());
    expect(log.lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    jest.advanceTimersByTime(30_000);
    jest.advanceTimersByTime(30_000); // at the SVID's notAfter: nothing left
    source.emit('update');
    jest.advanceTimersByTime(60_000);
    expect(lines()).toEqual([
      [40, 'Workload API unreachable', 90],
      [40, 'Workload API still unreachable', 60],
      [40, 'Workload API still unreachable', 30],
      [40, 'Workload API still unreachable', 0],
      [30, 'Workload API reachable again', undefined],
    ]);
    expect(log.lines.at(-1)).toMatchObject({ downSeconds: 90, failedAttempts: 2 });
    expect(outage.down).toBe(false);
  });

  it('ignores a withdrawal (the API answered) and a discarded message, and an update outside an outage', () => {
    source.emit('error', new WorkloadApiError('FetchX509SVID: PERMISSION_DENIED: no identity issued', grpc.status.PERMISSION_DENIED));
    source.emit('error', new Error('x509svid: cannot parse'));
    source.emit('update');
    expect(log.lines).toEqual([]);
  });

  it('stops repeating once the source is closed', () => {
    source.emit('error', unavailable());
    source.closed = true;
    jest.advanceTimersByTime(120_000);
    expect(log.lines).toHaveLength(1);
  });
});
