/**
 * The report view model: pure functions that turn a RunResults into what the
 * HTML, PNG and Markdown renderers draw. No I/O, no Chart.js import: the chart
 * configurations built here are plain JSON so the browser (HTML) and
 * chartjs-node-canvas (PNG) draw the same data.
 *
 * Categories: a workload's metrics form its category. Known categories come
 * first in a fixed order; any other workload found in the cells is appended,
 * so the report renders whatever cells exist.
 */
import type { BackendResult, Cell, MetricResult, Overhead, RunResults, Summary, Warning } from '../results/types.js';

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
  notes: string[];
}

export interface MetricView {
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
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
}

export interface HeadlineEntry {
  backend: string;
  overhead: Overhead | null;
  /** State of the backend's cell for this metric (explains a missing overhead). */
  state: MetricCellView['state'];
  stateReason: string | undefined;
}

export interface HeadlineRow {
  category: string;
  title: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** One entry per non-native column. */
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
  host: [string, string][];
  toolVersions: [string, string][];
  rootfsHash: string | null;
  cleanupFailed: RunResults['cleanupFailed'];
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

export type ChartSpec = BarChartSpec | CdfChartSpec;

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

/** Costs at or above this factor read better as "7.1× native" than as a percentage. */
export const FACTOR_THRESHOLD = 3;

/**
 * Large costs are shown as a factor. Decided on the cost factor (from the
 * ratio), not on overheadPct, whose scale depends on the metric direction
 * (a throughput cost of 1 - ratio never exceeds 100%).
 */
export function showAsFactor(o: Overhead): boolean {
  const f = costFactor(o).value;
  return Number.isFinite(f) && f >= FACTOR_THRESHOLD && Number.isFinite(o.ratioCi95[0]) && Number.isFinite(o.ratioCi95[1]);
}

/** The point estimate of an overhead: "+12.3%", or "7.12× native" when large. */
export function fmtOverheadValue(o: Overhead): string {
  return showAsFactor(o) ? `${fmtNum(costFactor(o).value)}× native` : fmtPct(o.overheadPct);
}

/** The CI of an overhead, in the same form as fmtOverheadValue. */
export function fmtOverheadCi(o: Overhead): string {
  if (showAsFactor(o)) {
    const f = costFactor(o);
    return `[${fmtNum(f.ci[0])}×, ${fmtNum(f.ci[1])}×]`;
  }
  return fmtPctCi(o.overheadPctCi95);
}

/** "+12.3% [8.1%, 16.0%]" (or "7.12× native [6.9×, 7.3×]") for an overhead. */
export function fmtOverhead(o: Overhead): string {
  return `${fmtOverheadValue(o)} ${fmtOverheadCi(o)}`;
}

export function verdictText(o: Overhead | null): string {
  if (!o) return 'no data';
  switch (o.verdict) {
    case 'overhead':
      return 'overhead';
    case 'better':
      return 'better than native';
    case 'within-noise':
      return 'within noise';
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
    const metrics: MetricView[] = decls.map((d) => ({
      workload,
      metric: d.metric,
      unit: d.unit,
      higherIsBetter: d.higherIsBetter,
      distribution: isDistributionMetric(workload, d.metric),
      cells: columns.map((col): MetricCellView => {
        const cell = cells.find((c) => c.backend === col.label);
        const m = cell?.metrics.find((x) => x.metric === d.metric);
        return {
          backend: col.label,
          state: cell ? cell.state : 'missing',
          stateReason: cell ? cellReason(cell) : undefined,
          values: m?.values ?? [],
          repetitions: m?.repetitions ?? [],
          rawLogs: m?.rawLogs ?? [],
          summary: m?.summary ?? null,
          overhead: isNative(col) ? null : findOverhead(results, col.label, workload, d.metric),
          notes: m?.notes ?? [],
        };
      }),
    }));
    const problems: CellProblem[] = [];
    for (const c of cells) {
      if (c.state === 'complete') continue;
      problems.push({ backend: c.backend, workload, state: c.state, reason: cellReason(c) ?? '', rawLog: c.state === 'failed' ? c.rawLog : undefined });
    }
    const view: CategoryView = { id: workload, title: categoryTitle(workload), metrics, problems, chart: null, distributions: [] };
    view.chart = buildCategoryChart(view, columns);
    view.distributions = metrics.filter((m) => m.distribution).map((m) => buildCdf(view, m, columns)).filter((c): c is CdfChartSpec => c !== null);
    return view;
  });
}

