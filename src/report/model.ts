/**
 * The report view model: pure functions that turn a RunResults into what the
 * HTML, PNG and Markdown renderers draw. No I/O, no Chart.js import: the chart
 * configurations built here are plain JSON so the browser (HTML) and
 * chartjs-node-canvas (PNG) draw the same data.
 *
 * Categories: a workload's metrics form its category. Known categories come
 * first in a fixed order; any other workload found in the cells is appended,
 * so the report renders whatever cells exist.
 *
 * Two ways to compare a backend with native:
 * - 'ratio' (cpu, memory, disk, network): ratio of means with the run's
 *   delta-method CI ("9.8× slower than native", "+12% slower").
 * - 'absolute' (footprint, startup, density, and any metric whose native mean
 *   is ~0): the difference of means with a Welch CI, in the metric's unit
 *   ("+241 MiB per idle instance [234, 245]"), because a ratio against ~0 is
 *   meaningless and a per-instance cost is what a capacity plan adds up.
 *
 * Each section builds its own part (sections/*.ts), chart specs are built in
 * charts/bars.ts and turned into Chart.js configurations in charts/config.ts;
 * this module joins them. The names it re-exports are the report's public
 * vocabulary (renderers and tests import them from here).
 */
import type { RunResults, Warning } from '../results/types.js';
import { withComparisons } from './derive.js';
import type { HostSpec } from '../capacity/index.js';
import { buildColumns, isNative, type ColumnView } from './columns.js';
import { flattenFacts } from './format.js';
import { capabilityRows, factsWithoutCapabilities, type CapabilityRow } from './sections/capabilities.js';
import type { BarChartSpec, ChartSpec } from './charts/types.js';
import { buildCategories, type CategoryView } from './sections/categories.js';
import { buildHeadline, buildSummaryChart, type HeadlineRow } from './sections/headline.js';
import { groupWarnings, type WarningGroup } from './sections/warnings.js';
import { buildCapacity, type CapacityView } from '../capacity/report-section.js';
import { vmSectionView, type VmSectionView } from './sections/vm.js';

export type { ExtraTable, IsolationView } from './isolation/index.js';
export type { CompareMode } from '../stats/index.js';
export * from './categories.js';
export * from './columns.js';
export * from './format.js';
export * from './charts/types.js';
export * from './charts/bars.js';
export * from './charts/config.js';
export * from './charts/runtime.js';
export * from './sections/categories.js';
export * from './sections/headline.js';
export * from './sections/warnings.js';
export * from '../capacity/report-section.js';
export * from './sections/methods.js';

export interface ReportModel {
  runId: string;
  status: RunResults['status'];
  statusReason: string | undefined;
  startedAt: string;
  endedAt: string | null;
  scenarioFile: string;
  scenarioName: string | undefined;
  toolVersion: string;
  order: string;
  /** Per workload, the share of wall time inside the measuring tools (absent in older runs). */
  dutyCycle: RunResults['dutyCycle'];
  columns: ColumnView[];
  /** Columns other than native (what overheads are computed for). */
  compared: ColumnView[];
  /** Labels of columns whose accelerator is TCG (software emulation). */
  emulated: ColumnView[];
  headline: HeadlineRow[];
  summaryChart: BarChartSpec | null;
  categories: CategoryView[];
  warnings: Warning[];
  /** Warnings grouped by code, repeated backend-level text removed (what the report lists). */
  warningGroups: WarningGroup[];
  /** Smallest repetition count behind any compared figure (drives the "add repetitions" note). */
  minRepetitions: number | null;
  capacity: CapacityView;
  host: [string, string][];
  /** Host capabilities as recorded (null: the run recorded none). */
  capabilities: CapabilityRow[] | null;
  toolVersions: [string, string][];
  rootfsHash: string | null;
  cleanupFailed: RunResults['cleanupFailed'];
  /** The VM section (sections/vm.ts); null without a VM backend. */
  vm: VmSectionView | null;
}

export interface ModelOptions {
  /** Host for the capacity section (load it with the capacity module's profile loader; the model does no I/O). */
  capacityHost?: HostSpec;
}

export function buildModel(input: RunResults, opts: ModelOptions = {}): ReportModel {
  // Results written before schemaVersion 2 (or built in memory) get their comparisons and headline from their cells.
  const results = withComparisons(input);
  const columns = buildColumns(results);
  const compared = columns.filter((c) => !isNative(c));
  const categories = buildCategories(results, columns);
  const headline = buildHeadline(results.headline, categories, compared, columns);
  const scenario = results.scenario as { name?: unknown } | null;
  const ns = categories
    .flatMap((c) => c.metrics.flatMap((m) => m.cells.map((x) => x.summary?.n ?? 0)))
    .filter((n) => n > 0);
  return {
    runId: results.runId,
    status: results.status,
    statusReason: results.statusReason,
    startedAt: results.startedAt,
    endedAt: results.endedAt,
    scenarioFile: results.scenarioFile,
    scenarioName:
      scenario && typeof scenario === 'object' && typeof scenario.name === 'string' ? scenario.name : undefined,
    toolVersion: results.tool.version,
    order: results.order,
    dutyCycle: results.dutyCycle,
    columns,
    compared,
    emulated: columns.filter((c) => c.emulated),
    headline,
    summaryChart: buildSummaryChart(headline, compared),
    categories,
    warnings: results.warnings,
    warningGroups: groupWarnings(results.warnings, columns),
    minRepetitions: ns.length ? Math.min(...ns) : null,
    capacity: buildCapacity(results, opts.capacityHost),
    host: flattenFacts(factsWithoutCapabilities(results.host)),
    capabilities: capabilityRows(results.host),
    toolVersions: Object.entries(results.toolVersions).map(([k, v]) => [k, v ?? 'not found']),
    rootfsHash: results.rootfsHash,
    cleanupFailed: results.cleanupFailed,
    vm: vmSectionView(results.backends),
  };
}

/** Every chart spec of the model in document order (summary first). */
export function allCharts(model: ReportModel): ChartSpec[] {
  const out: ChartSpec[] = [];
  if (model.summaryChart) out.push(model.summaryChart);
  if (model.capacity.chart) out.push(model.capacity.chart);
  for (const c of model.categories) {
    if (c.chart) out.push(c.chart);
    out.push(...c.distributions);
    if (c.isolation) out.push(...c.isolation.charts);
  }
  return out;
}
