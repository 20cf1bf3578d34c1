/**
 * How many rounds to run: a pilot, one power plan, one final look
 * (docs/statistics.md, "Adaptive rounds").
 *
 * The rule, per figure (a backend vs native, paired by round):
 *
 * 1. Pilot: run `pilot` rounds (the scenario's base repetitions, e.g. 6).
 * 2. Look once at the pilot, at a stringent level (Haybittle-Peto): the
 *    figure stops early only if it is decided with 99.9% / 99.8% intervals
 *    (overhead: 99.9% CI excludes 0; equivalence: 99.8% CI inside ±T).
 * 3. Otherwise plan: n = the pairs that give 80% power to show equivalence
 *    at ±T when the true difference is 0, from the observed spread s of the
 *    per-round differences (plannedRepetitions). If n exceeds the cap, stop
 *    at once: the nominal verdict stands if it is decided, else "not
 *    decidable here at ±T: needs about n pairs (spread s)".
 * 4. Run to n (re-planned from the spread as rounds come in: only the spread
 *    is read between the looks, never the estimate), then look once more, at
 *    the nominal levels (95% / 90%): that verdict is the figure's verdict.
 *
 * Error rates: a false overhead (true 0) at most 2.5% + 0.05% per side and a
 * false equivalence (true |C| >= T) at most 5% + 0.1% (the pilot look spends
 * 0.05% / 0.1%; Bonferroni over the two looks). Reading the spread between
 * looks (sample-size re-estimation from the variance) does not spend alpha
 * to first order, and neither does the futility stop: for normal differences
 * the spread is independent of the mean, so a stop decided by the spread
 * alone leaves the verdict read there at its nominal level.
 */
import type { Verdict } from '../results/types.js';
import { ciOf, type Side } from './estimate.js';
import { decide, isDecided, plannedRepetitions, thresholdOnScale, TOST_ALPHA } from './equivalence.js';

/** Alpha of each one-sided test at the pilot look (Haybittle-Peto): 0.05% for overhead, 0.1% per TOST side. */
export const PILOT_ALPHA = 0.001;

/** A paired figure as the look needs it: all on the estimate's scale (ln units for ratios). */
export interface LookInput {
  scale: 'log' | 'linear';
  /** Pairs so far. */
  n: number;
  /** Mean per-round difference (ln ratio, or the unit). */
  center: number;
  /** SD of one per-round difference. */
  spread: number;
  /** Practical threshold: percent for ratios, the unit for differences. */
  threshold: number;
  higherIsBetter: boolean;
}

export interface LookPlan {
  /** Rounds before the first look. */
  pilot: number;
  /** Most rounds the scenario allows. */
  cap: number;
}

export type LookResult =
  | { action: 'continue'; plannedPairs: number | null; reason: 'pilot' | 'planned' }
  | { action: 'stop'; reason: 'decided-at-pilot' | 'decided'; verdict: Verdict; plannedPairs: number | null }
  | { action: 'stop'; reason: 'planned-reached' | 'cap'; plannedPairs: number | null }
  | { action: 'stop'; reason: 'not-decidable'; plannedPairs: number | null; message: string };

function costInterval(x: LookInput, lo: number, hi: number): [number, number] {
  const cost = (v: number): number => {
    if (x.scale === 'log') return x.higherIsBetter ? (1 - Math.exp(v)) * 100 : (Math.exp(v) - 1) * 100;
    return x.higherIsBetter ? -v : v;
  };
  const a = cost(lo);
  const b = cost(hi);
  return a <= b ? [a, b] : [b, a];
}

/** The verdict of a paired figure with its one-sided tests at `alpha` (difference) and `tostAlpha` (equivalence). */
export function verdictAt(x: LookInput, alpha: number, tostAlpha: number): Verdict {
  if (x.n < 2 || !Number.isFinite(x.spread)) return 'insufficient-data';
  const est = { center: x.center, se: x.spread / Math.sqrt(x.n), df: x.n - 1 };
  const c95 = ciOf(est, 1 - 2 * alpha);
  const c90 = ciOf(est, 1 - 2 * tostAlpha);
  const point = costInterval(x, x.center, x.center)[0];
  return decide(point, costInterval(x, c95[0], c95[1]), x.threshold, true, costInterval(x, c90[0], c90[1]));
}