/**
 * One grouped bar chart per category: each metric's median divided by the
 * baseline median (native, or the first column with data when native has
 * none), so metrics of different units share one axis. Whiskers are the 95%
 * CI of each median on the same scale. Log axis when the range is wide.
 */
export function buildCategoryChart(cat: Pick<CategoryView, 'id' | 'title' | 'metrics'>, columns: ColumnView[]): BarChartSpec | null {
  const charted: { m: MetricView; base: number; baseLabel: string }[] = [];
  for (const m of cat.metrics) {
    const baseCell = m.cells.find((c) => c.summary && c.summary.median > 0);
    if (baseCell?.summary) charted.push({ m, base: baseCell.summary.median, baseLabel: baseCell.backend });
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
        s.values.push(null);
        s.lo.push(null);
        s.hi.push(null);
        s.text.push(null);
        continue;
      }
      s.values.push(sum.median / base);
      s.lo.push(sum.ci95[0] / base);
      s.hi.push(sum.ci95[1] / base);
      s.text.push(`${fmtNum(sum.median)} ${m.unit} [${fmtNum(sum.ci95[0])}, ${fmtNum(sum.ci95[1])}], n=${sum.n}`);
    }
    if (s.values.every((v) => v === null)) s.label = `${col.label} (no data)`;
    return s;
  });
  const all = series.flatMap((s) => [...s.values, ...s.lo, ...s.hi]).filter((v): v is number => v !== null && v > 0);
  const max = Math.max(...all);
  const min = Math.min(...all);
  const log = all.length > 0 && max / min > 20;
  return {
    type: 'bar',
    id: `chart-${safeId(cat.id)}`,
    title: `${cat.title}: median relative to ${baseName}`,
    subtitle: `bar = median ÷ ${baseName} median (1.0 = ${baseName}); whisker = 95% CI from the run summary${log ? '; log scale' : ''}`,
    axisTitle: `× ${baseName}`,
    labels: charted.map(({ m }) => metricLabel(m)),
    series,
    log,
    horizontal: false,
    base: 0,
    ...axisHints(series, log, 0),
  };
}

/** Value-axis hints so whiskers are never clipped and the base stays visible. */
function axisHints(series: BarSeries[], log: boolean, base: number): { suggestedMin: number | undefined; suggestedMax: number | undefined } {
  const all = series.flatMap((s) => [...s.values, ...s.lo, ...s.hi]).filter((v): v is number => v !== null && Number.isFinite(v) && (!log || v > 0));
  if (all.length === 0) return { suggestedMin: undefined, suggestedMax: undefined };
  const min = Math.min(...all, base > 0 ? base : Number.POSITIVE_INFINITY);
  const max = Math.max(...all, base);
  if (log) return { suggestedMin: min / 1.5, suggestedMax: max * 1.5 };
  return { suggestedMin: base === 0 ? 0 : min - (max - min) * 0.05, suggestedMax: max + (max - min) * 0.05 };
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
 * Headline per category: the category's first metric (workloads declare
 * their primary metric first) that has an overhead for some backend.
 */
export function buildHeadline(categories: CategoryView[], compared: ColumnView[]): HeadlineRow[] {
  const rows: HeadlineRow[] = [];
  for (const cat of categories) {
    const m = cat.metrics.find((mv) => mv.cells.some((c) => c.overhead !== null)) ?? null;
    if (!m) continue;
    rows.push({
      category: cat.id,
      title: cat.title,
      metric: m.metric,
      unit: m.unit,
      higherIsBetter: m.higherIsBetter,
      entries: compared.map((col) => {
        const cell = m.cells.find((c) => c.backend === col.label);
        return { backend: col.label, overhead: cell?.overhead ?? null, state: cell?.state ?? 'missing', stateReason: cell?.stateReason };
      }),
    });
  }
  return rows;
}

/**
 * The summary chart: per category × backend the cost factor vs native
 * (>1 = worse) with its 95% CI, horizontal bars starting at 1.
 */
