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
 * The capacity section is computed here (pure) from a host profile the caller
 * loads (write.ts) and passes in; without one the section says how to get it.
 */
import type { BackendResult, Cell, Difference, HeadlineFigure, HeadlineRow as StoredHeadlineRow, MetricResult, Overhead, RunResults, Summary, Verdict, Warning } from '../results/types.js';
import { ABSOLUTE_CATEGORIES, comparisonMode, type CompareMode } from '../stats/index.js';
import { withComparisons } from './derive.js';
import { differenceFigure, differenceJudgement, overheadFigure, overheadJudgement } from './headline.js';
import { capacityChartData, planCapacity, renderRuntimeClassYaml, type CapacityPlan, type HostSpec, type InstanceDemand } from '../capacity/index.js';
import { buildIsolation, type IsolationView } from './isolation/index.js';
import { vmSectionView, type VmSectionView } from './vm-section.js';

export type { ExtraTable, IsolationView } from './isolation/index.js';

export const CATEGORY_ORDER = [
  'cpu',
  'memory',
  'disk',
  'network',
  'startup',
  'footprint',
  'density',
  'partition',
  'memory-gradient',
  'noisy-neighbor',
  'capacity',
] as const;

export const CATEGORY_TITLES: Record<string, string> = {
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Disk I/O',
  network: 'Network',
  startup: 'Start-up',
  footprint: 'Per-instance footprint',
  density: 'Density',
  partition: 'Partitioning over time',
  'memory-gradient': 'Memory-limit gradient',
  'noisy-neighbor': 'Noisy neighbour',
  capacity: 'Capacity',
};

/** Colours per column; native is always slate so the baseline reads as the baseline. */
const NATIVE_COLOUR = '#64748b';
const PALETTE = ['#0f766e', '#7c3aed', '#c2410c', '#be123c', '#2563eb', '#a16207', '#15803d', '#9333ea'];

export interface ColumnView {
  label: string;
  kind: BackendResult['kind'];
  variant: string;
  accelerator: string;
  acceleratorReason: string;
  /** The accelerator is software emulation (TCG): figures do not describe hardware virtualization. */
  emulated: boolean;
  colour: string;
  versions: Record<string, string>;
  warnings: string[];
  limitsReadBack: Record<string, unknown> | undefined;
  error: string | undefined;
}

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

export type { CompareMode } from '../stats/index.js';
export { ABSOLUTE_CATEGORIES } from '../stats/index.js';

/** A backend vs native by difference of means, as stored in results.differences (src/stats). */
export type DifferenceView = Pick<Difference, 'diff' | 'ci95' | 'verdict' | 'nativeMean' | 'backendMean'> & Partial<Pick<Difference, 'threshold' | 'detectable' | 'repetitionsNeeded'>>;

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

/** A stored headline figure (results.headline) with what the charts need. */
export interface HeadlineEntry extends HeadlineFigure {
  /** The ratio behind a ratio row's figure (summary chart), null otherwise. */
  overhead: Overhead | null;
  /** The backend's summary of the row's metric (its n). */
  summary: Summary | null;
}

/** A stored headline row (computed once by headline.ts) with one entry per non-native column. */
export interface HeadlineRow extends Omit<StoredHeadlineRow, 'entries'> {
  /** ratio / absolute vs native, or the category's own terms (isolation). */
  mode: StoredHeadlineRow['kind'];
  /** Native's summary of the headline metric (the baseline the entries are read against). */
  nativeSummary: Summary | null;
  entries: HeadlineEntry[];
}

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
  toolVersions: [string, string][];
  rootfsHash: string | null;
  cleanupFailed: RunResults['cleanupFailed'];
  /** The VM section (vm-section.ts); null without a VM backend. */
  vm: VmSectionView | null;
}

export interface WarningItem {
  backend: string | undefined;
  workload: string | undefined;
  text: string;
}

export interface WarningGroup {
  code: string;
  /** One line that stands for the group ("74 metric × backend pairs with CV > 10%"). */
  summary: string;
  /** Shown expanded when short, collapsed when long. */
  collapsed: boolean;
  items: WarningItem[];
}

export interface CapacityView {
  /** 'ok': a plan was computed; otherwise why not (no host profile given, no instance spec, plan error). */
  status: 'ok' | 'unavailable';
  reason: string | undefined;
  host: HostSpec | undefined;
  instance: InstanceDemand | undefined;
  /** Where the instance demand came from ("scenario instance: 1 vCPU, 512 MiB"). */
  instanceOrigin: string | undefined;
  plan: CapacityPlan | undefined;
  chart: BarChartSpec | null;
  runtimeClassYaml: string;
  /** The command that reruns the plan with your own host and instance. */
  rerun: string;
  /** Labels of emulated (TCG) backends in the plan: the caveat is repeated in the section. */
  emulated: string[];
}

export interface ModelOptions {
  /** Host for the capacity section (load it with the capacity module's profile loader; the model does no I/O). */
  capacityHost?: HostSpec;
}

// ---------- chart specifications (plain data, shared by HTML and PNG) ----------

export interface BarSeries {
  label: string;
  colour: string;
  /** Bar value per x label (null when this backend has no value). */
  values: (number | null)[];
  /** Whisker ends per x label (95% CI), in the same scale as values. */
  lo: (number | null)[];
  hi: (number | null)[];
  /** Human text per x label for tooltips ("1,203 events/s [1,190, 1,215], n=5"). */
  text: (string | null)[];
  /** Text drawn above each bar ("−52%"), null for none. */
  labelsAbove?: (string | null)[];
}

export interface BarChartSpec {
  type: 'bar';
  id: string;
  title: string;
  subtitle: string;
  axisTitle: string;
  /** Category labels; an array is drawn as several lines. */
  labels: (string | string[])[];
  series: BarSeries[];
  /** Value axis is logarithmic (wide range such as TCG start-up vs native). */
  log: boolean;
  /** Horizontal bars (value axis is x). */
  horizontal: boolean;
  /** Where bars start (1 for cost factors, 0 otherwise). */
  base: number;
  /** Value-axis range that keeps every bar, whisker and the base in view. */
  suggestedMin: number | undefined;
  suggestedMax: number | undefined;
  /** Hard value-axis limits: whiskers beyond them are clipped and drawn with an arrow. */
  min?: number | undefined;
  max?: number | undefined;
  /** Stack the series (capacity chart: one series per binding resource). */
  stacked?: boolean;
  /** Value-axis tick suffix ("×" for factors, "" for absolute units). */
  suffix?: string;
}

export interface CdfSeries {
  label: string;
  colour: string;
  points: { x: number; y: number }[];
}

export interface CdfChartSpec {
  type: 'cdf';
  id: string;
  title: string;
  subtitle: string;
  axisTitle: string;
  series: CdfSeries[];
  log: boolean;
}

export interface LineSeries {
  label: string;
  colour: string;
  points: { x: number; y: number }[];
  /** Tooltip text per point. */
  text: (string | null)[];
  dashed?: boolean;
  /** A reference line: no point markers. */
  noPoints?: boolean;
  /** Points drawn hollow (e.g. outside the counted window). */
  hollow?: boolean[];
  /** Points drawn as a red ✕ (e.g. the step that was OOM-killed). */
  crosses?: boolean[];
  /** Text drawn next to a point. */
  marks?: (string | null)[];
  /** The last segment is dotted (leads to an end marker). */
  dashLast?: boolean;
}

/** An x–y line chart (time series, gradient, density): linear axes. */
export interface LineChartSpec {
  type: 'line';
  id: string;
  title: string;
  subtitle: string;
  xTitle: string;
  yTitle: string;
  xSuffix?: string;
  ySuffix: string;
  xMin?: number | undefined;
  xMax?: number | undefined;
  /** Tick step on x (1 for instance counts). */
  xStep?: number;
  yMin: number | undefined;
  yMax: number | undefined;
  series: LineSeries[];
}

export type ChartSpec = BarChartSpec | CdfChartSpec | LineChartSpec;

// ---------- helpers ----------

export function isEmulatedAccelerator(accelerator: string): boolean {
  return accelerator.toLowerCase() === 'tcg';
}

