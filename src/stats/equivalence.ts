/**
 * Equivalence-based verdicts. Every compared figure has a practical threshold
 * T (the workload's declared default, overridable per scenario as `thresholds:`), and
 * its cost C with a 95% CI [lo, hi] (+ = worse), in percent of native for
 * ratios or in the metric's unit for differences. The verdict:
 *
 *   no-practical-difference  the whole CI lies inside [-T, +T]; the only
 *                            verdict that may be read as "same as native";
 *   overhead / better        the CI excludes 0 and |C| > T;
 *   small-difference         the CI excludes 0, |C| <= T (a real difference,
 *                            at most about the threshold);
 *   inconclusive             the CI contains 0 and reaches beyond ±T: the run
 *                            cannot tell; `repetitionsNeeded` says how many
 *                            repetitions per side would likely decide it
 *                            (projected from the observed variances);
 *   insufficient-data        fewer than 2 values on a side: no CI.
 *
 * `detectable` is the smallest cost this run could have detected: the effect
 * a two-sided 5% test finds with 80% power, (t_0.975 + t_0.80) x SE.
 */
import type { Verdict } from '../results/types.js';
import { ciOf, tCritical, tQuantileOf, welch, logRatioEstimate, differenceEstimate, type Estimate } from './estimate.js';
import { outlierIndices } from './outliers.js';
import { workloadDeclaration } from '../core/declarations.js';

export type CompareMode = 'ratio' | 'absolute';

export const OTHER_THRESHOLD_PCT = 5;

/** Unit defaults when the category has none for the unit. */
export const DEFAULT_THRESHOLD_BY_UNIT: Readonly<Record<string, number>> = { ms: 50, s: 0.05, µs: 50, us: 50, ns: 1000, MiB: 8, GiB: 0.01, pp: 5, '%': 5 };

/** A scenario's `thresholds:` value: per category a percent, or an object of `pct` and per-unit absolutes. */
export type ThresholdOverrides = Record<string, number | Record<string, number>>;

// ---- The workload's declaration (src/core/declarations.ts): its comparison and thresholds. ----

/** The workload's own percent threshold for ratio figures (its declaration), else the common default. */
export function declaredThresholdPct(workload: string): number {
  return workloadDeclaration(workload)?.judgement.thresholdPct ?? OTHER_THRESHOLD_PCT;
}

/** The workload's own threshold in a unit for difference figures (its declaration), if it declares one. */
function declaredThresholdAbs(workload: string, unit: string): number | undefined {
  return workloadDeclaration(workload)?.judgement.thresholdByUnit?.[unit];
}

/** Workloads whose figures are per-instance costs: compared by difference, not ratio (their declaration). */
export function comparesByDifference(workload: string): boolean {
  return workloadDeclaration(workload)?.judgement.comparison === 'difference';
}

// ----

/**
 * Ratio or difference for one metric: a ratio needs a positive native mean and
 * a figure that scales; per-instance costs, figures in pp and errors or
 * degradations in percent (near zero by design) are compared by difference.
 */
export function comparisonMode(workload: string, metric: string, unit: string, nativeMean: number | null): CompareMode {
  if (comparesByDifference(workload)) return 'absolute';
  if (unit === 'pp') return 'absolute';
  if (/(error|degradation|drop)(-|_)?pct$/i.test(metric)) return 'absolute';
  if (nativeMean !== null && !(nativeMean > 1e-6)) return 'absolute';
  return 'ratio';
}

export function thresholdFor(mode: CompareMode, workload: string, unit: string, overrides?: ThresholdOverrides, magnitude?: number): number {
  const o = overrides?.[workload];
  if (mode === 'ratio') {
    if (typeof o === 'number') return o;
    if (o && typeof o.pct === 'number') return o.pct;
    return declaredThresholdPct(workload);
  }
  if (o && typeof o === 'object' && typeof o[unit] === 'number') return o[unit] as number;
  const d = declaredThresholdAbs(workload, unit) ?? DEFAULT_THRESHOLD_BY_UNIT[unit];
  if (d !== undefined) return d;
  // No unit default: the category's percent of the figure's size.
  const pct = typeof o === 'number' ? o : o && typeof o.pct === 'number' ? o.pct : declaredThresholdPct(workload);
  return (pct / 100) * Math.abs(magnitude ?? 0);
}

