import { EventEmitter } from 'node:events';
import { SVID_EXPIRED_REASON, SvidExpiry } from '../../../src/server/svid-expiry';

/** A stand-in for X509Source: the SVID's notAfter, withdrawn when undefined. */
class FakeSource extends EventEmitter {
  closed = false;
  notAfter: number | undefined;
  getX509Svid(): { expiresAt: Date } {
    if (this.notAfter === undefined) throw new Error('withdrawn');
    return { expiresAt: new Date(this.notAfter) };
  }
  deliver(notAfter: number | undefined): void {
    this.notAfter = notAfter;
    this.emit('update');
  }
}

describe('SvidExpiry', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('says expired just past notAfter (valid through notAfter itself), once, by a timer', () => {
    const source = new FakeSource();
    source.notAfter = Date.now() + 5000;
    const expiry = new SvidExpiry(source);
    const expired: Date[] = [];
    expiry.on('expired', (at) => expired.push(at));
    expect(expiry.secondsLeft()).toBe(5);
    jest.advanceTimersByTime(5000);
    expect([expiry.isExpired(), expiry.reason(), expired]).toEqual([false, undefined, []]);
    jest.advanceTimersByTime(1);
    expect([expiry.isExpired(), expiry.reason(), expired]).toEqual([true, SVID_EXPIRED_REASON, [new Date(source.notAfter)]]);
    expect(expiry.secondsLeft()).toBeLessThan(0);
    jest.advanceTimersByTime(60_000);
    expect(expired).toHaveLength(1);
  });

  it('follows a new SVID, and keeps the last notAfter while the SVID is withdrawn', () => {
    const source = new FakeSource();
    const start = Date.now();
    source.notAfter = start + 5000;
    const expiry = new SvidExpiry(source);
    const expired: Date[] = [];
    expiry.on('expired', (at) => expired.push(at));
    jest.advanceTimersByTime(4000);
    source.deliver(start + 60_000);
    jest.advanceTimersByTime(2000);
    expect(expired).toEqual([]);
    source.deliver(undefined); // withdrawn: connections made with the last one still hold it
    expect(expiry.expiresAt).toEqual(new Date(start + 60_000));
    jest.advanceTimersByTime(60_000);
    expect(expired).toEqual([new Date(start + 60_000)]);
    source.deliver(Date.now() + 3_600_000);
    expect(expiry.isExpired()).toBe(false);
  });

  it('waits out an SVID longer than a timer can (about 24.8 days) without firing early', () => {
    const source = new FakeSource();
    const days = 30 * 86_400_000;
    source.notAfter = Date.now() + days;
    const expiry = new SvidExpiry(source);
    const expired: Date[] = [];
    expiry.on('expired', (at) => expired.push(at));
    jest.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(days - 1000);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired).toHaveLength(1);
  });

  it('says nothing once the source is closed', () => {
    const source = new FakeSource();
    source.notAfter = Date.now() + 1000;
    const expiry = new SvidExpiry(source);
    const expired: Date[] = [];
    expiry.on('expired', (at) => expired.push(at));
    source.closed = true;
    jest.advanceTimersByTime(2000);
    expect(expired).toEqual([]);
  });
});
