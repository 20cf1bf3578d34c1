/**
 * The report's categories (one per workload) in their fixed order, their titles,
 * and which metric stands for each: pure constants and lookups shared by the
 * stored headline (headline.ts), the view model and the renderers.
 */
import type { Summary } from '../results/types.js';
import { comparisonMode, type CompareMode } from '../stats/index.js';

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

/** A metric is drawn as a distribution when it is a start-up time or a latency. */
export function isDistributionMetric(workload: string, metric: string): boolean {
  return workload === 'startup' || /latency|(^|_)lat(_|$)/i.test(metric);
}

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

export function categoryIndex(id: string): number {
  const i = (CATEGORY_ORDER as readonly string[]).indexOf(id);
  return i === -1 ? CATEGORY_ORDER.length : i;
}

export function categoryTitle(id: string): string {
  return CATEGORY_TITLES[id] ?? id;
}
