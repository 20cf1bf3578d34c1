/**
 * The one estimator module: every point estimate, interval and verdict that
 * isobench reports comes from here (run overheads, compare, report, capacity).
 * The README's "Statistics" section documents the same formulas.
 *
 * - A metric's figure is the MEAN of its repetitions; its 95% CI is Student t
 *   with n-1 degrees of freedom. Benchmarks here run 3-10 repetitions; a
 *   bootstrap of so few values understates the spread, the t interval does not.
 * - Backend vs native: ratio of means, 95% CI from the delta method on
 *   log(ratio) with Welch-Satterthwaite degrees of freedom (ratioOfMeans); or,
 *   where a ratio means nothing (per-instance costs, a native mean ~0, figures
 *   in pp), the difference of means with a Welch CI (differenceOfMeans).
 * - Verdicts are equivalence-based (equivalence.ts); run-to-run changes use the
 *   ratio of ratios (change.ts); outliers in outliers.ts; slopes in regression.ts.
 */
import * as ss from 'simple-statistics';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Summary } from '../results/types.js';
import { outlierIndices, outlierMethod } from './outliers.js';

export { outlierIndices, outlierMethod, type OutlierMethod } from './outliers.js';
export { linearFit, type LinearFit } from './regression.js';

/** Two-sided critical value of Student t (confidence 0.95 -> the 97.5% quantile). */
export function tCritical(df: number, confidence = 0.95): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY;
  return tQuantile(1 - (1 - confidence) / 2, df);
}

/** One-sided quantile of Student t (p = 0.8 for 80% power). */
export function tQuantileOf(p: number, df: number): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY;
  return tQuantile(p, df);
}

function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

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

/**
 * One side of an estimate: its mean, and the variance of one observation
 * (relative, s^2/mean^2, for ratios; absolute, s^2, for differences).
 */
export interface Side {
  n: number;
  mean: number;
  /** Variance of one observation on the estimate's scale (log for ratios, the unit^2 for differences). */
  obsVar: number;
}

/**
 * A two-or-more-sided estimate on a scale where its CI is symmetric: log(ratio)
 * for ratios, the unit for differences. Everything a verdict and a
 * "repetitions needed" projection need.
 */
export interface Estimate {
  scale: 'log' | 'linear';
  /** log(ratio) or the difference. */
  center: number;
  sides: Side[];
  se: number;
  df: number;
}

/** Welch-Satterthwaite: standard error and degrees of freedom of a sum of independent mean terms. */
export function welch(sides: readonly Side[], reps?: number): { se: number; df: number } {
  const terms = sides.map((s) => s.obsVar / (reps ?? s.n));
  const v = terms.reduce((a, b) => a + b, 0);
  if (sides.some((s) => (reps ?? s.n) < 2)) return { se: Number.POSITIVE_INFINITY, df: 0 };
  if (v === 0) return { se: 0, df: Number.POSITIVE_INFINITY };
  const den = sides.reduce((a, s, i) => a + ((terms[i] as number) > 0 ? (terms[i] as number) ** 2 / ((reps ?? s.n) - 1) : 0), 0);
  return { se: Math.sqrt(v), df: (v * v) / den };
}

export function ciOf(e: Pick<Estimate, 'center' | 'se' | 'df'>, confidence = 0.95): [number, number] {
  if (!Number.isFinite(e.se)) return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  if (e.se === 0) return [e.center, e.center];
  const h = tCritical(e.df, confidence) * e.se;
  return [e.center - h, e.center + h];
}

function sideOf(values: readonly number[], scale: 'log' | 'linear'): Side | null {
  const xs = finite(values);
  if (xs.length === 0) return null;
  const m = ss.mean(xs);
  const v = xs.length > 1 ? ss.sampleVariance(xs) : 0;
  if (scale === 'log') {
    if (!(m > 0)) return null;
    return { n: xs.length, mean: m, obsVar: v / (m * m) };
  }
  return { n: xs.length, mean: m, obsVar: v };
}

/**
 * The log of a product of mean ratios: sum of +log(mean) for `num` and
 * -log(mean) for `den`, its variance by the delta method (sum of relative
 * variances of the means), Welch-Satterthwaite df over all sides.
 */
export function logRatioEstimate(num: readonly (readonly number[])[], den: readonly (readonly number[])[]): Estimate | null {
  const ns = num.map((v) => sideOf(v, 'log'));
  const ds = den.map((v) => sideOf(v, 'log'));
  if (ns.some((s) => !s) || ds.some((s) => !s)) return null;
  const sides = [...ns, ...ds] as Side[];
  const center = (ns as Side[]).reduce((a, s) => a + Math.log(s.mean), 0) - (ds as Side[]).reduce((a, s) => a + Math.log(s.mean), 0);
  return { scale: 'log', center, sides, ...welch(sides) };
}

/** A sum of +mean(plus) - mean(minus) with a Welch CI. */
export function differenceEstimate(plus: readonly (readonly number[])[], minus: readonly (readonly number[])[]): Estimate | null {
  const ps = plus.map((v) => sideOf(v, 'linear'));
  const ms = minus.map((v) => sideOf(v, 'linear'));
  if (ps.some((s) => !s) || ms.some((s) => !s)) return null;
  const sides = [...ps, ...ms] as Side[];
  const center = (ps as Side[]).reduce((a, s) => a + s.mean, 0) - (ms as Side[]).reduce((a, s) => a + s.mean, 0);
  return { scale: 'linear', center, sides, ...welch(sides) };
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
