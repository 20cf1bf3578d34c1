/** The headline section: the stored headline rows joined with what the summary chart needs, and that chart. */
import type { HeadlineFigure, HeadlineRow as StoredHeadlineRow, Overhead, Summary } from '../../results/types.js';
import { isNative, type ColumnView } from '../columns.js';
import { costFactor, fmtOverheadCi, fmtOverheadDetail, fmtOverheadValue, verdictText } from '../format.js';
import { linearBounds, pushBar, valueRange } from '../charts/bars.js';
import type { BarChartSpec, BarSeries } from '../charts/types.js';
import type { CategoryView, MetricCellView } from './categories.js';

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

/**
 * The headline rows as stored in results.headline (computed once by
 * headline.ts), joined with what the charts need: the overhead behind a ratio
 * figure and each backend's summary (its n).
 */
export function buildHeadline(
  stored: readonly StoredHeadlineRow[],
  categories: CategoryView[],
  compared: ColumnView[],
  columns: ColumnView[] = [],
): HeadlineRow[] {
  const nativeCol = columns.find((c) => isNative(c));
  // A stored row whose category has no cells left (an edited or failed results file) is not shown.
  return stored
    .filter((row) => categories.some((c) => c.id === row.category))
    .map((row) => {
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
          const base: HeadlineFigure = e ?? {
            backend: col.label,
            verdict: null,
            value: '',
            ci: '',
            detail: '',
            point: null,
            ci95: null,
            state: 'missing',
          };
          return {
            ...base,
            overhead: kind === 'ratio' ? (cell?.overhead ?? null) : null,
            summary: cell?.summary ?? null,
          };
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
      pushBar(
        s,
        f.value,
        f.ci[0],
        f.ci[1],
        `${fmtOverheadValue(o)}, 95% CI ${fmtOverheadCi(o)}; ${fmtOverheadDetail(o)} (${verdictText(o)})`,
      );
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
      "bar = cost factor (1 = native's level, 2 = takes twice the time or gives half the throughput); " +
      `whisker = 95% CI${log ? '; log scale' : ''}${range.clipped ? '; ▸ whisker clipped at the axis' : ''}` +
      (skipped.length ? `; ${skipped.join(', ')}: absolute costs, see the table` : ''),
    axisTitle: '× native cost (>1 = worse)',
    labels: rows.map((r) => [r.title, r.metric]),
    series,
    log,
    horizontal: true,
    base: 1,
    ...(log
      ? { suggestedMin: undefined, suggestedMax: undefined, min: range.min, max: range.max }
      : linearBounds(range)),
    suffix: '×',
  };
}