/** Pairs for 80% power to show equivalence at ±T at a true 0, from a spread (null: beyond 1000). */
export function plannedPairs(x: Pick<LookInput, 'scale' | 'spread' | 'threshold'>, n = 2): number | null {
  const side: Side = { n, mean: 0, obsVar: x.spread * x.spread };
  return plannedRepetitions([side], thresholdOnScale(x.scale, x.threshold));
}

function fmtSpread(x: LookInput): string {
  return x.scale === 'log' ? `${(x.spread * 100).toPrecision(2)}% per pair` : `${x.spread.toPrecision(3)} per pair`;
}

function fmtThreshold(x: LookInput): string {
  return x.scale === 'log' ? `±${x.threshold}%` : `±${x.threshold}`;
}

/**
 * What the adaptive loop does after `x.n` pairs: continue, or stop and why.
 * Pure; the runner calls it per undecided figure after each round.
 */
export function sequentialLook(x: LookInput, plan: LookPlan): LookResult {
  if (x.n < plan.pilot || x.n < 2) return { action: 'continue', plannedPairs: null, reason: 'pilot' };
  const planned = plannedPairs(x, x.n);
  if (x.n === plan.pilot) {
    const v = verdictAt(x, PILOT_ALPHA / 2, PILOT_ALPHA);
    if (isDecided(v)) return { action: 'stop', reason: 'decided-at-pilot', verdict: v, plannedPairs: planned };
  }
  if (planned === null || planned > plan.cap) {
    // The plan rests on the spread alone, which says nothing of the mean: the nominal verdict at this stop
    // keeps its error rates. A figure decided there is decided; only an undecided one is "not decidable".
    const nominal = verdictAt(x, TOST_ALPHA / 2, TOST_ALPHA);
    if (isDecided(nominal)) return { action: 'stop', reason: 'decided', verdict: nominal, plannedPairs: planned };
    const need = planned === null ? 'more than 1000' : `about ${planned}`;
    return {
      action: 'stop',
      reason: 'not-decidable',
      plannedPairs: planned,
      message:
        `not decidable here at ${fmtThreshold(x)}: needs ${need} pairs ` +
        `(spread ${fmtSpread(x)}; the cap is ${plan.cap})`,
    };
  }
  if (x.n >= planned) return { action: 'stop', reason: 'planned-reached', plannedPairs: planned };
  if (x.n >= plan.cap) return { action: 'stop', reason: 'cap', plannedPairs: planned };
  return { action: 'continue', plannedPairs: planned, reason: 'planned' };
}

/** The figure fields a look reads (Overhead or Difference as results.json stores them). */
export interface FigureLike {
  verdict: Verdict;
  higherIsBetter: boolean;
  design?: 'paired' | 'unpaired' | undefined;
  pairs?: number | undefined;
  spread?: number | undefined;
  n: [number, number];
  ratio?: number;
  thresholdPct?: number;
  diff?: number;
  threshold?: number;
}

/**
 * The look's input from a stored figure: paired figures by their pairs;
 * unpaired ones by their repetitions per side and the spread of one
 * repetition's difference (the same plan, per side). null without a spread.
 */
export function lookInputOf(f: FigureLike): LookInput | null {
  const ratio = typeof f.ratio === 'number' && typeof f.thresholdPct === 'number';
  const spread = f.spread;
  if (spread === undefined || !Number.isFinite(spread)) return null;
  const n = f.design === 'paired' && typeof f.pairs === 'number' ? f.pairs : Math.min(f.n[0], f.n[1]);
  if (ratio) {
    if (!((f.ratio as number) > 0)) return null;
    const center = Math.log(f.ratio as number);
    return { scale: 'log', n, center, spread, threshold: f.thresholdPct as number, higherIsBetter: f.higherIsBetter };
  }
  if (typeof f.diff !== 'number' || typeof f.threshold !== 'number') return null;
  return { scale: 'linear', n, center: f.diff, spread, threshold: f.threshold, higherIsBetter: f.higherIsBetter };
}

/**
 * The look for a stored figure (sequentialLook), or, for a figure without a
 * spread (a file from before pairing), go on while it is undecided.
 */
export function figureLook(f: FigureLike, plan: LookPlan): LookResult {
  const x = lookInputOf(f);
  if (x) return sequentialLook(x, plan);
  if (isDecided(f.verdict)) return { action: 'stop', reason: 'planned-reached', plannedPairs: null };
  return { action: 'continue', plannedPairs: null, reason: 'planned' };
}

/** Re-exported for callers that plan without a figure. */
export { TOST_ALPHA };
