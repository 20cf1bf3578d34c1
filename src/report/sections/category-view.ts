/** The shapes of a category section in the view model (what sections/categories.ts builds and the renderers draw). */
import type { Cell, Overhead, Summary, Verdict } from '../../results/types.js';
import type { CompareMode } from '../../stats/index.js';
import type { DifferenceView } from '../format.js';
import type { BarChartSpec, CdfChartSpec } from '../charts/types.js';
import type { IsolationView } from '../isolation/index.js';

export interface MetricCellView {
  backend: string;
  /** State of the cell this metric came from ('missing' when the backend has no such cell). */
  state: Cell['state'] | 'missing';
  /** Why the cell is not complete (failed stage + error, skip reason, partial reason). */
  stateReason: string | undefined;
  values: number[];
  repetitions: number[];
  rawLogs: string[];
  summary: Summary | null;
  /** Overhead of this backend vs native, as computed by the run (null for native or when absent). */
  overhead: Overhead | null;
  /** Difference of means vs native with a Welch CI (null for native or without values on both sides). */
  difference: DifferenceView | null;
  /** How this cell reads against native, in the metric's comparison mode (null for native / no data). */
  vs: VsNative | null;
  notes: string[];
}

/** A backend vs native, as text the renderers print as is. */
export interface VsNative {
  mode: CompareMode;
  verdict: Verdict;
  /** Point estimate: "9.8× slower than native", "11.9% slower", "+241 MiB". */
  value: string;
  /** 95% CI in the same form: "[3.3×, 29×]", "[−41%, +45%]", "[234, 245] MiB". */
  ci: string;
  /** A second reading: "runs at 10% of native", "241 MiB vs 0 MiB native", with the judgement. */
  detail: string;
  /** Threshold, smallest detectable effect, and the repetitions that would decide an inconclusive verdict. */
  judgement: string;
  /** Why the figure cannot be taken at face value (src/stats/plausibility.ts); it is kept out of capacity. */
  implausible?: string;
}

export interface MetricView {
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** Ratio vs native, or absolute difference vs native (per-instance costs, native ~0). */
  mode: CompareMode;
  /** One entry per column, in column order. */
  cells: MetricCellView[];
  /** Shown as a distribution (CDF) as well as a bar. */
  distribution: boolean;
}

export interface CellProblem {
  backend: string;
  workload: string;
  state: 'partial' | 'failed' | 'skipped';
  reason: string;
  rawLog: string | undefined;
}

export interface CategoryView {
  id: string;
  title: string;
  metrics: MetricView[];
  problems: CellProblem[];
  /** The bar chart of every metric relative to its baseline (null when nothing can be charted). */
  chart: BarChartSpec | null;
  /** One CDF per distribution metric. */
  distributions: CdfChartSpec[];
  /** The isolation categories' own charts and tables, read from cell.extra (null without extra). */
  isolation: IsolationView | null;
}