export function isNative(col: { kind: string; label: string }): boolean {
  return col.kind === 'native' || col.label === 'native';
}

/** A metric is drawn as a distribution when it is a start-up time or a latency. */
export function isDistributionMetric(workload: string, metric: string): boolean {
  return workload === 'startup' || /latency|(^|_)lat(_|$)/i.test(metric);
}

/** Format a number with about 3 significant digits and thousands separators. */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '0';
  let digits: number;
  if (a >= 100) digits = 0;
  else if (a >= 10) digits = 1;
  else if (a >= 1) digits = 2;
  else digits = Math.min(6, 2 - Math.floor(Math.log10(a)));
  return v.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

export function fmtPct(v: number, signed = true): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(1);
  return (signed && v > 0 ? '+' : '') + s + '%';
}

export function fmtCi(ci: [number, number] | null | undefined): string {
  if (!ci) return '—';
  return `[${fmtNum(ci[0])}, ${fmtNum(ci[1])}]`;
}

export function fmtPctCi(ci: [number, number]): string {
  return `[${fmtPct(ci[0])}, ${fmtPct(ci[1])}]`;
}

/** Costs at or above this factor read better as "7.1× slower than native" than as a percentage. */
export const FACTOR_THRESHOLD = 3;

/**
 * Large costs are shown as a factor. Decided on the cost factor (from the
 * ratio), not on overheadPct, whose scale depends on the metric direction
 * (a throughput cost of 1 - ratio never exceeds 100%).
 */
export function showAsFactor(o: Overhead): boolean {
  const f = costFactor(o).value;
  return Number.isFinite(f) && (f >= FACTOR_THRESHOLD || f <= 1 / FACTOR_THRESHOLD) && Number.isFinite(o.ratioCi95[0]) && Number.isFinite(o.ratioCi95[1]);
}

/** A factor with about two significant digits: 9.8, 21, 1,457. */
export function fmtFactor(v: number): string {
  if (!Number.isFinite(v)) return '∞';
  const a = Math.abs(v);
  if (a >= 10) return Math.round(v).toLocaleString('en-US');
  if (a >= 1) return (Math.round(v * 10) / 10).toString();
  return Number(v.toPrecision(2)).toString();
}

/** Words for "worse" and "better" in a metric's terms: times and rates are slower/faster. */
export function directionWords(m: { unit: string; higherIsBetter: boolean }): [string, string] {
  const u = m.unit.trim();
  const time = /^(ns|µs|us|ms|s|sec|min)(\/|$)/i.test(u);
  const rate = m.higherIsBetter && /\/s\b|iops|bit\/s|mbps|gbps|ops/i.test(u);
  return time || rate ? ['slower', 'faster'] : ['worse', 'better'];
}

/**
 * The point estimate of an overhead in words that cannot be misread:
 * "11.9% slower", "9.8× slower than native" (throughput at 1/9.8 of native),
 * "21× native (slower)" (a time 21 times native's).
 */
export function fmtOverheadValue(o: Overhead): string {
  const [worse, better] = directionWords(o);
  if (showAsFactor(o)) {
    const f = costFactor(o).value;
    if (o.higherIsBetter) return f >= 1 ? `${fmtFactor(f)}× ${worse} than native` : `${fmtFactor(1 / f)}× ${better} than native`;
    return `${fmtFactor(o.ratio)}× native (${f >= 1 ? worse : better})`;
  }
  const p = o.overheadPct;
  if (!Number.isFinite(p)) return '—';
  // Never "same as native" from a point estimate: only a no-practical-difference verdict may say that.
  if (Math.abs(p) < 0.05) return `${fmtPct(0, false)} difference`;
  return `${fmtPct(Math.abs(p), false)} ${p > 0 ? worse : better}`;
}

/** The CI of an overhead, in the same form as fmtOverheadValue (percent: + = worse than native). */
export function fmtOverheadCi(o: Overhead): string {
  if (showAsFactor(o)) {
    if (o.higherIsBetter) {
      const f = costFactor(o);
      return f.value >= 1 ? `[${fmtFactor(f.ci[0])}×, ${fmtFactor(f.ci[1])}×]` : `[${fmtFactor(1 / f.ci[1])}×, ${fmtFactor(1 / f.ci[0])}×]`;
    }
    return `[${fmtFactor(o.ratioCi95[0])}×, ${fmtFactor(o.ratioCi95[1])}×]`;
  }
  return fmtPctCi(o.overheadPctCi95);
}

/** A second reading of an overhead: "runs at 10% of native" for throughput, the percent for a factor. */
export function fmtOverheadDetail(o: Overhead): string {
  if (o.higherIsBetter) return `runs at ${fmtPct(o.ratio * 100, false)} of native`;
  return `${fmtPct(o.overheadPct)} vs native`;
}

/** "11.9% slower [−41.2%, +45.0%]" (or "9.8× slower than native [3.3×, 29×]") for an overhead. */
export function fmtOverhead(o: Overhead): string {
  return `${fmtOverheadValue(o)} ${fmtOverheadCi(o)}`;
}

/** How outliers were looked for, in words, for a summary ("n too small to flag outliers" below 3). */
export function outlierText(s: Summary): string {
  if (s.outliers.length) return `${s.outliers.length} outlier${s.outliers.length > 1 ? 's' : ''} (${s.outlierMethod === 'dixon-q95' ? "Dixon's Q, 95%" : 'modified z-score > 3.5'}; kept)`;
  if (s.outlierMethod === 'none: n < 3' || (!s.outlierMethod && s.n < 3)) return 'n too small to flag outliers';
  return '';
}

export function verdictText(o: { verdict: Verdict; implausible?: unknown } | null): string {
  if (!o) return 'no data';
  // A flagged figure says so wherever its verdict is printed (tables, badges, charts).
  if (o.implausible) return `implausible (${verdictText({ verdict: o.verdict })}; kept out of capacity)`;
  switch (o.verdict) {
    case 'overhead':
      return 'overhead';
    case 'better':
      return 'better than native';
    case 'no-practical-difference':
      return 'no practical difference';
    case 'small-difference':
      return 'small difference';
    case 'inconclusive':
      return 'inconclusive';
    case 'insufficient-data':
      return 'insufficient data';
  }
}

/**
 * Cost factor vs native: >1 means the backend is worse, whatever the metric's
 * direction (a throughput at 1/7 of native is a 7x cost). Derived from the
 * ratio, so it stays right for large slowdowns. CI swapped when inverted.
 */
export function costFactor(o: Overhead): { value: number; ci: [number, number] } {
  if (o.higherIsBetter) {
    const inv = (x: number) => (x > 0 ? 1 / x : Number.POSITIVE_INFINITY);
    return { value: inv(o.ratio), ci: [inv(o.ratioCi95[1]), inv(o.ratioCi95[0])] };
  }
  return { value: o.ratio, ci: [o.ratioCi95[0], o.ratioCi95[1]] };
}

// ---------- absolute costs (difference of means) ----------

/** The phrase after a headline difference: "+241 MiB per idle instance", "+3.9 s to ready". */
export const ABSOLUTE_PHRASES: Record<string, string> = {
  footprint: 'per idle instance',
  startup: 'to ready',
  // The one start-up definition's figure (older files carry only ready-ms, "to ready").
  'startup/startup-ms': 'to start (launch to payload signal)',
  density: 'per extra instance',
};

/** Each category's primary metric (the cross-backend figure); else the first metric with a comparison. */
export const PRIMARY_METRICS: Record<string, RegExp[]> = {
  cpu: [/^sysbench-events-nt$/, /^sysbench-events-1t$/],
  footprint: [/^pss-mib$/, /pss/i],
  // The one start-up definition's figure; ready-ms in files written before it existed.
  startup: [/^startup-ms$/, /^ready-ms$/, /^ready/i],
  density: [/^marginal-pss-mib$/, /marginal.*pss/i],
};

/** Ratio or difference for a metric (the rule lives in src/stats: comparisonMode). */
export function compareMode(workload: string, nativeSummary: Summary | null, metric = '', unit = ''): CompareMode {
  return comparisonMode(workload, metric, unit, nativeSummary ? nativeSummary.mean : null);
}

