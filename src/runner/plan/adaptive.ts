/**
 * The stopping rule of adaptive repetition, on what the report shows: the
 * overheads (and differences) vs native. A figure is still open while its
 * verdict is inconclusive (or it has too few values) and its CI is wider than
 * the target: a half-width above `targetCiPct` percent for ratios; for figures
 * compared by difference (pp, near-zero metrics, per-instance costs) a
 * half-width above the figure's own threshold, in its unit, because a percent
 * of a mean near zero is never reached.
 */
import type { Difference, Overhead, Warning } from '../../results/types.js';

function halfWidth(ci: readonly [number, number]): number {
  return Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? (ci[1] - ci[0]) / 2 : Number.POSITIVE_INFINITY;
}

/** The figures that more repetitions should decide. */
export function adaptiveUndecided<F extends Overhead | Difference>(figures: readonly F[], targetCiPct: number): F[] {
  return figures.filter((f) => {
    if (f.verdict !== 'inconclusive' && f.verdict !== 'insufficient-data') return false;
    return 'overheadPctCi95' in f && Array.isArray(f.overheadPctCi95) ? halfWidth(f.overheadPctCi95 as [number, number]) > targetCiPct : halfWidth((f as Difference).ci95) > (f as Difference).threshold;
  });
}

/** Why a workload's repetitions end (or `more` when another round is wanted). */
export type AdaptiveDecision =
  /** `open`: "backend/metric" of each undecided figure (for progress); `backends`: the backends they belong to. */
  | { more: true; open: string[]; backends: string[] }
  | { more: false; reason: 'not-adaptive' | 'max-repetitions' | 'time-box' | 'decided'; warning?: Warning };

/** The adaptive settings a workload runs under (absent when it repeats a fixed number of times). */
export interface AdaptivePlan {
  targetCiPct: number;
  maxRepetitions: number;
  maxMinutes: number;
}

/**
 * Whether repetition `rep` (past the workload's base count) should run. The
 * caller passes how long its extra repetitions have run (the plan holds no clock) and
 * the run's current figures, read only when needed (computing them derives
 * every overhead of the run).
 */
export function adaptiveNext(
  w: { workload: string; repetitions: number; maxRepetitions: number; adaptive?: AdaptivePlan },
  rep: number,
  elapsedMs: number,
  figures: () => ReadonlyArray<Overhead | Difference>,
): AdaptiveDecision {
  if (rep <= w.repetitions) return { more: true, open: [], backends: [] };
  if (!w.adaptive) return { more: false, reason: 'not-adaptive' };
  if (rep > w.maxRepetitions) return { more: false, reason: 'max-repetitions' };
  if (elapsedMs > w.adaptive.maxMinutes * 60_000) {
    return {
      more: false,
      reason: 'time-box',
      warning: { code: 'ADAPTIVE_TIME_BOX', workload: w.workload, message: `${w.workload}: adaptive repetition stopped after ${w.adaptive.maxMinutes} min (adaptive.maxMinutes) at ${rep - 1} repetitions; some verdicts may stay inconclusive` },
    };
  }
  const open = adaptiveUndecided(figures().filter((f) => f.workload === w.workload), w.adaptive.targetCiPct);
  return open.length ? { more: true, open: open.map((f) => `${f.backend}/${f.metric}`), backends: [...new Set(open.map((f) => f.backend))] } : { more: false, reason: 'decided' };
}
