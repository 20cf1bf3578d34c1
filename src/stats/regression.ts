/**
 * Least-squares slope of y over x, with a 95% CI from the residual standard
 * error (Student t, n - 2 degrees of freedom). Used for the marginal memory
 * per instance (density): the slope over the instance-count levels.
 * Assumes the points lie on a line with independent, equal-variance errors;
 * with 2 points the slope is exact and its CI unbounded.
 */
import { tCritical } from './index.js';

export interface SlopeEstimate {
  slope: number;
  intercept: number;
  /** 95% CI of the slope; [-inf, +inf] with fewer than 3 points. */
  ci95: [number, number];
  n: number;
}

export function slopeWithCi(xs: readonly number[], ys: readonly number[]): SlopeEstimate {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) throw new Error('slope needs at least two points');
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number;
    sy += ys[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  if (den === 0) throw new Error('slope: all x equal');
  const slope = num / den;
  const intercept = my - slope * mx;
  if (n < 3) return { slope, intercept, ci95: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], n };
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((ys[i] as number) - intercept - slope * (xs[i] as number)) ** 2;
  const se = Math.sqrt(sse / (n - 2) / den);
  const half = tCritical(n - 2) * se;
  return { slope, intercept, ci95: [slope - half, slope + half], n };
}

/** The slope alone. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  return slopeWithCi(xs, ys).slope;
}
