/**
 * The pure arithmetic of the partition workload's disk figures: the time-sliced
 * I/O share under bfq, and the work-conserving check (ABBA phases, A alone with
 * and without the weights, and its verdict).
 */
import { achievedShare, type CumulativeSample } from './isolation.js';
import { ratioOfMeans } from '../stats/index.js';

export interface WcPhase {
  weighted: boolean;
  /** A's IOPS over the phase after its settle time. */
  iops: number;
}

/** Which phases of the work-conserving check have the weights set: ABBA, so a linear drift of the device cancels. */
export function wcPhaseWeighted(i: number): boolean {
  return i % 4 === 0 || i % 4 === 3;
}

/** Mean IOPS of A with the weights set and without them, from the check's phases (pure). */
export function wcRates(phases: readonly WcPhase[]): { weighted: number; unweighted: number } {
  const avg = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
  return {
    weighted: avg(phases.filter((p) => p.weighted).map((p) => p.iops)),
    unweighted: avg(phases.filter((p) => !p.weighted).map((p) => p.iops)),
  };
}

/**
 * A's share of the I/Os over the whole sampled window (pure). bfq serves one queue at a
 * time in slices of about 100 ms, so a 250 ms sampling interval often holds only A's
 * I/O: dropping intervals where one side did nothing (as a CPU or network share may)
 * would drop exactly A's slices and pull the share towards 50:50 (measured: 66% for a
 * true 80%). ioAndSample's window lies wholly inside the time both fio jobs ran, so
 * every interval counts.
 */
export function timeSlicedShare(samples: readonly CumulativeSample[]): ReturnType<typeof achievedShare> {
  return achievedShare(samples, { minPartyRate: 0, trimEdges: 0 });
}

export type WcVerdict = 'work-conserving' | 'not work-conserving' | 'inconclusive';

/**
 * Work-conserving check (pure): A alone with the weights set (B idle), against A alone
 * with default weights (what the device gives this job with nobody else), as a ratio
 * of means with its 95% CI. The threshold is the midpoint of A's target and 100% (90%
 * for 80:20): a cap, or a split that keeps B's share idle, would hold A near its
 * target. 'work-conserving' when the ratio is at or above the threshold; 'not
 * work-conserving' only when the whole interval lies below it; otherwise
 * 'inconclusive' (the device was too noisy to tell), never a pass.
 */
export function workConserving(
  weightedIops: readonly number[],
  unweightedIops: readonly number[],
  targetAPct: number,
): { alonePct: number; ci95Pct: [number, number] | null; thresholdPct: number; verdict: WcVerdict; pass: boolean } {
  const base = unweightedIops.length ? unweightedIops.reduce((s, x) => s + x, 0) / unweightedIops.length : 0;
  if (!(base > 0)) throw new Error(`A alone did no I/O (${base} IOPS): nothing to compare with`);
  const thresholdPct = (targetAPct + 100) / 2;
  const r = ratioOfMeans(unweightedIops, weightedIops);
  const alonePct = r
    ? 100 * r.ratio
    : (100 * (weightedIops.reduce((s, x) => s + x, 0) / Math.max(1, weightedIops.length))) / base;
  const ci95Pct: [number, number] | null =
    r && Number.isFinite(r.ci95[0]) && Number.isFinite(r.ci95[1]) ? [100 * r.ci95[0], 100 * r.ci95[1]] : null;
  const verdict: WcVerdict =
    alonePct >= thresholdPct
      ? 'work-conserving'
      : ci95Pct && ci95Pct[1] < thresholdPct
        ? 'not work-conserving'
        : 'inconclusive';
  return { alonePct, ci95Pct, thresholdPct, verdict, pass: verdict === 'work-conserving' };
}
