/**
 * Every backend vs native figure of a run, from its cells: an overhead ratio
 * (Overhead) or a difference (Difference) per metric, each with its threshold
 * and equivalence verdict. Paired by round wherever both sides' values carry
 * matching round numbers (exp of the mean per-round log ratio; the mean
 * per-round difference), else unpaired (ratio or difference of means, Welch);
 * each figure records its `design`. Pure; the runner stores the result in
 * results.json, and version-1 files are upgraded with it on read.
 */
import type { BackendResult, Cell, Difference, Overhead } from '../results/types.js';
import { mean } from './index.js';
import { comparisonMode, difference, overhead, thresholdFor, type ThresholdOverrides } from './equivalence.js';
import { workloadDeclarations } from '../core/declarations.js';

/**
 * Metrics recorded to check a measurement, not to describe a cost (a workload's
 * declared check, the disk device-reach check): never compared with native, between runs, or in capacity.
 */
export function isCheckMetric(metric: string): boolean {
  return workloadDeclarations().some((d) => d.check?.metric === metric);
}

export interface Comparisons {
  overheads: Overhead[];
  differences: Difference[];
}

/** The scenario's `thresholds:` (validated by the scenario schema), or none. */
export function thresholdsOf(scenario: unknown): ThresholdOverrides | undefined {
  if (!scenario || typeof scenario !== 'object') return undefined;
  const t = (scenario as { thresholds?: unknown }).thresholds;
  return t && typeof t === 'object' ? (t as ThresholdOverrides) : undefined;
}

export function computeComparisons(
  cells: readonly Cell[],
  backends: readonly BackendResult[],
  thresholds?: ThresholdOverrides,
): Comparisons {
  const out: Comparisons = { overheads: [], differences: [] };
  const native = backends.find((b) => b.kind === 'native');
  if (!native) return out;
  for (const c of cells) {
    if (c.backend === native.label) continue;
    const base = cells.find((n) => n.backend === native.label && n.workload === c.workload);
    if (!base) continue;
    for (const m of c.metrics) {
      if (isCheckMetric(m.metric)) continue;
      const nm = base.metrics.find((x) => x.metric === m.metric);
      // A verdict needs a CI, and a CI needs two values a side (and JSON has no Infinity to store an unbounded one).
      if (!nm || nm.values.length < 2 || m.values.length < 2) continue;
      const id = {
        backend: c.backend,
        workload: c.workload,
        metric: m.metric,
        unit: m.unit,
        higherIsBetter: m.higherIsBetter,
      };
      const nativeMean = mean(nm.values);
      const mode = comparisonMode(c.workload, m.metric, m.unit, Number.isFinite(nativeMean) ? nativeMean : null);
      if (mode === 'ratio') {
        const o = overhead(nm, m, m.higherIsBetter, thresholdFor('ratio', c.workload, m.unit, thresholds));
        if (o) out.overheads.push({ ...id, ...o });
        continue;
      }
      const magnitude = Math.max(Math.abs(nativeMean), Math.abs(mean(m.values)));
      const threshold = thresholdFor('absolute', c.workload, m.unit, thresholds, magnitude);
      const d = difference(nm, m, m.higherIsBetter, threshold);
      if (d) {
        const { cost: _c, costCi95: _ci, costCi90: _ci90, ...rest } = d;
        out.differences.push({ ...id, ...rest });
      }
    }
  }
  return out;
}