/** The verdict for a cost C with CI [lo, hi] against threshold T (see the module comment). */
export function decide(cost: number, ci: readonly [number, number], threshold: number, enoughData = true): Verdict {
  if (!enoughData || !Number.isFinite(ci[0]) || !Number.isFinite(ci[1])) return 'insufficient-data';
  if (ci[0] >= -threshold && ci[1] <= threshold) return 'no-practical-difference';
  if (ci[0] > 0 || ci[1] < 0) {
    if (Math.abs(cost) > threshold) return cost > 0 ? 'overhead' : 'better';
    return 'small-difference';
  }
  return 'inconclusive';
}

/** A verdict that answers the question (not inconclusive, not insufficient). */
export function isDecided(v: Verdict): boolean {
  return v !== 'inconclusive' && v !== 'insufficient-data';
}

/**
 * A decided verdict must not rest on one flagged outlier. The outlier stays in
 * the estimate (kept and shown), but the verdict is recomputed without the
 * flagged values of every sample; if that changes it, the figure is
 * `inconclusive` and `outlierSensitive` says why. With n = 3 one stalled
 * repetition can move a mean by orders of magnitude (a 12 ms scheduling stall
 * in a 25 µs round trip), and the delta-method interval, which assumes roughly
 * normal means, does not hold then.
 */
export function guardOutliers<T extends { verdict: Verdict; repetitionsNeeded: number | null }>(samples: readonly (readonly number[])[], judgeOf: (s: readonly (readonly number[])[]) => T | null): (T & { outlierSensitive?: true }) | null {
  const all = judgeOf(samples);
  if (!all || !isDecided(all.verdict)) return all;
  const flagged = samples.map((xs) => outlierIndices(xs));
  if (flagged.every((f) => f.length === 0)) return all;
  const clean = judgeOf(samples.map((xs, i) => xs.filter((_, j) => !(flagged[i] as number[]).includes(j))));
  if (clean && clean.verdict === all.verdict) return all;
  return { ...all, verdict: 'inconclusive', repetitionsNeeded: null, outlierSensitive: true };
}

export interface Judged {
  /** + = worse: percent (ratio) or the metric's unit (difference). */
  cost: number;
  costCi95: [number, number];
  threshold: number;
  verdict: Verdict;
  /** Smallest |cost| this run could have detected (80% power, 5% two-sided). */
  detectable: number;
  /** Repetitions per side that would likely decide an inconclusive verdict; null when decided or beyond 1000. */
  repetitionsNeeded: number | null;
}

function toCost(e: Pick<Estimate, 'scale'>, x: number, higherIsBetter: boolean): number {
  if (e.scale === 'log') return higherIsBetter ? (1 - Math.exp(x)) * 100 : (Math.exp(x) - 1) * 100;
  return higherIsBetter ? -x : x;
}

function costInterval(e: Estimate, ci: [number, number], higherIsBetter: boolean): [number, number] {
  const a = toCost(e, ci[0], higherIsBetter);
  const b = toCost(e, ci[1], higherIsBetter);
  return a <= b ? [a, b] : [b, a];
}

const MAX_REPS = 1000;

