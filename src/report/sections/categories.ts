/**
 * The category sections: one per workload, each metric's cells per backend
 * with its summary and how it reads against native (ratio or difference).
 */
import type { Cell, Difference, MetricResult, Overhead, RunResults } from '../../results/types.js';
import type { CompareMode } from '../../stats/index.js';
import { differenceFigure, differenceJudgement, overheadFigure, overheadJudgement } from '../headline.js';
import { categoryIndex, categoryTitle, compareMode, isDistributionMetric } from '../categories.js';
import { workloadDeclaration } from '../../core/declarations.js';
import { isNative, type ColumnView } from '../columns.js';
import type { DifferenceView } from '../format.js';
import { buildCategoryChart, buildCdf, columnsWithData } from '../charts/bars.js';
import type { CdfChartSpec } from '../charts/types.js';
import { buildIsolation } from '../isolation/index.js';
import type { CategoryView, CellProblem, MetricCellView, MetricView, VsNative } from './category-view.js';

export type { DifferenceView } from '../format.js';
export type * from './category-view.js';

/** How a cell reads against native in its metric's mode. */
export function vsNative(
  mode: CompareMode,
  m: { unit: string; higherIsBetter: boolean },
  overhead: Overhead | null,
  difference: DifferenceView | null,
  phrase = '',
): VsNative | null {
  if (mode === 'absolute' || !overhead) {
    // A ratio metric without a ratio (native ~0, one side missing) falls back to the difference.
    if (!difference) return null;
    const d = { unit: m.unit, threshold: Number.NaN, detectable: Number.NaN, repetitionsNeeded: null, ...difference };
    const f = differenceFigure(d, phrase);
    return {
      mode: 'absolute',
      verdict: difference.verdict,
      value: f.value,
      ci: f.ci,
      detail: f.detail,
      judgement: differenceJudgement(d),
    };
  }
  const f = overheadFigure(overhead);
  return {
    mode: 'ratio',
    verdict: overhead.verdict,
    value: f.value,
    ci: f.ci,
    detail: f.detail,
    judgement: overheadJudgement(overhead),
    ...(f.implausible ? { implausible: f.implausible } : {}),
  };
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

function findOverhead(results: RunResults, backend: string, workload: string, metric: string): Overhead | null {
  return results.overheads.find((o) => o.backend === backend && o.workload === workload && o.metric === metric) ?? null;
}

function findDifference(results: RunResults, backend: string, workload: string, metric: string): Difference | null {
  return (
    results.differences.find((o) => o.backend === backend && o.workload === workload && o.metric === metric) ?? null
  );
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
          if (!decls.some((d) => d.metric === m.metric))
            decls.push({ metric: m.metric, unit: m.unit, higherIsBetter: m.higherIsBetter });
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
      problems.push({
        backend: c.backend,
        workload,
        state: c.state,
        reason: cellReason(c) ?? '',
        rawLog: c.state === 'failed' ? c.rawLog : undefined,
      });
    }
    const view: CategoryView = {
      id: workload,
      title: categoryTitle(workload),
      metrics,
      problems,
      chart: null,
      distributions: [],
      isolation: buildIsolation(workload, results.cells, columns),
    };
    view.chart = buildCategoryChart(view, columns);
    // The relative-mean bar of shares, steps and alone/with figures says little: the category's own charts replace it.
    if (view.isolation && view.isolation.charts.length > 0 && replacedByIsolation(workload)) view.chart = null;
    // A distribution is drawn only for metrics that more than one backend reports
    // (a backend's own stages are in the table).
    const shared = (m: MetricView): boolean =>
      m.cells.filter((c) => c.values.length > 0).length >= Math.min(2, columnsWithData(metrics));
    view.distributions = metrics
      .filter((m) => m.distribution && shared(m))
      .map((m) => buildCdf(view, m, columns))
      .filter((c): c is CdfChartSpec => c !== null);
    return view;
  });
}

/** Categories whose generic bar chart gives way to their isolation charts: the workload declares it. */
function replacedByIsolation(workload: string): boolean {
  return workloadDeclaration(workload)?.isolation?.replacesBarChart === true;
}

/** Rows worth a line: a backend that has values, or whose cell did not complete (the reason is shown). */
export function shownCells(cells: MetricCellView[]): MetricCellView[] {
  return cells.filter(
    (c) => c.values.length > 0 || c.summary !== null || (c.state !== 'complete' && c.state !== 'missing'),
  );
}
