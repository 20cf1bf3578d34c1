import { describe, expect, it } from 'vitest';
import { linearFit } from '../../../src/stats/regression.js';

describe('linearFit', () => {
  it('recovers an exact line with a zero-width CI', () => {
    const f = linearFit([0, 1, 2, 3, 4], [10, 12, 14, 16, 18]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(10, 12);
    expect(f.r2).toBeCloseTo(1, 12);
    expect(f.slopeCi95?.[0]).toBeCloseTo(2, 9);
    expect(f.slopeCi95?.[1]).toBeCloseTo(2, 9);
  });

  it('matches a hand-computed slope CI (t with n-2 df)', () => {
    // x = 0..4, y = 1, 3, 2, 5, 4: slope 0.8, intercept 1.4, SSE 3.6, Sxx 10,
    // se = sqrt(3.6/3/10) = 0.34641, t(0.975, 3) = 3.182446.
    const f = linearFit([0, 1, 2, 3, 4], [1, 3, 2, 5, 4]);
    expect(f.slope).toBeCloseTo(0.8, 12);
    expect(f.intercept).toBeCloseTo(1.4, 12);
    expect(f.slopeSe).toBeCloseTo(0.34641, 5);
    expect(f.slopeCi95?.[0]).toBeCloseTo(0.8 - 3.182446 * 0.34641, 4);
    expect(f.slopeCi95?.[1]).toBeCloseTo(0.8 + 3.182446 * 0.34641, 4);
  });

  it('gives no CI with two points and refuses fewer or degenerate x', () => {
    const f = linearFit([0, 1], [0, 5]);
    expect(f.slope).toBe(5);
    expect(f.slopeCi95).toBeUndefined();
    expect(() => linearFit([1], [1])).toThrow(/two points/);
    expect(() => linearFit([2, 2, 2], [1, 2, 3])).toThrow(/x are equal/);
  });
});
