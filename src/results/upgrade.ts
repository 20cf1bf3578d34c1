/**
 * Reading older results: a schemaVersion 1 file has the measured values but
 * not what version 2 adds (equivalence verdicts, thresholds, differences, the
 * headline block, outlier method). All of it derives from the cells, so it is
 * recomputed from them with today's estimator: nothing is guessed.
 */
import { computeComparisons, thresholdsOf } from '../stats/comparisons.js';
import { summarize } from '../stats/index.js';
import { computeHeadline } from '../report/headline.js';
import { SCHEMA_VERSION, type RunResults } from './types.js';

/** A results object with summaries, comparisons and headline computed by this version (pure; returns a new object). */
export function recomputeDerived(r: RunResults): RunResults {
  const cells = r.cells.map((c) => ({ ...c, metrics: c.metrics.map((m) => ({ ...m, summary: summarize(m.values) })) }));
  const cmp = computeComparisons(cells, r.backends ?? [], thresholdsOf(r.scenario));
  const base = { ...r, cells, overheads: cmp.overheads, differences: cmp.differences };
  return { ...base, headline: computeHeadline(base) };
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
