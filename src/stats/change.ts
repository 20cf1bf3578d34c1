/**
 * Run-to-run change (compare), on the same estimator as the run:
 *
 * - overhead mode (default): how the backend's overhead vs native changed
 *   between run A and run B. Each run's overhead is its paired estimate (mean
 *   per-round d = ln b - ln n, or b - n for figures compared by difference);
 *   the change is mean(d_B) - mean(d_A), with variance
 *     var(d_A)/n_A + var(d_B)/n_B + 2 tau^2,
 *   where tau is the between-run SD of a run's overhead (an instance, a host
 *   state, a boot: what pairs within one run cannot see). Welch-Satterthwaite
 *   df, the tau term counted as known. A run without round numbers falls back
 *   to the ratio of ratios of means (delta method), plus the same 2 tau^2.
 * - absolute mode: one backend's figure in B vs A, ratio of means (or
 *   difference of means), plus 2 tau^2 for the raw figure between runs.
 *
 * tau comes from `betweenRunSd` (see BETWEEN_RUN_SD for the defaults and
 * where they come from). Judged with the run's verdicts (equivalence.ts);
 * the cost is + when B is worse. Multiplicity is corrected by the caller
 * (report/compare.ts, with multiplicity.ts).
 */
import { differenceEstimate, logRatioEstimate, pairedEstimate, type Estimate, type Side } from './estimate.js';
import { guardOutliers, judge, type CompareMode, type Judged } from './equivalence.js';
import { pairByRound, pairDifferences, type RoundValues } from './paired.js';
import { tUpperP } from './multiplicity.js';

/**
 * Between-run SD of a figure, on the estimate's scale (ln units for ratios):
 * what one run's paired overhead moves from one run to the next on the same
 * host with nothing changed. Defaults per category, for the overhead basis
 * and for raw figures (absolute basis, which also carries the host's own
 * state: this host switches between states ~8% apart).
 *
 * Where the defaults come from (docs/statistics.md): the issue-23 pair of
 * quick runs on this host read runc sysbench paired [-3.1, +0.5] and
 * [-1.1, +1.6]: a 1.55% move against a within-run SE of about 1.1%, so tau
 * near 0.7-1.1%; CPU's 1% is at the top of that. Disk and network vary
 * 10-20% per repetition here: their defaults are larger, set by judgement.
 * A larger tau widens the interval: fewer false flags, less power. A per-host A/A
 * calibration (calibrateBetweenRun) replaces them when one is given; more
 * than one instance per backend in a run would measure it directly, and
 * isobench runs one today.
 */
export const BETWEEN_RUN_SD: Readonly<Record<string, { overhead: number; raw: number }>> = {
  cpu: { overhead: 0.01, raw: 0.05 },
  memory: { overhead: 0.02, raw: 0.06 },
  disk: { overhead: 0.05, raw: 0.1 },
  network: { overhead: 0.05, raw: 0.1 },
};
export const OTHER_BETWEEN_RUN_SD = { overhead: 0.03, raw: 0.08 };

/** Between-run SD for a figure compared by difference: this fraction of its threshold (in its unit). */
export const ABSOLUTE_BETWEEN_RUN_FRACTION = 0.25;

export interface BetweenRunSd {
  /** SD on the estimate's scale. */
  sd: number;
  /** Where it came from, as the report says it. */
  source: 'default' | 'calibration';
}

/** The default between-run SD of a figure (see BETWEEN_RUN_SD). */
export function defaultBetweenRunSd(
  workload: string,
  mode: CompareMode,
  basis: 'overhead' | 'raw',
  threshold: number,
): BetweenRunSd {
  if (mode === 'absolute') return { sd: ABSOLUTE_BETWEEN_RUN_FRACTION * threshold, source: 'default' };
  const t = BETWEEN_RUN_SD[workload] ?? OTHER_BETWEEN_RUN_SD;
  return { sd: t[basis], source: 'default' };
}

export interface ChangeEstimate extends Judged {
  mode: CompareMode;
  /** Ratio of the overheads (ratio mode) or difference of differences (absolute mode). */
  point: number;
  /** Decided only with a flagged outlier in: reads inconclusive (equivalence.ts guardOutliers). */
  outlierSensitive?: true;
  /** The estimate on its scale, for multiplicity corrections: center, SE (with the between-run term), df. */
  scale: 'log' | 'linear';
  center: number;
  se: number;
  /** The between-run SD that went into se. */
  betweenRunSd: number;
  /** paired: each run's overhead from its per-round differences; unpaired: ratio of ratios of means. */
  design: 'paired' | 'unpaired';
}

/** Add 2 tau^2 to an estimate's variance; Welch-Satterthwaite df with the tau term as known (infinite df). */
function withBetweenRun(e: Estimate, tau: number): Estimate {
  const extra = 2 * tau * tau;
  if (!(extra > 0) || !Number.isFinite(e.se)) return e;
  const within = e.se * e.se;
  const v = within + extra;
  // The within part keeps its df; a known term adds variance but no uncertainty of its own.
  const df = within === 0 ? Number.POSITIVE_INFINITY : (v * v) / ((within * within) / e.df);
  return { ...e, se: Math.sqrt(v), df, extraVar: extra };
}