/** Scale a value for display: ms ≥ 1000 → s, µs ≥ 1000 → ms, MiB ≥ 10240 → GiB. */
export function displayUnit(unit: string, magnitude: number): { unit: string; factor: number } {
  const a = Math.abs(magnitude);
  if (unit === 'ms' && a >= 1000) return { unit: 's', factor: 1 / 1000 };
  if ((unit === 'µs' || unit === 'us') && a >= 1000) return { unit: 'ms', factor: 1 / 1000 };
  if (unit === 'ns' && a >= 1000) return { unit: 'µs', factor: 1 / 1000 };
  if (unit === 'MiB' && a >= 10240) return { unit: 'GiB', factor: 1 / 1024 };
  return { unit, factor: 1 };
}

function signed(v: number, text: string): string {
  return v > 0 ? `+${text}` : v < 0 ? `−${text.replace(/^-/, '')}` : text;
}

/** "241 MiB", "3.9 s". */
export function fmtQuantity(v: number, unit: string): string {
  const d = displayUnit(unit, v);
  return `${fmtNum(v * d.factor)} ${d.unit}`;
}

export function fmtDifferenceValue(d: Pick<DifferenceView, 'diff'>, unit: string): string {
  const u = displayUnit(unit, d.diff);
  return `${signed(d.diff, fmtNum(d.diff * u.factor))} ${u.unit}`;
}

export function fmtDifferenceCi(d: Pick<DifferenceView, 'diff' | 'ci95'>, unit: string): string {
  const u = displayUnit(unit, d.diff);
  const f = (x: number): string => (Number.isFinite(x) ? signed(x, fmtNum(x * u.factor)) : x > 0 ? '+∞' : '−∞');
  return `[${f(d.ci95[0])}, ${f(d.ci95[1])}] ${u.unit}`;
}

/** How a cell reads against native in its metric's mode. */
export function vsNative(mode: CompareMode, m: { unit: string; higherIsBetter: boolean }, overhead: Overhead | null, difference: DifferenceView | null, phrase = ''): VsNative | null {
  if (mode === 'absolute' || !overhead) {
    // A ratio metric without a ratio (native ~0, one side missing) falls back to the difference.
    if (!difference) return null;
    const d = { unit: m.unit, threshold: Number.NaN, detectable: Number.NaN, repetitionsNeeded: null, ...difference };
    const f = differenceFigure(d, phrase);
    return { mode: 'absolute', verdict: difference.verdict, value: f.value, ci: f.ci, detail: f.detail, judgement: differenceJudgement(d) };
  }
  const f = overheadFigure(overhead);
  return { mode: 'ratio', verdict: overhead.verdict, value: f.value, ci: f.ci, detail: f.detail, judgement: overheadJudgement(overhead), ...(f.implausible ? { implausible: f.implausible } : {}) };
}

function cellReason(cell: Cell): string | undefined {
  switch (cell.state) {
    case 'complete':
      return undefined;
    case 'partial':
      return cell.reason;
    case 'failed':
      return `${cell.stage}: ${cell.error}`;
    case 'skipped':
      return cell.reason;
  }
}

