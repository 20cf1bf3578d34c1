/**
 * Everything in results.json that derives from the measured cells: summaries,
 * comparisons vs native (overheads, differences) with their verdicts,
 * plausibility flags, and the headline. One pure function, used by the runner
 * when it writes results and by readers of older files, so a figure is judged
 * the same way wherever it is computed.
 */
import { computeComparisons, thresholdsOf } from '../stats/comparisons.js';
import { summarize } from '../stats/index.js';
import { checkPlausibility } from '../stats/plausibility.js';
import { computeHeadline } from '../report/headline.js';
import type { BackendResult, Cell, RunResults, Warning } from './types.js';

export type Derived = Pick<RunResults, 'cells' | 'overheads' | 'differences' | 'headline'> & { warnings: Warning[] };

export function deriveFromCells(cells: readonly Cell[], backends: readonly BackendResult[], scenario: unknown): Derived {
  const summarized = cells.map((c) => ({ ...c, metrics: c.metrics.map((m) => ({ ...m, summary: summarize(m.values) })) }));
  const cmp = computeComparisons(summarized, backends, thresholdsOf(scenario));
  // Plausibility flags (and drops the device check from) the overheads before the
  // headline reads them, so a flagged figure is marked wherever it is shown.
  const checked = checkPlausibility(summarized, [...backends], cmp.overheads);
  const base = { cells: checked.cells, overheads: checked.overheads, differences: cmp.differences };
  return { ...base, headline: computeHeadline({ ...base, backends: [...backends] }), warnings: checked.warnings };
}
