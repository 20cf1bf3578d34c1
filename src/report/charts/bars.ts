/** The category charts (grouped bars of means with CI whiskers, distributions as CDFs) built from the view model. */
import type { Summary } from '../../results/types.js';
import { isAbsoluteCategory } from '../categories.js';
import { displayUnit, fmtNum, fmtQuantity } from '../format.js';
import type { ColumnView } from '../columns.js';
import type { CategoryView, MetricView } from '../sections/category-view.js';
import type { BarChartSpec, BarSeries, CdfChartSpec, CdfSeries } from './types.js';

function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function metricLabel(m: { metric: string; unit: string; higherIsBetter: boolean }): string[] {
  return [m.metric, `${m.unit}, ${m.higherIsBetter ? 'higher' : 'lower'} is better`];
}

/** How many columns have any value in a category (1 when only one backend ran). */
export function columnsWithData(metrics: MetricView[]): number {
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
 * - ratio categories: each backend's figure vs native as the run computed it
 *   (paired by round: exp of the mean per-round log ratio, with its t CI as
 *   whiskers; unpaired: ratio of means with its delta-method CI); native's bar
 *   is 1 with its own mean's CI relative to its mean. Without native, each
 *   mean ÷ the first column with data. Units share one axis; log axis when the
 *   range is wide; whiskers beyond the axis are clipped.
 * - absolute categories (footprint, start-up, density): the means in the
 *   metric's own unit (metrics sharing the first charted metric's unit).
 */
export function buildCategoryChart(
  cat: Pick<CategoryView, 'id' | 'title' | 'metrics'>,
  columns: ColumnView[],
): BarChartSpec | null {
  const needed = Math.min(2, columnsWithData(cat.metrics));
  const shared = cat.metrics.filter((m) => m.cells.filter((c) => c.summary).length >= needed);
  if (isAbsoluteCategory(cat.id)) return buildAbsoluteChart(cat, shared, columns);
  const charted: { m: MetricView; base: number; baseLabel: string }[] = [];
  for (const m of shared) {
    if (m.mode === 'absolute') continue;
    const baseCell = m.cells.find((c) => c.summary && meanOf(c.summary) > 0);
    if (baseCell?.summary) charted.push({ m, base: meanOf(baseCell.summary), baseLabel: baseCell.backend });
  }
  if (charted.length === 0) return null;
  // The overheads are vs native: they stand for the bars only where native is the chart's baseline.
  const nativeBased = new Set(
    charted
      .filter(
        (c) =>
          c.m.cells.some((x) => x.backend === c.baseLabel && x.overhead === null) &&
          c.m.cells.some((x) => x.overhead !== null),
      )
      .map((c) => c.m),
  );
  const baseOf = (m: MetricView): 'native-ratio' | 'own' => (nativeBased.has(m) ? 'native-ratio' : 'own');
  const baseLabels = [...new Set(charted.map((c) => c.baseLabel))];
  const baseName = baseLabels.length === 1 ? (baseLabels[0] ?? 'baseline') : 'first backend with data';
  const series: BarSeries[] = columns.map((col, ci) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const { m, base } of charted) {
      const cell = m.cells[ci];
      const sum = cell?.summary;
      if (!sum) {
        pushBar(s, null);
        continue;
      }
      // A backend with its figure vs native: the bar and whiskers are that figure (paired by round when it
      // was: the per-round ratios' geometric mean and t CI), not its own interval divided by native's mean.
      const o = cell.overhead;
      const oci = o?.ratioCi95;
      if (
        o &&
        oci &&
        Number.isFinite(o.ratio) &&
        Number.isFinite(oci[0]) &&
        Number.isFinite(oci[1]) &&
        baseOf(m) === 'native-ratio'
      ) {
        const how = o.design === 'paired' ? `paired over ${o.pairs ?? o.n[0]} rounds` : 'unpaired: ratio of means';
        pushBar(
          s,
          o.ratio,
          oci[0],
          oci[1],
          `${fmtNum(o.ratio)}× native (${how}), 95% CI [${fmtNum(oci[0])}, ${fmtNum(oci[1])}]; ` +
            `mean ${fmtNum(sum.mean)} ${m.unit}, n=${sum.n}`,
        );
        continue;
      }
      pushBar(
        s,
        meanOf(sum) / base,
        sum.ci95[0] / base,
        sum.ci95[1] / base,
        `mean ${fmtNum(sum.mean)} ${m.unit}, 95% CI of the mean [${fmtNum(sum.ci95[0])}, ${fmtNum(sum.ci95[1])}], ` +
          `median ${fmtNum(sum.median)}, n=${sum.n}`,
      );
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
    subtitle:
      `bar = ratio to ${baseName} (1 = ${baseName}'s level); whisker = 95% CI of that ratio, ` +
      `paired by round where the values carry their round (${baseName}: its own mean's CI)` +
      `${log ? '; log scale' : ''}${range.clipped ? '; ▸ whisker clipped at the axis' : ''}`,
    axisTitle: `× ${baseName}`,
    labels: charted.map(({ m }) => metricLabel(m)),
    series,
    log,
    horizontal: false,
    base: 0,
    ...(log
      ? { suggestedMin: undefined, suggestedMax: undefined, min: range.min, max: range.max }
      : linearBounds(range)),
    suffix: '×',
  };
}