/** Flatten nested host facts into dotted keys with printable values. */
export function flattenFacts(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (obj === null || obj === undefined) {
    if (prefix) out.push([prefix, String(obj)]);
    return out;
  }
  if (Array.isArray(obj)) {
    if (obj.every((v) => v === null || typeof v !== 'object')) out.push([prefix, obj.map((v) => String(v)).join(', ')]);
    else obj.forEach((v, i) => flattenFacts(v, `${prefix}[${i}]`, out));
    return out;
  }
  if (typeof obj === 'object') {
    const entries = Object.entries(obj as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '{}']);
    for (const [k, v] of entries) flattenFacts(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  // Byte counts are easier to read with a binary-unit companion.
  if (typeof obj === 'number' && /bytes$/i.test(prefix) && obj >= 1024) out.push([prefix, `${obj} (${fmtBytes(obj)})`]);
  else out.push([prefix, String(obj)]);
  return out;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${fmtNum(v)} ${units[i]}`;
}

function categoryIndex(id: string): number {
  const i = (CATEGORY_ORDER as readonly string[]).indexOf(id);
  return i === -1 ? CATEGORY_ORDER.length : i;
}

export function categoryTitle(id: string): string {
  return CATEGORY_TITLES[id] ?? id;
}

function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function metricLabel(m: { metric: string; unit: string; higherIsBetter: boolean }): string[] {
  return [m.metric, `${m.unit}, ${m.higherIsBetter ? 'higher' : 'lower'} is better`];
}

// ---------- building the model ----------

export function buildColumns(results: RunResults): ColumnView[] {
  let p = 0;
  const cols: ColumnView[] = results.backends.map((b) => ({
    label: b.label,
    kind: b.kind,
    variant: b.variant,
    accelerator: b.accelerator,
    acceleratorReason: b.acceleratorReason,
    emulated: isEmulatedAccelerator(b.accelerator),
    colour: isNative(b) ? NATIVE_COLOUR : (PALETTE[p++ % PALETTE.length] ?? '#333'),
    versions: b.versions,
    warnings: b.warnings,
    limitsReadBack: b.limitsReadBack,
    error: b.error,
  }));
  // Cells naming a backend that is not in backends[] still get a column.
  for (const c of results.cells) {
    if (!cols.some((col) => col.label === c.backend)) {
      cols.push({
        label: c.backend,
        kind: c.backend.startsWith('vm') ? 'vm' : c.backend.startsWith('container') ? 'container' : 'native',
        variant: c.backend.split(':')[1] ?? '',
        accelerator: 'unknown',
        acceleratorReason: 'backend missing from results.backends',
        emulated: false,
        colour: c.backend === 'native' ? NATIVE_COLOUR : (PALETTE[p++ % PALETTE.length] ?? '#333'),
        versions: {},
        warnings: [],
        limitsReadBack: undefined,
        error: undefined,
      });
    }
  }
  // Native first: it is the baseline every other column is read against.
  return [...cols.filter((c) => isNative(c)), ...cols.filter((c) => !isNative(c))];
}

function findOverhead(results: RunResults, backend: string, workload: string, metric: string): Overhead | null {
  return results.overheads.find((o) => o.backend === backend && o.workload === workload && o.metric === metric) ?? null;
}

function findDifference(results: RunResults, backend: string, workload: string, metric: string): Difference | null {
  return results.differences.find((o) => o.backend === backend && o.workload === workload && o.metric === metric) ?? null;
}

export function buildCategories(results: RunResults, columns: ColumnView[]): CategoryView[] {
  const workloads: string[] = [];
  for (const c of results.cells) if (!workloads.includes(c.workload)) workloads.push(c.workload);
  workloads.sort((a, b) => categoryIndex(a) - categoryIndex(b));

  return workloads.map((workload) => {
    const cells = results.cells.filter((c) => c.workload === workload);
    // Metric declaration order: first seen across cells in column order.
    const decls: Pick<MetricResult, 'metric' | 'unit' | 'higherIsBetter'>[] = [];
    for (const col of columns) {
      for (const cell of cells.filter((c) => c.backend === col.label)) {
        for (const m of cell.metrics) {
          if (!decls.some((d) => d.metric === m.metric)) decls.push({ metric: m.metric, unit: m.unit, higherIsBetter: m.higherIsBetter });
        }
      }
    }
    const nativeCol = columns.find((c) => isNative(c));
    const metrics: MetricView[] = decls.map((d) => {
      const nativeCell = nativeCol ? cells.find((c) => c.backend === nativeCol.label) : undefined;
      const nativeMetric = nativeCell?.metrics.find((x) => x.metric === d.metric);
      const mode = compareMode(workload, nativeMetric?.summary ?? null, d.metric, d.unit);
      return {
        workload,
        metric: d.metric,
        unit: d.unit,
        higherIsBetter: d.higherIsBetter,
        mode,
        distribution: isDistributionMetric(workload, d.metric),
        cells: columns.map((col): MetricCellView => {
          const cell = cells.find((c) => c.backend === col.label);
          const m = cell?.metrics.find((x) => x.metric === d.metric);
          const overhead = isNative(col) ? null : findOverhead(results, col.label, workload, d.metric);
          const difference = isNative(col) ? null : findDifference(results, col.label, workload, d.metric);
          return {
            backend: col.label,
            state: cell ? cell.state : 'missing',
            stateReason: cell ? cellReason(cell) : undefined,
            values: m?.values ?? [],
            repetitions: m?.repetitions ?? [],
            rawLogs: m?.rawLogs ?? [],
            summary: m?.summary ?? null,
            overhead,
            difference,
            vs: isNative(col) ? null : vsNative(mode, d, overhead, difference),
            notes: m?.notes ?? [],
          };
        }),
      };
    });
    const problems: CellProblem[] = [];
    for (const c of cells) {
      if (c.state === 'complete') continue;
      problems.push({ backend: c.backend, workload, state: c.state, reason: cellReason(c) ?? '', rawLog: c.state === 'failed' ? c.rawLog : undefined });
    }
    const view: CategoryView = { id: workload, title: categoryTitle(workload), metrics, problems, chart: null, distributions: [], isolation: buildIsolation(workload, results.cells, columns) };
    view.chart = buildCategoryChart(view, columns);
    // The relative-mean bar of shares, steps and alone/with figures says little: the category's own charts replace it.
    if (view.isolation && view.isolation.charts.length > 0 && REPLACED_BY_ISOLATION.has(workload)) view.chart = null;
    // A distribution is drawn only for metrics that more than one backend reports (a backend's own stages are in the table).
    const shared = (m: MetricView): boolean => m.cells.filter((c) => c.values.length > 0).length >= Math.min(2, columnsWithData(metrics));
    view.distributions = metrics
      .filter((m) => m.distribution && shared(m))
      .map((m) => buildCdf(view, m, columns))
      .filter((c): c is CdfChartSpec => c !== null);
    return view;
  });
}

/** Categories whose generic bar chart gives way to their isolation charts (density keeps its absolute chart). */
const REPLACED_BY_ISOLATION: ReadonlySet<string> = new Set(['partition', 'memory-gradient', 'noisy-neighbor']);

/** Rows worth a line: a backend that has values, or whose cell did not complete (the reason is shown). */
export function shownCells(cells: MetricCellView[]): MetricCellView[] {
  return cells.filter((c) => c.values.length > 0 || c.summary !== null || (c.state !== 'complete' && c.state !== 'missing'));
}

/** How many columns have any value in a category (1 when only one backend ran). */
function columnsWithData(metrics: MetricView[]): number {
  const cols = new Set<string>();
  for (const m of metrics) for (const c of m.cells) if (c.summary) cols.add(c.backend);
  return Math.max(1, cols.size);
}

function meanOf(s: Summary): number {
  return s.mean;
}

/**
 * One grouped bar chart per category, over the metrics more than one backend
 * reports. Bars are MEANS and whiskers the 95% CI of the mean (the same
 * statistic as the ratio and difference vs native).
 * - ratio categories: each metric's mean ÷ the baseline mean (native, or the
 *   first column with data when native has none), so units share one axis;
 *   log axis when the range is wide; whiskers beyond the axis are clipped.
 * - absolute categories (footprint, start-up, density): the means in the
 *   metric's own unit (metrics sharing the first charted metric's unit).
 */
export function buildCategoryChart(cat: Pick<CategoryView, 'id' | 'title' | 'metrics'>, columns: ColumnView[]): BarChartSpec | null {
  const needed = Math.min(2, columnsWithData(cat.metrics));
  const shared = cat.metrics.filter((m) => m.cells.filter((c) => c.summary).length >= needed);
  if (ABSOLUTE_CATEGORIES.has(cat.id)) return buildAbsoluteChart(cat, shared, columns);
  const charted: { m: MetricView; base: number; baseLabel: string }[] = [];
  for (const m of shared) {
    if (m.mode === 'absolute') continue;
    const baseCell = m.cells.find((c) => c.summary && meanOf(c.summary) > 0);
    if (baseCell?.summary) charted.push({ m, base: meanOf(baseCell.summary), baseLabel: baseCell.backend });
  }
  if (charted.length === 0) return null;
  const baseLabels = [...new Set(charted.map((c) => c.baseLabel))];
  const baseName = baseLabels.length === 1 ? baseLabels[0] ?? 'baseline' : 'first backend with data';
  const series: BarSeries[] = columns.map((col, ci) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const { m, base } of charted) {
      const cell = m.cells[ci];
      const sum = cell?.summary;
      if (!sum) {
        pushBar(s, null);
        continue;
      }
      pushBar(s, meanOf(sum) / base, sum.ci95[0] / base, sum.ci95[1] / base, `mean ${fmtNum(sum.mean)} ${m.unit}, 95% CI of the mean [${fmtNum(sum.ci95[0])}, ${fmtNum(sum.ci95[1])}], median ${fmtNum(sum.median)}, n=${sum.n}`);
    }
    if (s.values.every((v) => v === null)) s.label = `${col.label} (no data)`;
    return s;
  });
  const points = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  const log = points.length > 0 && Math.max(...points, 1) / Math.min(...points, 1) > 20;
  const range = valueRange(series, log, 0);
  return {
    type: 'bar',
    id: `chart-${safeId(cat.id)}`,
    title: `${cat.title}: mean relative to ${baseName}`,
    subtitle: `bar = mean ÷ ${baseName} mean (1 = ${baseName}'s level); whisker = 95% CI of the mean${log ? '; log scale' : ''}${range.clipped ? '; ▸ whisker clipped at the axis' : ''}`,
    axisTitle: `× ${baseName}`,
    labels: charted.map(({ m }) => metricLabel(m)),
    series,
    log,
    horizontal: false,
    base: 0,
    ...(log ? { suggestedMin: undefined, suggestedMax: undefined, min: range.min, max: range.max } : linearBounds(range)),
    suffix: '×',
  };
}

function buildAbsoluteChart(cat: Pick<CategoryView, 'id' | 'title' | 'metrics'>, shared: MetricView[], columns: ColumnView[]): BarChartSpec | null {
  const first = shared.find((m) => m.cells.some((c) => c.summary));
  if (!first) return null;
  const charted = shared.filter((m) => m.unit === first.unit);
  const unit = displayUnit(first.unit, Math.max(...charted.flatMap((m) => m.cells.map((c) => (c.summary ? Math.abs(c.summary.mean) : 0)))));
  const series: BarSeries[] = columns.map((col, ci) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const m of charted) {
      const sum = m.cells[ci]?.summary;
      if (!sum) {
        pushBar(s, null);
        continue;
      }
      const vs = m.cells[ci]?.vs;
      pushBar(s, sum.mean * unit.factor, sum.ci95[0] * unit.factor, sum.ci95[1] * unit.factor, `mean ${fmtQuantity(sum.mean, m.unit)} [${fmtNum(sum.ci95[0] * unit.factor)}, ${fmtNum(sum.ci95[1] * unit.factor)}], n=${sum.n}${vs ? `; vs native ${vs.value} ${vs.ci}` : ''}`);
    }
    if (s.values.every((v) => v === null)) s.label = `${col.label} (no data)`;
    return s;
  });
  const range = valueRange(series, false, 0);
  return {
    type: 'bar',
    id: `chart-${safeId(cat.id)}`,
    title: `${cat.title}: mean per backend (${unit.unit})`,
    subtitle: `absolute cost per instance (a ratio to a ~0 native baseline means nothing); bar = mean; whisker = 95% CI of the mean${range.clipped ? '; ▸ whisker clipped at the axis' : ''}`,
    axisTitle: unit.unit,
    labels: charted.map((m) => metricLabel(m)),
    series,
    log: false,
    horizontal: false,
    base: 0,
    ...linearBounds(range),
    suffix: '',
  };
}

/** Linear axes take the range as suggestions (Chart.js rounds them to nice ticks); whiskers beyond are still clipped. */
function linearBounds(range: { min: number | undefined; max: number | undefined }): Pick<BarChartSpec, 'suggestedMin' | 'suggestedMax' | 'min' | 'max'> {
  return { suggestedMin: range.min, suggestedMax: range.max, min: undefined, max: undefined };
}

