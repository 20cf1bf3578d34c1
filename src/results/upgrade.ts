/**
 * Reading older results: a schemaVersion 1 file has the measured values but
 * not what version 2 adds (equivalence verdicts, thresholds, differences, the
 * headline block, outlier method). All of it derives from the cells, so it is
 * recomputed from them with today's estimator: nothing is guessed. The
 * headline (worded figures) is left empty here and computed by the report
 * layer (report/derive.ts withComparisons), which owns its wording.
 */
import { deriveComparisons, mergeWarnings } from './derive.js';
import type { z } from 'zod';
import { SCHEMA_VERSION } from './schema.js';
import type { resultsFileV1Schema } from './schema.js';
import type { RunResults } from './types.js';

export type ResultsV1 = z.infer<typeof resultsFileV1Schema>;

/** Upgrade a version-1 file on read (pure; returns a new object). */
export function upgradeResults(data: ResultsV1): RunResults {
  const { warnings, ...derived } = deriveComparisons(data.cells, data.backends, data.scenario);
  return {
    ...data,
    ...derived,
    schemaVersion: SCHEMA_VERSION,
    headline: [],
    warnings: mergeWarnings(data.warnings, warnings),
  };
}