/** Two runs' paired estimates combined: center dB - dA, sides [B, A]. */
function pairedChange(dA: readonly number[], dB: readonly number[], scale: 'log' | 'linear'): Estimate | null {
  const a = pairedEstimate(dA, scale);
  const b = pairedEstimate(dB, scale);
  if (!a || !b) return null;
  const sides: Side[] = [b.sides[0] as Side, a.sides[0] as Side];
  const terms = sides.map((s) => s.obsVar / s.n);
  const v = terms.reduce((x, y) => x + y, 0);
  const enough = sides.every((s) => s.n >= 2);
  const den = sides.reduce((acc, s, i) => {
    const t = terms[i] as number;
    return acc + (t > 0 ? (t * t) / (s.n - 1) : 0);
  }, 0);
  const se = !enough ? Number.POSITIVE_INFINITY : Math.sqrt(v);
  const df = !enough ? 0 : v === 0 ? Number.POSITIVE_INFINITY : (v * v) / den;
  return { scale, design: 'paired', center: b.center - a.center, sides, se, df };
}

function finish(mode: CompareMode, e: Estimate, tau: number, higherIsBetter: boolean, t: number): ChangeEstimate {
  const w = withBetweenRun(e, tau);
  return {
    mode,
    point: mode === 'ratio' ? Math.exp(w.center) : w.center,
    ...judge(w, higherIsBetter, t),
    scale: w.scale,
    center: w.center,
    se: w.se,
    betweenRunSd: tau,
    design: w.design,
  };
}

function asRounds(x: RoundValues | readonly number[]): RoundValues {
  return Array.isArray(x) ? { values: x as readonly number[] } : (x as RoundValues);
}

type RunSides = { native: RoundValues | readonly number[]; backend: RoundValues | readonly number[] };

function runDifferences(r: RunSides, scale: 'log' | 'linear'): number[] | null {
  const p = pairByRound(asRounds(r.native), asRounds(r.backend));
  if (!p || p.rounds.length < 2) return null;
  const d = pairDifferences(p, scale);
  return d && d.length >= 2 ? d : null;
}

/**
 * Change of a backend's overhead vs native from run A to run B: paired within
 * each run when both runs' values carry their rounds, else the ratio of ratios
 * of means; plus the between-run term. Outliers are screened on what the
 * estimate uses (each run's per-round differences, or the four samples).
 */
export function overheadChange(
  a: RunSides,
  b: RunSides,
  mode: CompareMode,
  higherIsBetter: boolean,
  threshold: number,
  betweenRunSd = 0,
): ChangeEstimate | null {
  const scale = mode === 'ratio' ? 'log' : 'linear';
  const dA = runDifferences(a, scale);
  const dB = runDifferences(b, scale);
  if (dA && dB) {
    return guardOutliers([dA, dB], ([xa, xb]) => {
      const e = pairedChange(xa as number[], xb as number[], scale);
      return e ? finish(mode, e, betweenRunSd, higherIsBetter, threshold) : null;
    });
  }
  const plus = [asRounds(b.backend).values, asRounds(a.native).values];
  const minus = [asRounds(b.native).values, asRounds(a.backend).values];
  return guardOutliers([...plus, ...minus], (s) => {
    const [p, m] = [s.slice(0, 2), s.slice(2)];
    const e = mode === 'ratio' ? logRatioEstimate(p, m) : differenceEstimate(p, m);
    return e ? finish(mode, e, betweenRunSd, higherIsBetter, threshold) : null;
  });
}

/** Change of one figure from run A to run B (unpaired: different runs share no rounds), plus the between-run term. */
export function valueChange(
  a: readonly number[],
  b: readonly number[],
  mode: CompareMode,
  higherIsBetter: boolean,
  threshold: number,
  betweenRunSd = 0,
): ChangeEstimate | null {
  return guardOutliers([b, a], ([xb, xa]) => {
    const [p, m] = [[xb as number[]], [xa as number[]]];
    const e = mode === 'ratio' ? logRatioEstimate(p, m) : differenceEstimate(p, m);
    return e ? finish(mode, e, betweenRunSd, higherIsBetter, threshold) : null;
  });
}

/** The estimate's move toward "B is worse", on its scale: + = worse. */
function worseDirection(c: Pick<ChangeEstimate, 'scale' | 'center'>, higherIsBetter: boolean): number {
  return higherIsBetter ? -c.center : c.center;
}

/** Two-sided p-value of "no change" (for Holm over the compared rows). */
export function changePValue(c: Pick<ChangeEstimate, 'scale' | 'center' | 'se' | 'df'>): number {
  if (!(c.se > 0) || !Number.isFinite(c.se)) return c.se === 0 && c.center !== 0 ? 0 : 1;
  return Math.min(1, 2 * tUpperP(Math.abs(c.center) / c.se, c.df));
}

/**
 * One-sided p-value of "B is at most `pct` percent (ratio) or `pct` percent of
 * `refMagnitude` (difference) worse than A": small when B is worse by more.
 * What --fail-on-regression tests, Holm-corrected over the rows.
 */
export function regressionPValue(
  c: Pick<ChangeEstimate, 'scale' | 'center' | 'se' | 'df'>,
  higherIsBetter: boolean,
  pct: number,
  refMagnitude: number,
): number {
  const worse = worseDirection(c, higherIsBetter);
  // The margin on the estimate's scale: cost > pct% <=> ratio beyond 1 ± pct/100.
  const logMargin = higherIsBetter ? -Math.log(1 - Math.min(pct, 99.999) / 100) : Math.log1p(pct / 100);
  const margin = c.scale === 'log' ? logMargin : (pct / 100) * Math.abs(refMagnitude);
  if (!(c.se > 0) || !Number.isFinite(c.se)) return c.se === 0 && worse > margin ? 0 : 1;
  return tUpperP((worse - margin) / c.se, c.df);
}
