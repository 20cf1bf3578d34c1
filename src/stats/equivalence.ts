/**
 * Equivalence-based verdicts with stated error rates (docs/statistics.md).
 * Every compared figure has a practical threshold T (the workload's declared
 * default, overridable per scenario as `thresholds:`), and its cost C (+ = worse), in
 * percent of native for ratios or in the metric's unit for differences, with
 * a 90% and a 95% CI. C is estimated from the per-round pairs when the values
 * carry their rounds (paired), else from two independent samples (Welch).
 *
 *   no-practical-difference  TOST: the 90% CI lies inside [-T, +T] (two
 *                            one-sided tests at 5%): when |true C| >= T this
 *                            is said at most 5% of the time;
 *   overhead / better        not equivalent, and the 95% CI excludes 0 on the
 *                            worse / better side: when the true C is 0 each is
 *                            said at most 2.5% of the time. `beyondThreshold`
 *                            adds "beyond T" when the whole 95% CI is beyond
 *                            ±T (at most 2.5% when the true |C| <= T). The
 *                            point estimate is never compared with T, so a
 *                            true C = T is not a coin flip between two labels;
 *   inconclusive             neither: `repetitionsNeeded` is the power plan,
 *                            the pairs (or repetitions per side) that give 80%
 *                            power to show equivalence at a true 0, from the
 *                            observed spread;
 *   insufficient-data        fewer than 2 pairs (values a side): no CI;
 *   small-difference         no longer produced (files written before the
 *                            TOST rule may carry it).
 *
 * `detectable` is the smallest cost this run could have detected: the effect
 * a two-sided 5% test finds with 80% power, (t_0.975 + t_0.80) x SE.
 */
import type { Verdict } from '../results/types.js';
import { ciOf, tCritical, tQuantileOf, welch, type Estimate, type Side } from './estimate.js';
import { logRatioEstimate, differenceEstimate, pairedEstimate } from './estimate.js';
import { pairByRound, pairDifferences, type RoundValues } from './paired.js';
import { outlierIndices } from './outliers.js';
import { workloadDeclaration } from '../core/declarations.js';

export type CompareMode = 'ratio' | 'absolute';

export const OTHER_THRESHOLD_PCT = 5;

/** Unit defaults when the category has none for the unit. */
export const DEFAULT_THRESHOLD_BY_UNIT: Readonly<Record<string, number>> = {
  ms: 50,
  s: 0.05,
  µs: 50,
  us: 50,
  ns: 1000,
  MiB: 8,
  GiB: 0.01,
  pp: 5,
  '%': 5,
};

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