/**
 * A value-axis range driven by the bars (point estimates) and the base, not by
 * the whiskers: a 95% CI from 3 repetitions can span 10^9, and an axis that
 * shows it all squeezes the bars into a line. Whiskers may reach 4× beyond the
 * extreme bars (log) or 2× (linear); beyond that they are clipped with an arrow.
 */
export function valueRange(series: BarSeries[], log: boolean, base: number): { min: number | undefined; max: number | undefined; clipped: boolean } {
  const pts = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v) && (!log || v > 0));
  const whiskers = series.flatMap((s) => [...s.lo, ...s.hi]).filter((v): v is number => v !== null && !Number.isNaN(v));
  if (pts.length === 0) return { min: undefined, max: undefined, clipped: false };
  if (log) {
    const withBase = base > 0 ? [...pts, base] : pts;
    const lo = Math.min(...withBase);
    const hi = Math.max(...withBase);
    const wl = Math.min(lo, ...whiskers.map((w) => (w > 0 ? w : 0)).filter((w) => w > 0));
    const wh = Math.max(hi, ...whiskers.filter((w) => Number.isFinite(w)));
    const min = Math.max(wl, lo / 4) / 1.3;
    const max = Math.min(wh, hi * 4) * 1.3;
    const clipped = whiskers.some((w) => w <= 0 || w < min || w > max);
    return { min, max, clipped };
  }
  const hi = Math.max(0, base, ...pts);
  const lo = Math.min(0, base, ...pts);
  const span = hi - lo || 1;
  const finite = whiskers.filter((w) => Number.isFinite(w));
  const wh = Math.max(hi, ...finite);
  const wl = Math.min(lo, ...finite);
  const max = Math.min(wh, hi + span) + span * 0.04;
  const min = lo < 0 ? Math.max(wl, lo - span) - span * 0.04 : wl < 0 ? Math.max(wl, -0.25 * span) : 0;
  const clipped = whiskers.some((w) => w < min || w > max);
  return { min, max, clipped };
}

/** Empirical CDF of each backend's values of one metric. */
export function buildCdf(cat: Pick<CategoryView, 'id' | 'title'>, m: MetricView, columns: ColumnView[]): CdfChartSpec | null {
  const series: CdfSeries[] = [];
  m.cells.forEach((cell, i) => {
    const col = columns[i];
    if (!col || cell.values.length === 0) return;
    const sorted = [...cell.values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const n = sorted.length;
    series.push({ label: col.label, colour: col.colour, points: sorted.map((x, k) => ({ x, y: (k + 1) / n })) });
  });
  if (series.length === 0) return null;
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
  const log = xs.length > 0 && Math.max(...xs) / Math.min(...xs) > 8;
  return {
    type: 'cdf',
    id: `cdf-${safeId(cat.id)}-${safeId(m.metric)}`,
    title: `${cat.title}: distribution of ${m.metric}`,
    subtitle: `empirical CDF of every repetition (${m.higherIsBetter ? 'higher' : 'lower'} is better)${log ? '; log scale' : ''}`,
    axisTitle: `${m.metric} (${m.unit})`,
    series,
    log,
  };
}

/**
 * The headline rows as stored in results.headline (computed once by
 * headline.ts), joined with what the charts need: the overhead behind a ratio
 * figure and each backend's summary (its n).
 */
export function buildHeadline(stored: readonly StoredHeadlineRow[], categories: CategoryView[], compared: ColumnView[], columns: ColumnView[] = []): HeadlineRow[] {
  const nativeCol = columns.find((c) => isNative(c));
  // A stored row whose category has no cells left (an edited or failed results file) is not shown.
  return stored.filter((row) => categories.some((c) => c.id === row.category)).map((row) => {
    const cat = categories.find((c) => c.id === row.category);
    const mv = cat?.metrics.find((m) => m.metric === row.metric);
    const cellOf = (label: string): MetricCellView | undefined => mv?.cells.find((c) => c.backend === label);
    const { kind, entries, ...rest } = row;
    return {
      ...rest,
      kind,
      mode: kind,
      nativeSummary: (nativeCol ? cellOf(nativeCol.label)?.summary : cellOf('native')?.summary) ?? null,
      entries: compared.map((col): HeadlineEntry => {
        const e = entries.find((x) => x.backend === col.label);
        const cell = cellOf(col.label);
        const base: HeadlineFigure = e ?? { backend: col.label, verdict: null, value: '', ci: '', detail: '', point: null, ci95: null, state: 'missing' };
        return { ...base, overhead: kind === 'ratio' ? (cell?.overhead ?? null) : null, summary: cell?.summary ?? null };
      }),
    };
  });
}

/**
 * The summary chart: per ratio category × backend the cost factor vs native
 * (>1 = worse) with its 95% CI, horizontal bars starting at 1. Absolute
 * categories (footprint, start-up) have no meaningful factor: they are in the
 * headline table as differences. The axis follows the bars; whiskers beyond it
 * are clipped and drawn with an arrow.
 */
/** Append one bar (value, CI whisker ends, tooltip text) to a series, or a gap with `null`. */
function pushBar(s: BarSeries, value: number | null, lo: number | null = null, hi: number | null = null, text: string | null = null): void {
  s.values.push(value);
  s.lo.push(lo);
  s.hi.push(hi);
  s.text.push(text);
}

export function buildSummaryChart(headline: HeadlineRow[], compared: ColumnView[]): BarChartSpec | null {
  const rows = headline.filter((r) => r.mode === 'ratio');
  if (rows.length === 0 || compared.length === 0) return null;
  const series: BarSeries[] = compared.map((col) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const row of rows) {
      const o = row.entries.find((e) => e.backend === col.label)?.overhead ?? null;
      if (!o || !Number.isFinite(o.ratio) || o.ratio <= 0) {
        pushBar(s, null);
        continue;
      }
      const f = costFactor(o);
      pushBar(s, f.value, f.ci[0], f.ci[1], `${fmtOverheadValue(o)}, 95% CI ${fmtOverheadCi(o)}; ${fmtOverheadDetail(o)} (${verdictText(o)})`);
    }
    return s;
  });
  if (series.every((s) => s.values.every((v) => v === null))) return null;
  const pts = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  const log = pts.length > 0 && Math.max(...pts, 1) / Math.min(...pts, 1) > 5;
  const range = valueRange(series, log, 1);
  const skipped = headline.filter((r) => r.mode === 'absolute').map((r) => r.title);
  return {
    type: 'bar',
    id: 'chart-summary',
    title: 'Cost of isolation vs native (headline metric per category)',
    subtitle:
      `bar = cost factor (1 = native's level, 2 = takes twice the time or gives half the throughput); whisker = 95% CI${log ? '; log scale' : ''}` +
      `${range.clipped ? '; ▸ whisker clipped at the axis' : ''}${skipped.length ? `; ${skipped.join(', ')}: absolute costs, see the table` : ''}`,
    axisTitle: '× native cost (>1 = worse)',
    labels: rows.map((r) => [r.title, r.metric]),
    series,
    log,
    horizontal: true,
    base: 1,
    ...(log ? { suggestedMin: undefined, suggestedMax: undefined, min: range.min, max: range.max } : linearBounds(range)),
    suffix: '×',
  };
}

// ---------- warnings ----------

const WARNING_EXPLANATIONS: Record<string, (n: number) => string> = {
  NOISY: (n) => `${n} metric × backend figures with a coefficient of variation above 10%: too noisy for a fine-grained verdict; add repetitions`,
  OUTLIER: (n) => `${n} metric × backend figures with repetitions flagged as outliers (modified z-score > 3.5; kept, not dropped)`,
};

/** Longest common suffix of several strings, cut at a word boundary. */
function commonSuffix(xs: string[]): string {
  if (xs.length < 2) return '';
  let suf = xs[0] ?? '';
  for (const x of xs.slice(1)) {
    let i = 0;
    while (i < suf.length && i < x.length && suf[suf.length - 1 - i] === x[x.length - 1 - i]) i++;
    suf = suf.slice(suf.length - i);
  }
  const cut = suf.search(/[:;,] /);
  return cut >= 0 ? suf.slice(cut) : '';
}

