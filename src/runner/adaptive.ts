/**
 * The stopping rule of adaptive repetition, on what the report shows: the
 * overheads (and differences) vs native. A figure is still open while its
 * verdict is inconclusive (or it has too few values) and its CI is wider than
 * the target: a half-width above `targetCiPct` percent for ratios; for figures
 * compared by difference (pp, near-zero metrics, per-instance costs) a
 * half-width above the figure's own threshold, in its unit, because a percent
 * of a mean near zero is never reached.
 */
import type { Difference, Overhead } from '../results/types.js';

function halfWidth(ci: readonly [number, number]): number {
  return Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? (ci[1] - ci[0]) / 2 : Number.POSITIVE_INFINITY;
}

/** Names ("backend/metric") of the figures that more repetitions should decide. */
export function adaptiveUndecided(figures: ReadonlyArray<Overhead | Difference>, targetCiPct: number): string[] {
  const open: string[] = [];
  for (const f of figures) {
    if (f.verdict !== 'inconclusive' && f.verdict !== 'insufficient-data') continue;
    const wide = 'overheadPctCi95' in f && Array.isArray(f.overheadPctCi95) ? halfWidth(f.overheadPctCi95 as [number, number]) > targetCiPct : halfWidth((f as Difference).ci95) > (f as Difference).threshold;
    if (wide) open.push(`${f.backend}/${f.metric}`);
  }
  return open;
}
