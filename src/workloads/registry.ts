/**
 * Workloads by name. The registry refuses duplicates, as PerfKitBenchmarker's does.
 */
import type { Workload, WorkloadName } from './types.js';
import { declareWorkload } from '../core/declarations.js';

const registry = new Map<WorkloadName, Workload<any>>();

export function registerWorkload<P>(w: Workload<P>): Workload<P> {
  if (registry.has(w.name)) throw new Error(`workload ${w.name} registered twice`);
  registry.set(w.name, w as Workload<any>);
  const { name, title, order, judgement, primary, phrase, metricPhrases, distribution, check } = w;
  const { capacity, isolation, tools } = w;
  declareWorkload({
    name,
    title,
    order,
    judgement,
    ...(primary ? { primary } : {}),
    ...(phrase ? { phrase } : {}),
    ...(metricPhrases ? { metricPhrases } : {}),
    ...(distribution ? { distribution } : {}),
    ...(check ? { check } : {}),
    ...(capacity ? { capacity } : {}),
    ...(isolation ? { isolation } : {}),
    ...(tools ? { tools } : {}),
  });
  return w;
}

export function getWorkload(name: string): Workload<any> | undefined {
  return registry.get(name as WorkloadName);
}

/**
 * Every registered workload in its declared order (the report's order, and so the order a scenario's workloads
 * run in), whatever order the modules happened to be imported in.
 */
export function allWorkloads(): Workload<any>[] {
  return [...registry.values()].sort((a, b) => a.order - b.order);
}
