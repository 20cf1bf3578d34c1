/**
 * Run-to-run change (compare), on the same estimator as the run:
 *
 * - overhead mode (default): how the backend's overhead vs native changed
 *   between run A and run B, the ratio of ratios
 *     R = (mean bB / mean nB) / (mean bA / mean nA),
 *   95% CI from the delta method on log R (sum of the four relative variances
 *   of the means) with Welch-Satterthwaite df over the four samples. Host drift
 *   that moves native and the backend alike cancels. Figures compared by
 *   difference use the difference of differences (bB − nB) − (bA − nA).
 * - absolute mode: one backend's figure in B vs A, ratio of means (or
 *   difference of means).
 *
 * Both are judged with the run's equivalence verdicts (equivalence.ts); the
 * cost is + when B is worse.
 */
import { differenceEstimate, logRatioEstimate } from './estimate.js';
import { guardOutliers, judge, type CompareMode, type Judged } from './equivalence.js';

export interface ChangeEstimate extends Judged {
  mode: CompareMode;
  /** Ratio of ratios (ratio mode) or difference of differences (absolute mode). */
  point: number;
  /** Decided only with a flagged outlier in: reads inconclusive (equivalence.ts guardOutliers). */
  outlierSensitive?: true;
}

function estimate(mode: CompareMode, plus: readonly (readonly number[])[], minus: readonly (readonly number[])[], higherIsBetter: boolean, threshold: number): ChangeEstimate | null {
  const np = plus.length;
  return guardOutliers([...plus, ...minus], (s) => {
    const p = s.slice(0, np);
    const m = s.slice(np);
    const e = mode === 'ratio' ? logRatioEstimate(p, m) : differenceEstimate(p, m);
    return e ? { mode, point: mode === 'ratio' ? Math.exp(e.center) : e.center, ...judge(e, higherIsBetter, threshold) } : null;
  });
}

/** Change of a backend's overhead vs native from run A to run B. */
export function overheadChange(
  a: { native: readonly number[]; backend: readonly number[] },
  b: { native: readonly number[]; backend: readonly number[] },
  mode: CompareMode,
  higherIsBetter: boolean,
  threshold: number,
): ChangeEstimate | null {
  return estimate(mode, [b.backend, a.native], [b.native, a.backend], higherIsBetter, threshold);
}

/** Change of one figure from run A to run B. */
export function valueChange(a: readonly number[], b: readonly number[], mode: CompareMode, higherIsBetter: boolean, threshold: number): ChangeEstimate | null {
  return estimate(mode, [b], [a], higherIsBetter, threshold);
}