function buildAbsoluteChart(
  cat: Pick<CategoryView, 'id' | 'title' | 'metrics'>,
  shared: MetricView[],
  columns: ColumnView[],
): BarChartSpec | null {
  const first = shared.find((m) => m.cells.some((c) => c.summary));
  if (!first) return null;
  const charted = shared.filter((m) => m.unit === first.unit);
  const unit = displayUnit(
    first.unit,
    Math.max(...charted.flatMap((m) => m.cells.map((c) => (c.summary ? Math.abs(c.summary.mean) : 0)))),
  );
  const series: BarSeries[] = columns.map((col, ci) => {
    const s: BarSeries = { label: col.label, colour: col.colour, values: [], lo: [], hi: [], text: [] };
    for (const m of charted) {
      const sum = m.cells[ci]?.summary;
      if (!sum) {
        pushBar(s, null);
        continue;
      }
      const vs = m.cells[ci]?.vs;
      pushBar(
        s,
        sum.mean * unit.factor,
        sum.ci95[0] * unit.factor,
        sum.ci95[1] * unit.factor,
        `mean ${fmtQuantity(sum.mean, m.unit)} [${fmtNum(sum.ci95[0] * unit.factor)}, ` +
          `${fmtNum(sum.ci95[1] * unit.factor)}], n=${sum.n}${vs ? `; vs native ${vs.value} ${vs.ci}` : ''}`,
      );
    }
    if (s.values.every((v) => v === null)) s.label = `${col.label} (no data)`;
    return s;
  });
  const range = valueRange(series, false, 0);
  return {
    type: 'bar',
    id: `chart-${safeId(cat.id)}`,
    title: `${cat.title}: mean per backend (${unit.unit})`,
    subtitle:
      `absolute cost per instance (a ratio to a ~0 native baseline means nothing); bar = mean; ` +
      `whisker = 95% CI of the mean${range.clipped ? '; ▸ whisker clipped at the axis' : ''}`,
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

/**
 * Linear axes take the range as suggestions (Chart.js rounds them to nice ticks); whiskers beyond are still clipped.
 */
export function linearBounds(range: {
  min: number | undefined;
  max: number | undefined;
}): Pick<BarChartSpec, 'suggestedMin' | 'suggestedMax' | 'min' | 'max'> {
  return { suggestedMin: range.min, suggestedMax: range.max, min: undefined, max: undefined };
}

/**
 * A value-axis range driven by the bars (point estimates) and the base, not by
 * the whiskers: a 95% CI from 3 repetitions can span 10^9, and an axis that
 * shows it all squeezes the bars into a line. Whiskers may reach 4× beyond the
 * extreme bars (log) or 2× (linear); beyond that they are clipped with an arrow.
 */
export function valueRange(
  series: BarSeries[],
  log: boolean,
  base: number,
): { min: number | undefined; max: number | undefined; clipped: boolean } {
  const pts = series
    .flatMap((s) => s.values)
    .filter((v): v is number => v !== null && Number.isFinite(v) && (!log || v > 0));
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
export function buildCdf(
  cat: Pick<CategoryView, 'id' | 'title'>,
  m: MetricView,
  columns: ColumnView[],
): CdfChartSpec | null {
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
    subtitle:
      `empirical CDF of every repetition (${m.higherIsBetter ? 'higher' : 'lower'} is better)` +
      (log ? '; log scale' : ''),
    axisTitle: `${m.metric} (${m.unit})`,
    series,
    log,
  };
}

/** Append one bar (value, CI whisker ends, tooltip text) to a series, or a gap with `null`. */
export function pushBar(
  s: BarSeries,
  value: number | null,
  lo: number | null = null,
  hi: number | null = null,
  text: string | null = null,
): void {
  s.values.push(value);
  s.lo.push(lo);
  s.hi.push(hi);
  s.text.push(text);
}