/**
 * Groups warnings by code. A code with more than three warnings becomes one
 * line with its list collapsed; the backend and workload prefix repeated in
 * each message and the common tail are dropped from the items. Backend-level
 * warnings that repeat a run warning are dropped.
 */
export function groupWarnings(warnings: Warning[], columns: ColumnView[]): WarningGroup[] {
  const all: Warning[] = [...warnings];
  for (const c of columns) {
    for (const w of c.warnings) {
      if (!warnings.some((x) => x.message.trim() === w.trim())) all.push({ code: 'BACKEND', message: w, backend: c.label });
    }
  }
  const codes: string[] = [];
  for (const w of all) if (!codes.includes(w.code)) codes.push(w.code);
  return codes.map((code) => {
    const ws = all.filter((w) => w.code === code);
    const suffix = ws.length > 3 ? commonSuffix(ws.map((w) => w.message)) : '';
    const items = ws.map((w): WarningItem => {
      let text = w.message;
      const prefix = [w.backend, w.workload].filter(Boolean).join(' ');
      if (prefix && text.startsWith(prefix + ' ')) text = text.slice(prefix.length + 1);
      if (suffix && text.endsWith(suffix)) text = text.slice(0, text.length - suffix.length);
      return { backend: w.backend, workload: w.workload, text };
    });
    const collapsed = ws.length > 3;
    const explain = WARNING_EXPLANATIONS[code];
    const summary = collapsed ? (explain ? explain(ws.length) : `${ws.length} warnings${suffix ? ` (${suffix.replace(/^[:;,] /, '')})` : ''}`) : '';
    return { code, summary, collapsed, items };
  });
}

// ---------- capacity ----------

/** The scenario's instance spec (vcpus, memoryMiB) as the capacity demand. */
export function instanceFromScenario(scenario: unknown): InstanceDemand | undefined {
  if (!scenario || typeof scenario !== 'object') return undefined;
  const inst = (scenario as { instance?: unknown }).instance;
  if (!inst || typeof inst !== 'object') return undefined;
  const { vcpus, memoryMiB } = inst as { vcpus?: unknown; memoryMiB?: unknown };
  if (typeof vcpus !== 'number' || !(vcpus > 0) || typeof memoryMiB !== 'number' || !(memoryMiB > 0)) return undefined;
  return { vcpus, memoryMiB };
}

function rerunCommand(runId: string, host: HostSpec | undefined, instance: InstanceDemand | undefined): string {
  const h = host && host.source !== 'command line' && host.name ? host.name : host ? `cores=${host.cores},memoryGiB=${host.memoryGiB}` : 'cores=64,memoryGiB=256';
  const i = instance ? `vcpus=${instance.vcpus},memoryMiB=${instance.memoryMiB}` : 'vcpus=2,memoryMiB=2048';
  return `isobench capacity --run ${runId} --host ${h} --instance ${i} [--target N] [--json]`;
}

export function buildCapacity(results: RunResults, host: HostSpec | undefined): CapacityView {
  const instance = instanceFromScenario(results.scenario);
  const base = {
    host,
    instance,
    instanceOrigin: instance ? `the scenario's instance spec (${instance.vcpus} vCPU, ${instance.memoryMiB} MiB)` : undefined,
    plan: undefined,
    chart: null,
    runtimeClassYaml: '',
    rerun: rerunCommand(results.runId, host, instance),
    emulated: [] as string[],
  };
  if (!host) return { ...base, status: 'unavailable', reason: 'no host profile was given to the report' };
  if (!instance) return { ...base, status: 'unavailable', reason: "the run's scenario has no instance spec (vcpus, memoryMiB)" };
  let plan: CapacityPlan;
  try {
    plan = planCapacity(results, { host, instance });
  } catch (e) {
    return { ...base, status: 'unavailable', reason: `the capacity model refused the inputs: ${e instanceof Error ? e.message : String(e)}` };
  }
  return {
    ...base,
    status: 'ok',
    reason: undefined,
    plan,
    chart: capacityChart(plan),
    runtimeClassYaml: plan.runtimeClasses.length ? renderRuntimeClassYaml(plan) : '',
    emulated: plan.backends.filter((b) => b.emulated).map((b) => b.label),
  };
}

/** Instances per host by backend, one stacked series per binding resource (capacityChartData), best–worst as whiskers. */
export function capacityChart(plan: CapacityPlan): BarChartSpec | null {
  const data = capacityChartData(plan);
  if (data.labels.length === 0 || data.datasets.length === 0) return null;
  const series: BarSeries[] = data.datasets.map((ds) => {
    const values = ds.data.map((v, i) => (v > 0 || plan.backends[i]?.expected.binding[0] === ds.label ? v : null));
    return {
      label: `binding: ${ds.label}`,
      colour: ds.backgroundColor,
      values,
      lo: values.map((v, i) => (v === null ? null : (data.ranges[i]?.worst ?? null))),
      hi: values.map((v, i) => (v === null ? null : (data.ranges[i]?.best ?? null))),
      text: values.map((v, i) => {
        const r = data.ranges[i];
        return v === null || !r ? null : `${r.expected} instances per host (worst ${r.worst}, best ${r.best}); binding: ${plan.backends[i]?.expected.binding.join(' + ') ?? ds.label}`;
      }),
    };
  });
  const range = valueRange(series, false, 0);
  return {
    type: 'bar',
    id: 'chart-capacity',
    title: data.title,
    subtitle: 'bar = expected instances per host, coloured by the resource that binds; whisker = worst … best from the 95% CIs',
    axisTitle: data.yLabel,
    labels: data.labels,
    series,
    log: false,
    horizontal: false,
    base: 0,
    ...linearBounds({ min: 0, max: range.max }),
    stacked: true,
    suffix: '',
  };
}

export function buildModel(input: RunResults, opts: ModelOptions = {}): ReportModel {
  // Results written before schemaVersion 2 (or built in memory) get their comparisons and headline from their cells.
  const results = withComparisons(input);
  const columns = buildColumns(results);
  const compared = columns.filter((c) => !isNative(c));
  const categories = buildCategories(results, columns);
  const headline = buildHeadline(results.headline, categories, compared, columns);
  const scenario = results.scenario as { name?: unknown } | null;
  const ns = categories.flatMap((c) => c.metrics.flatMap((m) => m.cells.map((x) => x.summary?.n ?? 0))).filter((n) => n > 0);
  return {
    runId: results.runId,
    status: results.status,
    statusReason: results.statusReason,
    startedAt: results.startedAt,
    endedAt: results.endedAt,
    scenarioFile: results.scenarioFile,
    scenarioName: scenario && typeof scenario === 'object' && typeof scenario.name === 'string' ? scenario.name : undefined,
    toolVersion: results.tool.version,
    order: results.order,
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
    host: flattenFacts(results.host),
    toolVersions: Object.entries(results.toolVersions).map(([k, v]) => [k, v ?? 'not found']),
    rootfsHash: results.rootfsHash,
    cleanupFailed: results.cleanupFailed,
    vm: vmSectionView(results.backends),
  };
}

/** The one-paragraph accelerator caveat (empty when no column is emulated). */
/** "reason." with a full stop, so a following sentence reads right. */
export function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The note under the headline when repetitions are few: wide CIs mean "add repetitions". */
export function repetitionNote(model: Pick<ReportModel, 'minRepetitions'>): string {
  const n = model.minRepetitions;
  if (n === null || n >= 10) return '';
  return (
    `Some figures rest on only ${n} repetition${n === 1 ? '' : 's'}. With so few, 95% confidence intervals are wide (a lower bound can even fall below zero); ` +
    `they are shown as computed, not clamped. A wide interval means "add repetitions" (scenario repetitions: 10 or more), not that the cost itself is uncertain.`
  );
}

