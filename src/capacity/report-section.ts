/**
 * The capacity section: computed here (pure) from a host profile the caller
 * loads (write.ts) and passes in; without one the section says how to get it.
 */
import type { RunResults } from '../results/types.js';
import {
  capacityChartData,
  planCapacity,
  renderRuntimeClassYaml,
  type CapacityPlan,
  type HostSpec,
  type InstanceDemand,
} from './index.js';
import { linearBounds, valueRange } from '../report/charts/bars.js';
import type { BarChartSpec, BarSeries } from '../report/charts/types.js';

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
  const h =
    host && host.source !== 'command line' && host.name
      ? host.name
      : host
        ? `cores=${host.cores},memoryGiB=${host.memoryGiB}`
        : 'cores=64,memoryGiB=256';
  const i = instance ? `vcpus=${instance.vcpus},memoryMiB=${instance.memoryMiB}` : 'vcpus=2,memoryMiB=2048';
  return `isobench capacity --run ${runId} --host ${h} --instance ${i} [--target N] [--json]`;
}

export function buildCapacity(results: RunResults, host: HostSpec | undefined): CapacityView {
  const instance = instanceFromScenario(results.scenario);
  const base = {
    host,
    instance,
    instanceOrigin: instance
      ? `the scenario's instance spec (${instance.vcpus} vCPU, ${instance.memoryMiB} MiB)`
      : undefined,
    plan: undefined,
    chart: null,
    runtimeClassYaml: '',
    rerun: rerunCommand(results.runId, host, instance),
    emulated: [] as string[],
  };
  if (!host) return { ...base, status: 'unavailable', reason: 'no host profile was given to the report' };
  if (!instance)
    return { ...base, status: 'unavailable', reason: "the run's scenario has no instance spec (vcpus, memoryMiB)" };
  let plan: CapacityPlan;
  try {
    plan = planCapacity(results, { host, instance });
  } catch (e) {
    return {
      ...base,
      status: 'unavailable',
      reason: `the capacity model refused the inputs: ${e instanceof Error ? e.message : String(e)}`,
    };
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

/**
 * Instances per host by backend, one stacked series per binding resource (capacityChartData), best–worst as whiskers.
 */
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
        return v === null || !r
          ? null
          : `${r.expected} instances per host (worst ${r.worst}, best ${r.best}); ` +
              `binding: ${plan.backends[i]?.expected.binding.join(' + ') ?? ds.label}`;
      }),
    };
  });
  const range = valueRange(series, false, 0);
  return {
    type: 'bar',
    id: 'chart-capacity',
    title: data.title,
    subtitle:
      'bar = expected instances per host, coloured by the resource that binds; ' +
      'whisker = worst … best from the 95% CIs',
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
