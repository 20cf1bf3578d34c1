/**
 * Summaries, confidence intervals and overhead ratios.
 *
 * Choices (documented in the README "Statistics"):
 * - ci95 is the t-based 95% confidence interval of the MEAN (Student t with n-1
 *   degrees of freedom). Benchmarks here run 3-10 repetitions; a bootstrap of so
 *   few values understates the spread, the t interval does not.
 * - Overhead ratio = backend mean / native mean. Its 95% CI comes from the delta
 *   method on log(ratio) with Welch-Satterthwaite degrees of freedom, so unequal
 *   variances and small samples are handled. A ratio whose CI contains 1 is
 *   "within noise", never an overhead.
 * - Outliers: modified z-score (0.6745 * |x - median| / MAD) > 3.5 (Iglewicz and
 *   Hoaglin), as hyperfine flags them. Flagged, never dropped.
 */
import * as ss from 'simple-statistics';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Summary, Verdict } from '../results/types.js';

export function tCritical(df: number, confidence = 0.95): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY;
  return tQuantile(1 - (1 - confidence) / 2, df);
}

export function summarize(values: readonly number[]): Summary | null {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return null;
  const mean = ss.mean(xs);
  const median = ss.median(xs);
  const stdev = n > 1 ? ss.sampleStandardDeviation(xs) : 0;
  const half = n > 1 ? (tCritical(n - 1) * stdev) / Math.sqrt(n) : 0;
  return {
    n,
    median,
    mean,
    stdev,
    min: ss.min(xs),
    max: ss.max(xs),
    ci95: n > 1 ? [mean - half, mean + half] : [mean, mean],
    cv: mean !== 0 ? stdev / Math.abs(mean) : 0,
    outliers: outlierIndices(xs),
  };
}

/** Half-width of the 95% CI as a percentage of the mean (for adaptive repetition). */
export function ciHalfWidthPct(values: readonly number[]): number {
  const s = summarize(values);
  if (!s || s.n < 2 || s.mean === 0) return Number.POSITIVE_INFINITY;
  return ((s.ci95[1] - s.mean) / Math.abs(s.mean)) * 100;
}

export function outlierIndices(xs: readonly number[]): number[] {
  if (xs.length < 4) return [];
  const med = ss.median([...xs]);
  const mad = ss.medianAbsoluteDeviation([...xs]);
  if (mad === 0) return [];
  const out: number[] = [];
  xs.forEach((x, i) => {
    if ((0.6745 * Math.abs(x - med)) / mad > 3.5) out.push(i);
  });
  return out;
}

export interface RatioEstimate {
  ratio: number;
  ci95: [number, number];
  df: number;
}

/** Ratio of means b/a with a 95% CI (delta method on the log ratio, Welch df). */
export function ratioOfMeans(a: readonly number[], b: readonly number[]): RatioEstimate | null {
  if (a.length < 1 || b.length < 1) return null;
  const ma = ss.mean([...a]);
  const mb = ss.mean([...b]);
  if (ma <= 0 || mb <= 0) return null;
  const ratio = mb / ma;
  if (a.length < 2 || b.length < 2) return { ratio, ci95: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], df: 0 };
  const va = ss.sampleVariance([...a]) / (a.length * ma * ma);
  const vb = ss.sampleVariance([...b]) / (b.length * mb * mb);
  const se = Math.sqrt(va + vb);
  if (se === 0) return { ratio, ci95: [ratio, ratio], df: Number.POSITIVE_INFINITY };
  // Welch-Satterthwaite degrees of freedom for the two relative variances.
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const t = tCritical(df);
  const lr = Math.log(ratio);
  return { ratio, ci95: [Math.exp(lr - t * se), Math.exp(lr + t * se)], df };
}

export interface OverheadEstimate {
  ratio: number;
  ratioCi95: [number, number];
  /** Positive = backend is worse than native, in percent. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  verdict: Verdict;
}

/**
 * Overhead of `backend` vs `native` for one metric. For higher-is-better metrics
 * (throughput), cost = 1 - ratio; for lower-is-better (latency, memory), cost = ratio - 1.
 */
export function overhead(native: readonly number[], backend: readonly number[], higherIsBetter: boolean): OverheadEstimate | null {
  const r = ratioOfMeans(native, backend);
  if (!r) return null;
  const toPct = (ratio: number): number => (higherIsBetter ? (1 - ratio) * 100 : (ratio - 1) * 100);
  const lo = toPct(r.ci95[0]);
  const hi = toPct(r.ci95[1]);
  const ci: [number, number] = [Math.min(lo, hi), Math.max(lo, hi)];
  let verdict: Verdict;
  if (native.length < 2 || backend.length < 2) verdict = 'insufficient-data';
  else if (r.ci95[0] <= 1 && r.ci95[1] >= 1) verdict = 'within-noise';
  else verdict = toPct(r.ratio) > 0 ? 'overhead' : 'better';
  return { ratio: r.ratio, ratioCi95: r.ci95, overheadPct: toPct(r.ratio), overheadPctCi95: ci, verdict };
}

/** Quantile with linear interpolation between order statistics (R type 7); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export interface DifferenceEstimate {
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
 * instance). With fewer than 2 values on either side the CI is unbounded.
 */
export function differenceOfMeans(a: readonly number[], b: readonly number[]): DifferenceEstimate | null {
  const xa = a.filter((v) => Number.isFinite(v));
  const xb = b.filter((v) => Number.isFinite(v));
  if (xa.length < 1 || xb.length < 1) return null;
  const diff = ss.mean(xb) - ss.mean(xa);
  if (xa.length < 2 || xb.length < 2) return { diff, ci95: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], df: 0 };
  const va = ss.sampleVariance(xa) / xa.length;
  const vb = ss.sampleVariance(xb) / xb.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { diff, ci95: [diff, diff], df: Number.POSITIVE_INFINITY };
  const df = (va + vb) ** 2 / ((va > 0 ? va ** 2 / (xa.length - 1) : 0) + (vb > 0 ? vb ** 2 / (xb.length - 1) : 0));
  const half = tCritical(df) * se;
  return { diff, ci95: [diff - half, diff + half], df };
}