/** The methods note, one sentence per line (shared by the HTML and Markdown reports). */
export function methodsNote(model: Pick<ReportModel, 'order' | 'minRepetitions'>): string[] {
  return [
    'Every figure is the MEAN of the repetitions; its 95% confidence interval of the MEAN is Student t with n−1 degrees of freedom (with 3–10 repetitions a bootstrap understates the spread; t does not). The median is shown beside it for reference only.',
    'Ratio vs native (CPU, memory, disk, network): backend mean ÷ native mean; its 95% CI comes from the delta method on log(ratio) with Welch–Satterthwaite degrees of freedom. Throughput metrics read "N× slower than native" when the backend delivers 1/N of native; time metrics read "N× native (slower)". Percentages: + = worse than native.',
    'Difference vs native (footprint, start-up, density, figures in pp, errors and degradations in %, and any metric whose native mean is ~0): backend mean − native mean in the metric\'s unit, with a Welch 95% CI. An idle native process has ~no footprint, so a ratio against it would be meaningless.',
    'Verdicts are judged against a practical threshold per category (CPU and memory 3%, disk and network 10%, start-up 50 ms, footprint and density 8 MiB, pp figures 5 pp; a scenario may override them under thresholds:). "No practical difference": the whole CI lies inside ±threshold (the only verdict that means "same as native"). "Overhead"/"better": the CI excludes 0 and the estimate is beyond the threshold. "Small difference": the CI excludes 0 but the estimate is inside the threshold. "Inconclusive": the CI straddles the threshold; the row says how many repetitions per side would likely decide it (projected from the observed variances). "Insufficient data": fewer than 2 repetitions on a side.',
    'Smallest detectable effect: the difference this run would find with 80% power at 5% two-sided, (t0.975 + t0.80) × standard error.',
    "Outliers: Dixon's Q test at 95% for 3–10 repetitions, modified z-score (MAD) > 3.5 above 10; flagged and kept. Below 3 repetitions no outlier can be flagged, and the table says so. Noisy: coefficient of variation > 10%.",
    `Repetition order: ${model.order}.`,
    ...(model.minRepetitions !== null && model.minRepetitions < 10 ? ['Wide intervals from few repetitions are shown as computed, not clamped: they mean "add repetitions".'] : []),
    'Charts: bars are means with 95% CI whiskers; a whisker beyond the axis is clipped and drawn as an arrow.',
  ];
}

export function acceleratorCaveat(model: Pick<ReportModel, 'emulated'>): string {
  if (model.emulated.length === 0) return '';
  const labels = model.emulated.map((c) => c.label).join(', ');
  return (
    `${labels} ran under TCG software emulation, not hardware virtualization (KVM). ` +
    `The VM figures describe an emulated CPU and are far worse than a KVM guest on a host with VT-x/AMD-V; ` +
    `do not use them to size hardware-virtualized hosts.`
  );
}

// ---------- Chart.js configurations (plain JSON) ----------

/** Chart.js configuration for a spec; functions (tooltips, tick formatters) are attached by the renderer. */
export function chartConfig(spec: ChartSpec, opts: { forPng?: boolean } = {}): Record<string, unknown> {
  // node-canvas does not parse quoted font stacks well: one installed family for PNGs.
  const font = { family: opts.forPng ? 'DejaVu Sans' : 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif' };
  const titlePlugins = {
    title: { display: true, text: spec.title, font: { ...font, size: opts.forPng ? 18 : 15, weight: 'bold' }, color: '#0f172a', align: 'start' },
    subtitle: { display: true, text: spec.subtitle, font: { ...font, size: opts.forPng ? 13 : 12 }, color: '#475569', align: 'start', padding: { bottom: 10 } },
    legend: { position: 'bottom', labels: { font: { ...font, size: 12 }, boxWidth: 14 } },
  };
  if (spec.type === 'bar') {
    const valueAxis = spec.horizontal ? 'x' : 'y';
    const catAxis = spec.horizontal ? 'y' : 'x';
    return {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: spec.series.map((s) => ({
          label: s.label,
          data: s.values,
          backgroundColor: s.colour + 'cc',
          borderColor: s.colour,
          borderWidth: 1,
          base: spec.base === 1 ? 1 : undefined,
          errorBars: s.values.map((_, i) => ({ lo: s.lo[i] ?? null, hi: s.hi[i] ?? null })),
          isobenchText: s.text,
          ...(s.labelsAbove ? { isobenchLabels: s.labelsAbove } : {}),
        })),
      },
      options: {
        indexAxis: catAxis === 'y' ? 'y' : 'x',
        isobenchAxes: { [valueAxis]: { log: spec.log, suffix: spec.suffix ?? '×' } },
        animation: false,
        responsive: !opts.forPng,
        maintainAspectRatio: false,
        plugins: titlePlugins,
        scales: {
          [valueAxis]: {
            type: spec.log ? 'logarithmic' : 'linear',
            beginAtZero: !spec.log && spec.base !== 1,
            suggestedMin: spec.suggestedMin,
            suggestedMax: spec.suggestedMax,
            min: spec.min,
            max: spec.max,
            stacked: spec.stacked === true,
            title: { display: true, text: spec.axisTitle, font: { ...font, size: 12 } },
            grid: { color: '#e2e8f0' },
          },
          [catAxis]: { stacked: spec.stacked === true, grid: { display: false }, ticks: { font: { ...font, size: 11 } } },
        },
      },
    };
  }
  if (spec.type === 'line') return lineChartConfig(spec, font, titlePlugins, !opts.forPng);
  return {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.points,
        borderColor: s.colour,
        backgroundColor: s.colour,
        stepped: 'before',
        pointRadius: 3,
        borderWidth: 2,
        fill: false,
        clip: 6,
      })),
    },
    options: {
      animation: false,
      responsive: !opts.forPng,
      maintainAspectRatio: false,
      parsing: true,
      isobenchAxes: { x: { log: spec.log, suffix: '' } },
      plugins: titlePlugins,
      scales: {
        x: { type: spec.log ? 'logarithmic' : 'linear', title: { display: true, text: spec.axisTitle, font: { ...font, size: 12 } }, grid: { color: '#e2e8f0' } },
        y: { min: 0, max: 1, title: { display: true, text: 'fraction of repetitions ≤ x', font: { ...font, size: 12 } }, grid: { color: '#e2e8f0' } },
      },
    },
  };
}

const CROSS_RED = '#dc2626';

function lineChartConfig(spec: LineChartSpec, font: { family: string }, titlePlugins: Record<string, unknown>, responsive: boolean): Record<string, unknown> {
  return {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => {
        const n = s.points.length;
        const cross = (i: number): boolean => s.crosses?.[i] === true;
        const hollow = (i: number): boolean => s.hollow?.[i] === true;
        const idx = Array.from({ length: n }, (_, i) => i);
        return {
          label: s.label,
          data: s.points,
          borderColor: s.colour,
          backgroundColor: s.colour,
          borderWidth: s.noPoints ? 1.5 : 2,
          borderDash: s.dashed ? [6, 4] : undefined,
          fill: false,
          tension: 0,
          clip: 14,
          pointStyle: idx.map((i) => (cross(i) ? 'crossRot' : 'circle')),
          pointRadius: idx.map((i) => (s.noPoints ? 0 : cross(i) ? 9 : 3)),
          pointHoverRadius: idx.map((i) => (s.noPoints ? 0 : cross(i) ? 10 : 5)),
          pointBorderWidth: idx.map((i) => (cross(i) ? 3 : 1.5)),
          pointBorderColor: idx.map((i) => (cross(i) ? CROSS_RED : s.colour)),
          pointBackgroundColor: idx.map((i) => (cross(i) ? CROSS_RED : hollow(i) ? '#ffffff' : s.colour)),
          isobenchText: s.text,
          ...(s.marks ? { isobenchLabels: s.marks, isobenchLabelColour: CROSS_RED } : {}),
          ...(s.dashLast ? { isobenchDashLast: true } : {}),
        };
      }),
    },
    options: {
      animation: false,
      responsive,
      maintainAspectRatio: false,
      parsing: true,
      isobenchAxes: { x: { log: false, suffix: spec.xSuffix ?? '' }, y: { log: false, suffix: spec.ySuffix } },
      plugins: { ...titlePlugins, legend: { position: 'bottom', labels: { font: { ...font, size: 12 }, usePointStyle: true, pointStyle: 'line', pointStyleWidth: 26 } } },
      scales: {
        x: {
          type: 'linear',
          min: spec.xMin,
          max: spec.xMax,
          ...(spec.xStep ? { ticks: { stepSize: spec.xStep } } : {}),
          title: { display: true, text: spec.xTitle, font: { ...font, size: 12 } },
          grid: { color: '#e2e8f0' },
        },
        y: { type: 'linear', min: spec.yMin, max: spec.yMax, beginAtZero: true, title: { display: true, text: spec.yTitle, font: { ...font, size: 12 } }, grid: { color: '#e2e8f0' } },
      },
    },
  };
}

