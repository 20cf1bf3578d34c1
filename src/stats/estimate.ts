/**
 * The estimate core every statistic builds on: Student t quantiles, Welch
 * standard errors, and log-ratio / difference estimates with their CIs. Its own
 * module so equivalence.ts and change.ts can use it without importing the
 * stats index that re-exports them (that was an import cycle).
 */
import * as ss from 'simple-statistics';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

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

/** The finite values only: a NaN or an infinity never enters a statistic. */
export function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
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
  /**
   * paired: one side, the per-round differences d (sides[0].obsVar = var(d), n = pairs, df = n - 1);
   * unpaired: independent sides combined by Welch-Satterthwaite.
   */
  design: 'paired' | 'unpaired';
  /** log(ratio) or the difference. */
  center: number;
  sides: Side[];
  se: number;
  df: number;
  /** A variance inside `se` that more repetitions do not shrink (compare's between-run term), 0 when absent. */
  extraVar?: number;
}

/** Welch-Satterthwaite: standard error and degrees of freedom of a sum of independent mean terms. */
export function welch(sides: readonly Side[], reps?: number): { se: number; df: number } {
  const terms = sides.map((s) => s.obsVar / (reps ?? s.n));
  const v = terms.reduce((a, b) => a + b, 0);
  if (sides.some((s) => (reps ?? s.n) < 2)) return { se: Number.POSITIVE_INFINITY, df: 0 };
  if (v === 0) return { se: 0, df: Number.POSITIVE_INFINITY };
  const den = sides.reduce(
    (a, s, i) => a + ((terms[i] as number) > 0 ? (terms[i] as number) ** 2 / ((reps ?? s.n) - 1) : 0),
    0,
  );
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
export function logRatioEstimate(
  num: readonly (readonly number[])[],
  den: readonly (readonly number[])[],
): Estimate | null {
  const ns = num.map((v) => sideOf(v, 'log'));
  const ds = den.map((v) => sideOf(v, 'log'));
  if (ns.some((s) => !s) || ds.some((s) => !s)) return null;
  const sides = [...ns, ...ds] as Side[];
  const center =
    (ns as Side[]).reduce((a, s) => a + Math.log(s.mean), 0) - (ds as Side[]).reduce((a, s) => a + Math.log(s.mean), 0);
  return { scale: 'log', design: 'unpaired', center, sides, ...welch(sides) };
}

/** A sum of +mean(plus) - mean(minus) with a Welch CI. */
export function differenceEstimate(
  plus: readonly (readonly number[])[],
  minus: readonly (readonly number[])[],
): Estimate | null {
  const ps = plus.map((v) => sideOf(v, 'linear'));
  const ms = minus.map((v) => sideOf(v, 'linear'));
  if (ps.some((s) => !s) || ms.some((s) => !s)) return null;
  const sides = [...ps, ...ms] as Side[];
  const center = (ps as Side[]).reduce((a, s) => a + s.mean, 0) - (ms as Side[]).reduce((a, s) => a + s.mean, 0);
  return { scale: 'linear', design: 'unpaired', center, sides, ...welch(sides) };
}

/**
 * The paired estimate from per-round differences d (d = ln b - ln n for
 * ratios, b - n for differences): center mean(d), SE sd(d)/sqrt(n), t on
 * n - 1 df. One side, so `welch(sides, k)` projects it to k pairs.
 */
export function pairedEstimate(d: readonly number[], scale: 'log' | 'linear'): Estimate | null {
  const xs = finite(d);
  if (xs.length === 0) return null;
  const m = ss.mean(xs);
  const side: Side = { n: xs.length, mean: m, obsVar: xs.length > 1 ? ss.sampleVariance(xs) : 0 };
  return { scale, design: 'paired', center: m, sides: [side], ...welch([side]) };
}