/** Smallest repetitions per side (> current) whose projected CI, same center and variances, decides the verdict. */
export function repetitionsNeeded(e: Estimate, higherIsBetter: boolean, threshold: number): number | null {
  if (e.sides.some((s) => !Number.isFinite(s.obsVar))) return null;
  const cost = toCost(e, e.center, higherIsBetter);
  const decidedAt = (k: number): boolean => {
    const w = welch(e.sides, k);
    return isDecided(decide(cost, costInterval(e, ciOf({ center: e.center, ...w }), higherIsBetter), threshold));
  };
  let lo = Math.max(2, ...e.sides.map((s) => s.n));
  let hi = lo + 1;
  while (!decidedAt(hi)) {
    if (hi >= MAX_REPS) return null;
    lo = hi;
    hi = Math.min(MAX_REPS, hi * 2);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (decidedAt(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Verdict, CI, detectable effect and repetitions needed for one estimate. */
export function judge(e: Estimate, higherIsBetter: boolean, threshold: number): Judged {
  const enough = e.sides.every((s) => s.n >= 2);
  const costCi95 = enough ? costInterval(e, ciOf(e), higherIsBetter) : ([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as [number, number]);
  const cost = toCost(e, e.center, higherIsBetter);
  const verdict = decide(cost, costCi95, threshold, enough);
  const mde = !enough ? Number.POSITIVE_INFINITY : e.se === 0 ? 0 : (tCritical(e.df) + tQuantileOf(0.8, e.df)) * e.se;
  const detectable = e.scale === 'log' ? (Math.exp(mde) - 1) * 100 : mde;
  return { cost, costCi95, threshold, verdict, detectable, repetitionsNeeded: verdict === 'inconclusive' ? repetitionsNeeded(e, higherIsBetter, threshold) : null };
}

export interface OverheadEstimate {
  ratio: number;
  ratioCi95: [number, number];
  /** Positive = backend is worse than native, in percent. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  verdict: Verdict;
  thresholdPct: number;
  detectablePct: number;
  repetitionsNeeded: number | null;
  /** Repetitions: [native, backend]. */
  n: [number, number];
  /** The verdict was decided only with a flagged outlier in: it reads inconclusive. */
  outlierSensitive?: true;
}

/**
 * Overhead of `backend` vs `native` for one metric, ratio of means. For
 * higher-is-better metrics (throughput) cost = 1 - ratio; for lower-is-better
 * (latency, memory) cost = ratio - 1.
 */
export function overhead(native: readonly number[], backend: readonly number[], higherIsBetter: boolean, thresholdPct = OTHER_THRESHOLD_PCT): OverheadEstimate | null {
  const e = logRatioEstimate([backend], [native]);
  if (!e) return null;
  const j = guardOutliers([native, backend], ([n, b]) => {
    const x = logRatioEstimate([b as number[]], [n as number[]]);
    return x ? judge(x, higherIsBetter, thresholdPct) : null;
  }) as Judged & { outlierSensitive?: true };
  const ci = ciOf(e);
  const finiteCi = Number.isFinite(ci[0]) && Number.isFinite(ci[1]);
  return {
    ratio: Math.exp(e.center),
    ratioCi95: finiteCi ? [Math.exp(ci[0]), Math.exp(ci[1])] : [0, Number.POSITIVE_INFINITY],
    overheadPct: j.cost,
    overheadPctCi95: j.costCi95,
    verdict: j.verdict,
    thresholdPct,
    detectablePct: j.detectable,
    repetitionsNeeded: j.repetitionsNeeded,
    n: [e.sides[1]?.n ?? 0, e.sides[0]?.n ?? 0],
    ...(j.outlierSensitive ? { outlierSensitive: true as const } : {}),
  };
}

export interface DifferenceVerdict {
  /** mean(backend) − mean(native), in the metric's unit. */
  diff: number;
  ci95: [number, number];
  /** Cost in the unit: + = worse (diff for lower-is-better, −diff for higher-is-better). */
  cost: number;
  costCi95: [number, number];
  verdict: Verdict;
  threshold: number;
  detectable: number;
  repetitionsNeeded: number | null;
  nativeMean: number;
  backendMean: number;
  n: [number, number];
  outlierSensitive?: true;
}

/** Difference of means backend − native, judged against an absolute threshold in the metric's unit. */
export function difference(native: readonly number[], backend: readonly number[], higherIsBetter: boolean, threshold: number): DifferenceVerdict | null {
  const e = differenceEstimate([backend], [native]);
  if (!e) return null;
  const j = guardOutliers([native, backend], ([n, b]) => {
    const x = differenceEstimate([b as number[]], [n as number[]]);
    return x ? judge(x, higherIsBetter, threshold) : null;
  }) as Judged & { outlierSensitive?: true };
  const enough = e.sides.every((s) => s.n >= 2);
  return {
    diff: e.center,
    ci95: enough ? ciOf(e) : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    cost: j.cost,
    costCi95: j.costCi95,
    verdict: j.verdict,
    threshold,
    detectable: j.detectable,
    repetitionsNeeded: j.repetitionsNeeded,
    nativeMean: e.sides[1]?.mean ?? Number.NaN,
    backendMean: e.sides[0]?.mean ?? Number.NaN,
    n: [e.sides[1]?.n ?? 0, e.sides[0]?.n ?? 0],
    ...(j.outlierSensitive ? { outlierSensitive: true as const } : {}),
  };
}
