/**
 * The report's categories (one per workload) in order, their titles, and which
 * metric stands for each: lookups into each workload's own declaration
 * (src/core/declarations.ts), shared by the stored headline (headline.ts), the
 * view model and the renderers. The report names no workload: a category no
 * loaded module declares (a file from another version) keeps its id as title
 * and sorts after the declared ones; `capacity` is the report's own last section.
 */
import type { Summary } from '../results/types.js';
import { comparisonMode, comparesByDifference, type CompareMode } from '../stats/index.js';
import { workloadDeclaration, workloadDeclarations } from '../core/declarations.js';
import '../workloads/index.js';

/** The report's own category after every workload's. */
const CAPACITY = { id: 'capacity', title: 'Capacity' } as const;

/** A metric is drawn as a distribution when its workload says so (start-up times) or it is a latency. */
export function isDistributionMetric(workload: string, metric: string): boolean {
  const d = workloadDeclaration(workload)?.distribution;
  if (d === 'all' || (d instanceof RegExp && d.test(metric))) return true;
  return /latency|(^|_)lat(_|$)/i.test(metric);
}

/** The phrase after a headline difference: "+241 MiB per idle instance", "+3.9 s to ready". */
export function absolutePhrase(workload: string, metric: string): string {
  const d = workloadDeclaration(workload);
  return d?.metricPhrases?.[metric] ?? d?.phrase ?? '';
}

/** The workload's primary metric among `names` (the cross-backend figure), if it declares one that was measured. */
export function primaryMetric(workload: string, names: readonly string[]): string | undefined {
  const primary = workloadDeclaration(workload)?.primary ?? [];
  return primary.map((re) => names.find((n) => re.test(n))).find((n) => n !== undefined);
}

/** Per-instance costs (footprint, start-up, density): drawn and told as differences. */
export function isAbsoluteCategory(workload: string): boolean {
  return comparesByDifference(workload);
}

/** Ratio or difference for a metric (the rule lives in src/stats: comparisonMode). */
export function compareMode(workload: string, nativeSummary: Summary | null, metric = '', unit = ''): CompareMode {
  return comparisonMode(workload, metric, unit, nativeSummary ? nativeSummary.mean : null);
}

export function categoryIndex(id: string): number {
  const all = workloadDeclarations();
  if (id === CAPACITY.id) return all.length + 1;
  const i = all.findIndex((d) => d.name === id);
  return i === -1 ? all.length : i;
}

export function categoryTitle(id: string): string {
  if (id === CAPACITY.id) return CAPACITY.title;
  return workloadDeclaration(id)?.title ?? id;
}
