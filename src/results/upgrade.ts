/**
 * Reading older results: a schemaVersion 1 file has the measured values but
 * not what version 2 adds (equivalence verdicts, thresholds, differences, the
 * headline block, outlier method). All of it derives from the cells, so it is
 * recomputed from them with today's estimator: nothing is guessed.
 */
import { deriveFromCells } from './derive.js';
import { SCHEMA_VERSION, type RunResults } from './types.js';

/** A results object with summaries, comparisons and headline computed by this version (pure; returns a new object). */
export function recomputeDerived(r: RunResults): RunResults {
  const { warnings, ...derived } = deriveFromCells(r.cells, r.backends ?? [], r.scenario);
  // Plausibility warnings are added once: a file that already carries them keeps its own.
  const known = new Set((r.warnings ?? []).map((w) => `${w.code}|${w.message}`));
  return { ...r, ...derived, warnings: [...(r.warnings ?? []), ...warnings.filter((w) => !known.has(`${w.code}|${w.message}`))] };
}

/** Upgrade a version-1 file on read. */
export function upgradeResults(data: { schemaVersion: number } & Record<string, unknown>): RunResults {
  if (data.schemaVersion === SCHEMA_VERSION) return data as unknown as RunResults;
  return { ...recomputeDerived(data as unknown as RunResults), schemaVersion: SCHEMA_VERSION };
}

/** The same results, with comparisons and headline when they are missing (in-memory results, older files). */
export function withComparisons(r: RunResults): RunResults {
  if (Array.isArray(r.differences) && Array.isArray(r.headline) && r.overheads.every((o) => typeof o.thresholdPct === 'number')) return r;
  return recomputeDerived(r);
}
