/**
 * What in results.json derives from the measured cells by statistics alone:
 * summaries, comparisons vs native (overheads, differences) with their
 * verdicts, and plausibility flags. One pure function, used by the runner
 * (through report/derive.ts, which adds the headline) and by the loader for
 * older files, so a figure is judged the same way wherever it is computed.
 * The headline is worded text (report/headline.ts): the results layer does not
 * import the report, so it is added one layer up.
 */
import { computeComparisons, thresholdsOf } from '../stats/comparisons.js';
import { summarize } from '../stats/index.js';
import { checkPlausibility } from '../stats/plausibility.js';
import type { BackendResult, Cell, RunResults, Warning } from './types.js';

export type DerivedComparisons = Pick<RunResults, 'cells' | 'overheads' | 'differences'> & { warnings: Warning[] };

export function deriveComparisons(
  cells: readonly Cell[],
  backends: readonly BackendResult[],
  scenario: unknown,
): DerivedComparisons {
  const summarized = cells.map((c) => ({
    ...c,
    metrics: c.metrics.map((m) => ({ ...m, summary: summarize(m.values) })),
  }));
  const cmp = computeComparisons(summarized, backends, thresholdsOf(scenario));
  // Plausibility flags (and drops the device check from) the overheads before the
  // headline reads them, so a flagged figure is marked wherever it is shown.
  const checked = checkPlausibility(summarized, [...backends], cmp.overheads);
  return {
    cells: checked.cells,
    overheads: checked.overheads,
    differences: cmp.differences,
    warnings: checked.warnings,
  };
}

/** Plausibility warnings are added once: results that already carry one keep their own. */
export function mergeWarnings(had: readonly Warning[] | undefined, added: readonly Warning[]): Warning[] {
  const known = new Set((had ?? []).map((w) => `${w.code}|${w.message}`));
  return [...(had ?? []), ...added.filter((w) => !known.has(`${w.code}|${w.message}`))];
}