/**
 * The chart runtime, as plain JavaScript source evaluated both in the browser
 * (inlined in the HTML) and in Node (png.ts), so both draw identical charts.
 * It provides:
 *  - errorBars: a Chart.js plugin reading `errorBars` ({lo, hi} per point)
 *    from each bar dataset and drawing a whisker with caps (either axis);
 *  - prepare(cfg): attaches what JSON cannot carry: tick formatters
 *    (1-2-5 ticks on log axes, "×" suffix on ratio axes) and tooltips.
 */
export const CHART_RUNTIME_JS = `(function () {
  var errorBars = {
    id: 'isobenchErrorBars',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var horizontal = chart.options.indexAxis === 'y';
      chart.data.datasets.forEach(function (ds, di) {
        var bars = ds.errorBars;
        if (!bars || !chart.isDatasetVisible(di)) return;
        var meta = chart.getDatasetMeta(di);
        var scale = horizontal ? chart.scales[meta.xAxisID] : chart.scales[meta.yAxisID];
        ctx.save();
        ctx.strokeStyle = '#0f172a';
        ctx.lineWidth = 1.5;
        meta.data.forEach(function (el, i) {
          var b = bars[i];
          if (!b || b.lo === null || b.hi === null || isNaN(b.lo) || isNaN(b.hi)) return;
          if (chart.data.datasets[di].data[i] === null) return;
          // Clip whisker ends to the axis (an end <= 0 on a log axis is below it): drawn as an arrow, not a cap.
          var lo = b.lo, hi = b.hi, loClip = false, hiClip = false;
          var smin = scale.min, smax = scale.max;
          if (lo < smin || (scale.type === 'logarithmic' && lo <= 0)) { lo = smin; loClip = true; }
          if (hi > smax) { hi = smax; hiClip = true; }
          if (hi < smin || lo > smax) return;
          var p1 = scale.getPixelForValue(lo);
          var p2 = scale.getPixelForValue(hi);
          var thick = horizontal ? (el.height || 10) : (el.width || 10);
          var cap = Math.max(3, Math.min(8, thick / 4));
          var c = horizontal ? el.y : el.x;
          function end(p, clip, dir) {
            // dir: +1 when the whisker continues towards larger pixels.
            if (!clip) {
              if (horizontal) { ctx.moveTo(p, c - cap); ctx.lineTo(p, c + cap); }
              else { ctx.moveTo(c - cap, p); ctx.lineTo(c + cap, p); }
              return;
            }
            var a = cap + 1;
            if (horizontal) { ctx.moveTo(p - dir * a, c - a); ctx.lineTo(p, c); ctx.lineTo(p - dir * a, c + a); }
            else { ctx.moveTo(c - a, p - dir * a); ctx.lineTo(c, p); ctx.lineTo(c + a, p - dir * a); }
          }
          ctx.beginPath();
          if (horizontal) { ctx.moveTo(p1, c); ctx.lineTo(p2, c); }
          else { ctx.moveTo(c, p1); ctx.lineTo(c, p2); }
          end(p1, loClip, p1 < p2 ? -1 : 1);
          end(p2, hiClip, p2 < p1 ? -1 : 1);
          ctx.stroke();
        });
        ctx.restore();
      });
    }
  };
  // Text next to points and above bars (dataset.isobenchLabels); labels that would collide move up.
  var labels = {
    id: 'isobenchLabels',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var boxes = [];
      var area = chart.chartArea;
      chart.data.datasets.forEach(function (ds, di) {
        var texts = ds.isobenchLabels;
        if (!texts || !chart.isDatasetVisible(di)) return;
        var meta = chart.getDatasetMeta(di);
        var bar = meta.type === 'bar';
        ctx.save();
        ctx.font = 'bold 12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
        ctx.fillStyle = ds.isobenchLabelColour || '#0f172a';
        ctx.textBaseline = 'bottom';
        meta.data.forEach(function (el, i) {
          var t = texts[i];
          if (!t || el.skip) return;
          var w = ctx.measureText(t).width;
          var x = el.x;
          var y = bar ? el.y - 3 : el.y - 12;
          var left = x - w / 2;
          if (!bar) {
            left = x + w / 2 + 8 > area.right ? x - w - 8 : x - w / 2;
          }
          if (left < area.left) left = area.left + 2;
          var tries = 0;
          while (tries < 12 && boxes.some(function (b) { return left < b.r && left + w > b.l && y - 14 < b.b && y > b.t; })) { y -= 15; tries++; }
          if (y - 14 < area.top) y = Math.max(y, area.top + 14);
          boxes.push({ l: left, r: left + w, t: y - 14, b: y });
          ctx.textAlign = 'left';
          ctx.fillText(t, left, y);
        });
        ctx.restore();
      });
    }
  };
  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 10) return String(Math.round(v * 10) / 10);
    if (a >= 1) return String(Math.round(v * 100) / 100);
    return String(Number(v.toPrecision(2)));
  }
  // Log-axis labels: 1-2-5 per decade up to 3 decades, 1-3 up to 5, powers of ten beyond (labels never collide).
  function isMajor(v, scale) {
    if (!(v > 0)) return false;
    var lead = Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)) * 1000) / 1000;
    var decades = scale && scale.max > 0 && scale.min > 0 ? Math.log10(scale.max / scale.min) : 0;
    if (decades > 5) return lead === 1;
    if (decades > 3) return lead === 1 || lead === 3;
    return lead === 1 || lead === 2 || lead === 5;
  }
  function tickFormatter(log, suffix) {
    return function (value) {
      var v = Number(value);
      if (log && !isMajor(v, this)) return '';
      return fmt(v) + suffix;
    };
  }
  function prepare(cfg) {
    cfg.plugins = (cfg.plugins || []).concat([errorBars, labels]);
    (cfg.data && cfg.data.datasets || []).forEach(function (ds) {
      if (!ds.isobenchDashLast) return;
      var last = ds.data.length - 1;
      ds.segment = { borderDash: function (c) { return c.p1DataIndex === last ? [3, 4] : undefined; } };
    });
    var axes = cfg.options.isobenchAxes || {};
    Object.keys(axes).forEach(function (id) {
      var a = axes[id];
      var sc = cfg.options.scales[id];
      sc.ticks = sc.ticks || {};
      sc.ticks.callback = tickFormatter(a.log, a.suffix || '');
      if (a.log) {
        sc.ticks.autoSkip = false;
        sc.ticks.maxRotation = 0;
        sc.grid = sc.grid || {};
        sc.grid.color = function (c) { return c.tick && isMajor(c.tick.value, c.scale) ? (c.tick.value === 1 && a.suffix === '×' ? '#94a3b8' : '#e2e8f0') : 'rgba(0,0,0,0)'; };
      }
    });
    cfg.options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var ds = item.dataset;
          if (ds.isobenchText && ds.isobenchText[item.dataIndex]) return ds.label + ': ' + ds.isobenchText[item.dataIndex];
          if (item.raw && typeof item.raw === 'object' && 'x' in item.raw) return ds.label + ': ' + fmt(item.raw.x) + ' (' + Math.round(item.raw.y * 100) + '% of repetitions at or below)';
          return ds.label + ': ' + item.formattedValue;
        }
      }
    };
    return cfg;
  }
  return { errorBars: errorBars, labels: labels, prepare: prepare };
})()`;

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