export function thresholdFor(
  mode: CompareMode,
  workload: string,
  unit: string,
  overrides?: ThresholdOverrides,
  magnitude?: number,
): number {
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

/**
 * The verdict for a cost C against threshold T (see the module comment):
 * equivalence by TOST on the 90% CI (two one-sided tests at 5%), a real
 * difference by the 95% CI excluding 0. Without a 90% CI the 95% one is used
 * for equivalence (conservative).
 */
export function decide(
  // The point estimate is kept in the signature for the reader, and deliberately unused: a verdict that
  // compared it with T would flip a coin when the true cost equals T (the intervals decide).
  _cost: number,
  ci95: readonly [number, number],
  threshold: number,
  enoughData = true,
  ci90: readonly [number, number] = ci95,
): Verdict {
  if (!enoughData || !Number.isFinite(ci95[0]) || !Number.isFinite(ci95[1])) return 'insufficient-data';
  if (ci90[0] >= -threshold && ci90[1] <= threshold) return 'no-practical-difference';
  if (ci95[0] > 0) return 'overhead';
  if (ci95[1] < 0) return 'better';
  return 'inconclusive';
}

/** A verdict that answers the question (not inconclusive, not insufficient). */
export function isDecided(v: Verdict): boolean {
  return v !== 'inconclusive' && v !== 'insufficient-data';
}

/** An overhead (better) whose 95% CI lies wholly beyond +T (-T): "overhead beyond T", not only "overhead". */
export function beyondThreshold(verdict: Verdict, costCi95: readonly [number, number], threshold: number): boolean {
  return (verdict === 'overhead' && costCi95[0] > threshold) || (verdict === 'better' && costCi95[1] < -threshold);
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
export function guardOutliers<T extends { verdict: Verdict; repetitionsNeeded: number | null }>(
  samples: readonly (readonly number[])[],
  judgeOf: (s: readonly (readonly number[])[]) => T | null,
): (T & { outlierSensitive?: true }) | null {
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
  /** 90% CI of the cost: the TOST equivalence test reads it. */
  costCi90: [number, number];
  threshold: number;
  verdict: Verdict;
  /** overhead/better whose whole 95% CI lies beyond the threshold. */
  beyondThreshold: boolean;
  /** Smallest |cost| this run could have detected (80% power, 5% two-sided). */
  detectable: number;
  /**
   * For an inconclusive verdict: pairs (paired) or repetitions per side (unpaired) that give 80% power to
   * show equivalence at ±T when the true cost is 0, from the observed spread (plannedRepetitions);
   * null when decided or beyond 1000.
   */
  repetitionsNeeded: number | null;
  design: Estimate['design'];
  /** SD of one paired difference d (or of one unpaired repetition's difference), on the estimate's scale. */
  spread: number;
  df: number;
}

function toCost(e: Pick<Estimate, 'scale'>, x: number, higherIsBetter: boolean): number {
  if (e.scale === 'log') return higherIsBetter ? (1 - Math.exp(x)) * 100 : (Math.exp(x) - 1) * 100;
  return higherIsBetter ? -x : x;
}

function costInterval(e: Pick<Estimate, 'scale'>, ci: [number, number], higherIsBetter: boolean): [number, number] {
  const a = toCost(e, ci[0], higherIsBetter);
  const b = toCost(e, ci[1], higherIsBetter);
  return a <= b ? [a, b] : [b, a];
}

/** The threshold on the estimate's scale: ln(1 + T/100) for ratios (the tighter of the two log bounds), T otherwise. */
export function thresholdOnScale(scale: Estimate['scale'], threshold: number): number {
  return scale === 'log' ? Math.log1p(threshold / 100) : threshold;
}

const MAX_REPS = 1000;

/** Power the plans aim for, and the TOST level per side (a 90% CI). */
export const PLAN_POWER = 0.8;
export const TOST_ALPHA = 0.05;

/**
 * Pairs (paired: one side) or repetitions per side (unpaired) for `power` to
 * show equivalence at ±thresholdScaled when the true difference is 0: the
 * smallest k with T / se_k >= t(1 - alpha, df_k) + t(1 - (1 - power) / 2, df_k),
 * se_k and df_k from the observed variances at k (welch). `extraVar` is a
 * variance that more repetitions do not shrink (compare's between-run term).
 * null when no k up to 1000 reaches it.
 */
export function plannedRepetitions(
  sides: readonly Side[],
  thresholdScaled: number,
  extraVar = 0,
  power = PLAN_POWER,
  alpha = TOST_ALPHA,
): number | null {
  if (!(thresholdScaled > 0) || sides.some((s) => !Number.isFinite(s.obsVar))) return null;
  const ok = (k: number): boolean => {
    const w = welch(sides, k);
    const se = Math.sqrt(w.se * w.se + extraVar);
    if (se === 0) return true;
    const df = w.df;
    return thresholdScaled / se >= tQuantileOf(1 - alpha, df) + tQuantileOf(1 - (1 - power) / 2, df);
  };
  if (ok(2)) return 2;
  let lo = 2;
  let hi = 4;
  while (!ok(hi)) {
    if (hi >= MAX_REPS) return null;
    lo = hi;
    hi = Math.min(MAX_REPS, hi * 2);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Kept for callers of the old name: the power plan for an estimate (plannedRepetitions). */
export function repetitionsNeeded(e: Estimate, _higherIsBetter: boolean, threshold: number): number | null {
  return plannedRepetitions(e.sides, thresholdOnScale(e.scale, threshold), e.extraVar ?? 0);
}

/** SD of one paired difference, or of one repetition's difference across the sides (unpaired). */
export function spreadOf(e: Pick<Estimate, 'sides'>): number {
  return Math.sqrt(e.sides.reduce((a, s) => a + s.obsVar, 0));
}

/** Verdict, CIs, detectable effect and power plan for one estimate. */
export function judge(e: Estimate, higherIsBetter: boolean, threshold: number): Judged {
  const enough = e.sides.every((s) => s.n >= 2);
  const unbounded: [number, number] = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const costCi95 = enough ? costInterval(e, ciOf(e, 0.95), higherIsBetter) : unbounded;
  const costCi90 = enough ? costInterval(e, ciOf(e, 1 - 2 * TOST_ALPHA), higherIsBetter) : unbounded;
  const cost = toCost(e, e.center, higherIsBetter);
  const verdict = decide(cost, costCi95, threshold, enough, costCi90);
  const mde = !enough ? Number.POSITIVE_INFINITY : e.se === 0 ? 0 : (tCritical(e.df) + tQuantileOf(0.8, e.df)) * e.se;
  const detectable = e.scale === 'log' ? (Math.exp(mde) - 1) * 100 : mde;
  return {
    cost,
    costCi95,
    costCi90,
    threshold,
    verdict,
    beyondThreshold: beyondThreshold(verdict, costCi95, threshold),
    detectable,
    repetitionsNeeded: verdict === 'inconclusive' ? repetitionsNeeded(e, higherIsBetter, threshold) : null,
    design: e.design,
    spread: spreadOf(e),
    df: e.df,
  };
}

/** How a figure was estimated, as results.json records it. */
export interface DesignFields {
  /** paired: per-round differences (rounds matched by number); unpaired: two independent samples (Welch). */
  design: 'paired' | 'unpaired';
  /** Pairs behind a paired figure (rounds both sides measured). */
  pairs?: number;
  /** SD of one paired difference d (ln units for ratios, else the unit); unpaired: of one repetition's difference. */
  spread: number;
  /** Degrees of freedom of the t interval (pairs - 1 when paired). */
  df: number;
}

export interface OverheadEstimate extends DesignFields {
  /** Paired: exp(mean d), the geometric mean of the per-round ratios; unpaired: ratio of means. */
  ratio: number;
  ratioCi95: [number, number];
  /** Positive = backend is worse than native, in percent. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  /** 90% CI (TOST). */
  overheadPctCi90: [number, number];
  verdict: Verdict;
  beyondThreshold: boolean;
  thresholdPct: number;
  detectablePct: number;
  repetitionsNeeded: number | null;
  /** Repetitions: [native, backend] (both the pairs when paired). */
  n: [number, number];
  /** The verdict was decided only with a flagged outlier in: it reads inconclusive. */
  outlierSensitive?: true;
}

/** Plain values carry no rounds: they can only be compared unpaired. */
function asRounds(x: Sample): RoundValues {
  return isNumbers(x) ? { values: x } : x;
}

function isNumbers(x: Sample): x is readonly number[] {
  return Array.isArray(x);
}

/**
 * The estimate of backend vs native on a scale, paired when both sides carry
 * round numbers that match in two or more rounds, unpaired (Welch) otherwise;
 * with the verdict screened for outliers on what the estimate uses (the
 * paired differences, or each side's values).
 */
type Sample = RoundValues | readonly number[];
type VsNative = { e: Estimate; j: Judged & { outlierSensitive?: true }; pairs?: number };

function estimateVsNative(
  native: Sample,
  backend: Sample,
  scale: Estimate['scale'],
  higherIsBetter: boolean,
  threshold: number,
): VsNative | null {
  const nv = asRounds(native);
  const bv = asRounds(backend);
  const p = pairByRound(nv, bv);
  const d = p && p.rounds.length >= 2 ? pairDifferences(p, scale) : null;
  if (d && d.length >= 2) {
    const e = pairedEstimate(d, scale);
    if (!e) return null;
    const j = guardOutliers([d], ([x]) => {
      const y = pairedEstimate(x as number[], scale);
      return y ? judge(y, higherIsBetter, threshold) : null;
    }) as Judged & { outlierSensitive?: true };
    return { e, j, pairs: d.length };
  }
  const unpaired = (b: readonly number[], n: readonly number[]): Estimate | null =>
    scale === 'log' ? logRatioEstimate([b], [n]) : differenceEstimate([b], [n]);
  const e = unpaired(bv.values, nv.values);
  if (!e) return null;
  const j = guardOutliers([nv.values, bv.values], ([n, b]) => {
    const x = unpaired(b as number[], n as number[]);
    return x ? judge(x, higherIsBetter, threshold) : null;
  }) as Judged & { outlierSensitive?: true };
  return { e, j };
}

function designOf(r: { e: Estimate; j: Judged; pairs?: number }): DesignFields {
  return { design: r.e.design, ...(r.pairs !== undefined ? { pairs: r.pairs } : {}), spread: r.j.spread, df: r.e.df };
}

function countsOf(e: Estimate): [number, number] {
  if (e.design === 'paired') return [e.sides[0]?.n ?? 0, e.sides[0]?.n ?? 0];
  return [e.sides[1]?.n ?? 0, e.sides[0]?.n ?? 0];
}

/**
 * Overhead of `backend` vs `native` for one metric. Paired (values with their
 * rounds): d = ln(backend) - ln(native) per round, ratio = exp(mean d), t on
 * pairs - 1 df. Unpaired (plain arrays, or no matching rounds): ratio of
 * means, delta method, Welch df. For higher-is-better metrics (throughput)
 * cost = 1 - ratio; for lower-is-better (latency, memory) cost = ratio - 1.
 */
export function overhead(
  native: Sample,
  backend: Sample,
  higherIsBetter: boolean,
  thresholdPct = OTHER_THRESHOLD_PCT,
): OverheadEstimate | null {
  const r = estimateVsNative(native, backend, 'log', higherIsBetter, thresholdPct);
  if (!r) return null;
  const { e, j } = r;
  const ci = ciOf(e);
  const finiteCi = Number.isFinite(ci[0]) && Number.isFinite(ci[1]);
  return {
    ratio: Math.exp(e.center),
    ratioCi95: finiteCi ? [Math.exp(ci[0]), Math.exp(ci[1])] : [0, Number.POSITIVE_INFINITY],
    overheadPct: j.cost,
    overheadPctCi95: j.costCi95,
    overheadPctCi90: j.costCi90,
    verdict: j.verdict,
    beyondThreshold: j.beyondThreshold,
    thresholdPct,
    detectablePct: j.detectable,
    repetitionsNeeded: j.repetitionsNeeded,
    n: countsOf(e),
    ...designOf(r),
    ...(j.outlierSensitive ? { outlierSensitive: true as const } : {}),
  };
}

export interface DifferenceVerdict extends DesignFields {
  /** mean(backend − native) per round (paired) or mean(backend) − mean(native), in the metric's unit. */
  diff: number;
  ci95: [number, number];
  /** Cost in the unit: + = worse (diff for lower-is-better, −diff for higher-is-better). */
  cost: number;
  costCi95: [number, number];
  costCi90: [number, number];
  verdict: Verdict;
  beyondThreshold: boolean;
  threshold: number;
  detectable: number;
  repetitionsNeeded: number | null;
  nativeMean: number;
  backendMean: number;
  n: [number, number];
  outlierSensitive?: true;
}

function meanOf(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

/** Backend − native (per round when paired, else difference of means), judged against a threshold in the unit. */
export function difference(
  native: Sample,
  backend: Sample,
  higherIsBetter: boolean,
  threshold: number,
): DifferenceVerdict | null {
  const r = estimateVsNative(native, backend, 'linear', higherIsBetter, threshold);
  if (!r) return null;
  const { e, j } = r;
  const enough = e.sides.every((s) => s.n >= 2);
  const nv = asRounds(native).values;
  const bv = asRounds(backend).values;
  return {
    diff: e.center,
    ci95: enough ? ciOf(e) : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    cost: j.cost,
    costCi95: j.costCi95,
    costCi90: j.costCi90,
    verdict: j.verdict,
    beyondThreshold: j.beyondThreshold,
    threshold,
    detectable: j.detectable,
    repetitionsNeeded: j.repetitionsNeeded,
    nativeMean: meanOf(nv),
    backendMean: meanOf(bv),
    n: countsOf(e),
    ...designOf(r),
    ...(j.outlierSensitive ? { outlierSensitive: true as const } : {}),
  };
}