export function buildSummaryChart(headline: HeadlineRow[], compared: ColumnView[]): BarChartSpec | null {
  if (headline.length === 0 || compared.length === 0) return null;
  const series: BarSeries[] = compared.map((col) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const row of headline) {
      const o = row.entries.find((e) => e.backend === col.label)?.overhead ?? null;
      if (!o || !Number.isFinite(o.ratio) || o.ratio <= 0) {
        s.values.push(null);
        s.lo.push(null);
        s.hi.push(null);
        s.text.push(null);
        continue;
      }
      const f = costFactor(o);
      s.values.push(f.value);
      s.lo.push(f.ci[0]);
      s.hi.push(f.ci[1]);
      s.text.push(`${fmtNum(f.value)}× cost, overhead ${fmtOverhead(o)} (${verdictText(o)})`);
    }
    return s;
  });
  const all = series.flatMap((s) => [...s.values, ...s.lo, ...s.hi]).filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  const log = all.length > 0 && Math.max(...all) / Math.min(...all) > 5;
  return {
    type: 'bar',
    id: 'chart-summary',
    title: 'Cost of isolation vs native (headline metric per category)',
    subtitle: `bar = cost factor (1 = same as native, >1 = worse); whisker = 95% CI${log ? '; log scale' : ''}`,
    axisTitle: '× native cost (>1 = worse)',
    labels: headline.map((r) => [r.title, r.metric]),
    series,
    log,
    horizontal: true,
    base: 1,
    ...axisHints(series, log, 1),
  };
}

export function buildModel(results: RunResults): ReportModel {
  const columns = buildColumns(results);
  const compared = columns.filter((c) => !isNative(c));
  const categories = buildCategories(results, columns);
  const headline = buildHeadline(categories, compared);
  const scenario = results.scenario as { name?: unknown } | null;
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
    host: flattenFacts(results.host),
    toolVersions: Object.entries(results.toolVersions).map(([k, v]) => [k, v ?? 'not found']),
    rootfsHash: results.rootfsHash,
    cleanupFailed: results.cleanupFailed,
  };
}

/** The one-paragraph accelerator caveat (empty when no column is emulated). */
/** "reason." with a full stop, so a following sentence reads right. */
export function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
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
        })),
      },
      options: {
        indexAxis: catAxis === 'y' ? 'y' : 'x',
        isobenchAxes: { [valueAxis]: { log: spec.log, suffix: '×' } },
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
            title: { display: true, text: spec.axisTitle, font: { ...font, size: 12 } },
            grid: { color: '#e2e8f0' },
          },
          [catAxis]: { grid: { display: false }, ticks: { font: { ...font, size: 11 } } },
        },
      },
    };
  }
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
          if (!b || b.lo === null || b.hi === null || !isFinite(b.lo) || !isFinite(b.hi)) return;
          if (scale.type === 'logarithmic' && (b.lo <= 0 || b.hi <= 0)) return;
          var p1 = scale.getPixelForValue(b.lo);
          var p2 = scale.getPixelForValue(b.hi);
          var thick = horizontal ? (el.height || 10) : (el.width || 10);
          var cap = Math.max(3, Math.min(8, thick / 4));
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(p1, el.y); ctx.lineTo(p2, el.y);
            ctx.moveTo(p1, el.y - cap); ctx.lineTo(p1, el.y + cap);
            ctx.moveTo(p2, el.y - cap); ctx.lineTo(p2, el.y + cap);
          } else {
            ctx.moveTo(el.x, p1); ctx.lineTo(el.x, p2);
            ctx.moveTo(el.x - cap, p1); ctx.lineTo(el.x + cap, p1);
            ctx.moveTo(el.x - cap, p2); ctx.lineTo(el.x + cap, p2);
          }
          ctx.stroke();
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
  function isMajor(v) {
    if (!(v > 0)) return false;
    var lead = Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)) * 1000) / 1000;
    return lead === 1 || lead === 2 || lead === 5;
  }
  function tickFormatter(log, suffix) {
    return function (value) {
      var v = Number(value);
      if (log && !isMajor(v)) return '';
      return fmt(v) + suffix;
    };
  }
  function prepare(cfg) {
    cfg.plugins = (cfg.plugins || []).concat([errorBars]);
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
        sc.grid.color = function (c) { return c.tick && isMajor(c.tick.value) ? '#e2e8f0' : 'rgba(0,0,0,0)'; };
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
  return { errorBars: errorBars, prepare: prepare };
})()`;

/** Every chart spec of the model in document order (summary first). */
export function allCharts(model: ReportModel): ChartSpec[] {
  const out: ChartSpec[] = [];
  if (model.summaryChart) out.push(model.summaryChart);
  for (const c of model.categories) {
    if (c.chart) out.push(c.chart);
    out.push(...c.distributions);
  }
  return out;
}
