/**
 * The results.json contract (schemaVersion 2), as TypeScript types. They are
 * inferred from the one zod schema in schema.ts (which documents each field),
 * so the types, the loader and the checks cannot drift apart. Scripts, report,
 * compare and capacity read this; change it only with a schemaVersion bump.
 *
 * Version 2 (issue 13): equivalence verdicts (Verdict), thresholds, detectable
 * effects and repetitions needed on every overhead; `differences` (figures
 * compared by difference of means) and `headline` blocks; Summary.outlierMethod.
 * Version 1 files are still read: results/upgrade.ts recomputes what version 2
 * adds from their cells (the measured values), so nothing is guessed.
 */
import type { z } from 'zod';
import type {
  backendResultSchema,
  cellSchema,
  differenceSchema,
  dutyCycleSchema,
  headlineFigureSchema,
  headlineRowSchema,
  implausibleSchema,
  metricResultSchema,
  overheadSchema,
  placementSchema,
  runResultsSchema,
  runStatusSchema,
  sampleRowSchema,
  summarySchema,
  verdictSchema,
  warningSchema,
} from './schema.js';

export { SCHEMA_VERSION, READABLE_SCHEMA_VERSIONS } from './schema.js';

export type RunStatus = z.infer<typeof runStatusSchema>;
export type Summary = z.infer<typeof summarySchema>;
export type MetricResult = z.infer<typeof metricResultSchema>;
export type Cell = z.infer<typeof cellSchema>;
/** The state part of a cell: complete | partial | failed | skipped, with what each carries. */
export type CellState = Cell extends infer C
  ? C extends unknown
    ? Omit<C, 'backend' | 'workload' | 'extra'>
    : never
  : never;
export type BackendResult = z.infer<typeof backendResultSchema>;
export type Verdict = z.infer<typeof verdictSchema>;
export type Overhead = z.infer<typeof overheadSchema>;
export type Implausible = z.infer<typeof implausibleSchema>;
export type Difference = z.infer<typeof differenceSchema>;
export type HeadlineFigure = z.infer<typeof headlineFigureSchema>;
export type HeadlineRow = z.infer<typeof headlineRowSchema>;
export type Warning = z.infer<typeof warningSchema>;
export type Placement = z.infer<typeof placementSchema>;
export type DutyCycle = z.infer<typeof dutyCycleSchema>;
export type RunResults = z.infer<typeof runResultsSchema>;
export type SampleRow = z.infer<typeof sampleRowSchema>;
