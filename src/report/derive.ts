/**
 * Everything in results.json that derives from the measured cells: the
 * statistics (results/derive.ts) plus the headline worded from them
 * (headline.ts). Used by the runner when it writes results and by the
 * renderers for in-memory results and older files, so a figure is judged and
 * worded the same way wherever it is computed.
 */
import { deriveComparisons, mergeWarnings } from '../results/derive.js';
import type { BackendResult, Cell, RunResults, Warning } from '../results/types.js';
import { computeHeadline } from './headline.js';

export type Derived = Pick<RunResults, 'cells' | 'overheads' | 'differences' | 'headline'> & { warnings: Warning[] };

export function deriveFromCells(
  cells: readonly Cell[],
  backends: readonly BackendResult[],
  scenario: unknown,
): Derived {
  const base = deriveComparisons(cells, backends, scenario);
  return { ...base, headline: computeHeadline({ ...base, backends: [...backends] }) };
}

/** A results object with summaries, comparisons and headline computed by this version (pure; returns a new object). */
export function recomputeDerived(r: RunResults): RunResults {
  const { warnings, ...derived } = deriveFromCells(r.cells, r.backends ?? [], r.scenario);
  return { ...r, ...derived, warnings: mergeWarnings(r.warnings, warnings) };
}

/**
 * The same results, with comparisons and headline when they are missing
 * (in-memory results, older files: the loader upgrades a version-1 file's
 * statistics and leaves its headline empty for this layer to word).
 */
export function withComparisons(r: RunResults): RunResults {
  if (
    !(
      Array.isArray(r.differences) &&
      Array.isArray(r.headline) &&
      r.overheads.every((o) => typeof o.thresholdPct === 'number' && o.design !== undefined)
    )
  ) {
    // Files written before the paired estimator (no `design`): judged again from their cells, by today's rules.
    return recomputeDerived(r);
  }
  if (r.headline.length > 0) return r;
  // An empty headline: a version-1 file, or a run with nothing to compare (then this is empty again).
  return { ...r, headline: computeHeadline(r) };
}
