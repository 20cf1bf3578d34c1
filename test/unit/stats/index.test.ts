import { describe, expect, it } from 'vitest';
import { summarize, ratioOfMeans, overhead, outlierIndices, tCritical } from '../../../src/stats/index.js';

describe('summarize', () => {
  it('matches hand-computed values for 1..5', () => {
    const s = summarize([5, 1, 4, 2, 3])!;
    expect(s.n).toBe(5);
    expect(s.median).toBe(3);
    expect(s.mean).toBe(3);
    expect(s.stdev).toBeCloseTo(1.5811388, 6);
    // t(0.975, 4) = 2.776445; half-width = 2.776445 * 1.5811388 / sqrt(5) = 1.963243
    expect(s.ci95[0]).toBeCloseTo(3 - 1.963243, 5);
    expect(s.ci95[1]).toBeCloseTo(3 + 1.963243, 5);
    expect(s.cv).toBeCloseTo(1.5811388 / 3, 6);
    expect(s.min).toBe(1);
    expect(s.max).toBe(5);
  });
  it('returns null for no values and a zero-width CI for one', () => {
    expect(summarize([])).toBeNull();
    expect(summarize([7])!.ci95).toEqual([7, 7]);
  });
  it('ignores non-finite values rather than propagating NaN', () => {
    expect(summarize([1, Number.NaN, 3])!.mean).toBe(2);
  });
  it('uses Student t critical values', () => {
    expect(tCritical(1)).toBeCloseTo(12.7062, 3);
    expect(tCritical(10)).toBeCloseTo(2.2281, 3);
    expect(tCritical(1e6)).toBeCloseTo(1.96, 2);
  });
});

describe('outliers', () => {
  it("flags a far value at n = 3..10 by Dixon's Q and keeps the rest", () => {
    expect(outlierIndices([10, 11, 10.5, 10.2, 30])).toEqual([4]);
    expect(outlierIndices([10, 11, 10.5, 10.2])).toEqual([]);
    // n = 3: Q = 19 / 20 = 0.95 < 0.970, not flagged; Q = 99 / 100 flagged.
    expect(outlierIndices([10, 11, 30])).toEqual([]);
    expect(outlierIndices([10, 11, 110])).toEqual([2]);
    expect(outlierIndices([1, 100, 100.5, 101])).toEqual([0]);
  });
  it('says n is too small below 3, and uses the MAD z-score above 10', () => {
    expect(summarize([1, 50])!.outlierMethod).toBe('none: n < 3');
    expect(summarize([1, 2, 3])!.outlierMethod).toBe('dixon-q95');
    const xs = [10, 10.2, 9.9, 10.1, 10, 9.8, 10.3, 10.1, 9.9, 10, 25];
    expect(summarize(xs)!.outlierMethod).toBe('mad-z3.5');
    expect(outlierIndices(xs)).toEqual([10]);
  });
});

describe('overhead', () => {
  it('a clear 10% slowdown of a throughput metric is an overhead with a CI around 10%', () => {
    const o = overhead([100, 101, 99, 100], [90, 91, 89, 90], true, 3)!;
    expect(o.ratio).toBeCloseTo(0.9, 6);
    expect(o.overheadPct).toBeCloseTo(10, 6);
    expect(o.verdict).toBe('overhead');
    expect(o.overheadPctCi95[0]).toBeLessThan(10);
    expect(o.overheadPctCi95[1]).toBeGreaterThan(10);
  });
  it('a 1% difference inside noisy samples is inconclusive at a 3% threshold, with the repetitions that would decide it', () => {
    const o = overhead([100, 110, 90, 105], [99, 108, 91, 102], true, 3)!;
    expect(o.verdict).toBe('inconclusive');
    expect(o.repetitionsNeeded!).toBeGreaterThan(4);
    expect(o.detectablePct).toBeGreaterThan(3);
  });
  it('a tight CI inside the threshold is no practical difference', () => {
    const o = overhead([100, 100.5, 99.5, 100.2], [100.3, 100.1, 99.8, 100.4], true, 3)!;
    expect(o.verdict).toBe('no-practical-difference');
    expect(o.repetitionsNeeded).toBeNull();
  });
  it('lower-is-better metrics: higher latency is an overhead', () => {
    const o = overhead([10, 10.1, 9.9], [12, 12.1, 11.9], false)!;
    expect(o.overheadPct).toBeCloseTo(20, 6);
    expect(o.verdict).toBe('overhead');
  });
  it('faster than native is "better", not a negative overhead verdict', () => {
    expect(overhead([10, 10.1, 9.9], [12, 12.1, 11.9], true)!.verdict).toBe('better');
  });
  it('one repetition is insufficient data', () => {
    expect(overhead([10], [12], true)!.verdict).toBe('insufficient-data');
  });
  it('ratio CI is symmetric in log space and contains the ratio', () => {
    const r = ratioOfMeans([10, 11, 9], [20, 22, 18])!;
    expect(r.ratio).toBeCloseTo(2, 6);
    expect(r.ci95[0]).toBeLessThan(2);
    expect(r.ci95[1]).toBeGreaterThan(2);
    expect(Math.log(r.ci95[1] / 2)).toBeCloseTo(Math.log(2 / r.ci95[0]), 6);
  });
});
