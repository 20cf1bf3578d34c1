/**
 * The one estimator module: every point estimate, interval and verdict that
 * isobench reports comes from here (run overheads, compare, report, capacity).
 * docs/statistics.md documents the same rules and their error rates.
 *
 * - A metric's own figure is the MEAN of its repetitions; its 95% CI is
 *   Student t with n-1 degrees of freedom.
 * - Backend vs native: PAIRED by round wherever the values carry their round
 *   (paired.ts): d = ln(backend) - ln(native) per round, the figure exp(mean d)
 *   with a t interval on pairs - 1 df; per-round differences for figures
 *   compared by difference. Unpaired (ratio or difference of means, Welch)
 *   only where no pairing exists, and then the figure says so (`design`).
 * - Verdicts (equivalence.ts): TOST for "no practical difference", the 95% CI
 *   for a real difference; the adaptive rule in sequential.ts; run-to-run
 *   changes with a between-run variance term in change.ts and Holm's
 *   correction in multiplicity.ts; outliers in outliers.ts; slopes in
 *   regression.ts; the shared estimate core in estimate.ts.
 */
import * as ss from 'simple-statistics';
import type { Summary } from '../results/types.js';
import { outlierIndices, outlierMethod } from './outliers.js';
import { ciOf, differenceEstimate, finite, logRatioEstimate, tCritical } from './estimate.js';

export { outlierIndices, outlierMethod, type OutlierMethod } from './outliers.js';
export { linearFit, type LinearFit } from './regression.js';
export { tCritical, tQuantileOf, welch, ciOf, type Side, type Estimate } from './estimate.js';
export { logRatioEstimate, differenceEstimate, pairedEstimate } from './estimate.js';

export function mean(values: readonly number[]): number {
  const xs = finite(values);
  return xs.length ? ss.mean(xs) : Number.NaN;
}

export function median(values: readonly number[]): number {
  const xs = finite(values);
  return xs.length ? ss.median(xs) : Number.NaN;
}

/** Quantile with linear interpolation between order statistics (R type 7); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const s = finite(values).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary | null {
  const xs = finite(values);
  const n = xs.length;
  if (n === 0) return null;
  const m = ss.mean(xs);
  const stdev = n > 1 ? ss.sampleStandardDeviation(xs) : 0;
  const half = n > 1 ? (tCritical(n - 1) * stdev) / Math.sqrt(n) : 0;
  return {
    n,
    median: ss.median(xs),
    mean: m,
    stdev,
    min: ss.min(xs),
    max: ss.max(xs),
    ci95: n > 1 ? [m - half, m + half] : [m, m],
    cv: m !== 0 ? stdev / Math.abs(m) : 0,
    outliers: outlierIndices(xs),
    outlierMethod: outlierMethod(n),
  };
}

export interface RatioEstimate {
  ratio: number;
  ci95: [number, number];
  df: number;
}

/** Ratio of means b/a with a 95% CI (delta method on the log ratio, Welch df). */
export function ratioOfMeans(a: readonly number[], b: readonly number[]): RatioEstimate | null {
  const e = logRatioEstimate([b], [a]);
  if (!e) return null;
  const [lo, hi] = ciOf(e);
  return { ratio: Math.exp(e.center), ci95: [Math.exp(lo), Math.exp(hi)], df: e.df };
}

export interface DifferenceOfMeans {
  /** mean(b) − mean(a). */
  diff: number;
  /** 95% CI of the difference: Welch's t (unequal variances, Welch–Satterthwaite df). */
  ci95: [number, number];
  df: number;
}

/**
 * Difference of means b − a with a 95% Welch CI. Used where a ratio is
 * meaningless because the baseline is ~0 (an idle native process has no
 * footprint) or where the cost is absolute by nature (start-up time, MiB per
 * instance, pp). With fewer than 2 values on either side the CI is unbounded.
 */
export function differenceOfMeans(a: readonly number[], b: readonly number[]): DifferenceOfMeans | null {
  const e = differenceEstimate([b], [a]);
  if (!e) return null;
  return { diff: e.center, ci95: ciOf(e), df: e.df };
}

export * from './equivalence.js';
export * from './change.js';
export * from './paired.js';
export * from './sequential.js';
export * from './multiplicity.js';
