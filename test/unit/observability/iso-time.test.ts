import fc from 'fast-check';
import { IsoTime } from '../../../src/observability/iso-time';

describe('IsoTime (the decision log time, the seconds formatted once)', () => {
  it('writes what toISOString writes, for times in any order, near or far apart', () => {
    const base = fc.integer({ min: -62198755200000, max: 253402300799999 });
    const step = fc.oneof(fc.integer({ min: -2000, max: 2000 }), fc.integer({ min: -1e12, max: 1e12 }), fc.double({ min: -5, max: 5, noNaN: true }));
    fc.assert(
      fc.property(base, fc.array(step, { maxLength: 20 }), (start, steps) => {
        const iso = new IsoTime();
        let ms = start;
        for (const d of [0, ...steps]) {
          ms += d;
          expect(iso.format(ms)).toBe(new Date(ms).toISOString());
        }
      }),
      { numRuns: 2000 },
    );
    const iso = new IsoTime();
    for (const ms of [999, 1000, 1001, 0, -1, -1000, -1001, 1_764_779_999_999, 1_764_780_000_000]) expect(iso.format(ms)).toBe(new Date(ms).toISOString());
    expect(() => iso.format(Number.NaN)).toThrow(RangeError);
  });
});
