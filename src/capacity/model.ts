/**
 * The capacity model: turns a run's measured overheads into "how many instances
 * fit on this host, each way, and how many hosts do we need". Pure: no I/O.
 * docs/capacity.md explains the same formulas for readers of the report.
 *
 * -- Inputs ------------------------------------------------------------------
 *   host      H = {cores, memoryGiB, diskIops?, netGbps?}
 *   reserve   R = {cores (default 1), memoryPct (default 4), memoryMiB (default 0)}
 *   demand    D = {vcpus, memoryMiB, iops?, mbps?}   (what one instance needs natively)
 *   run       overheads[] (ratio backend/native + 95% CI) and cells[] (footprint PSS)
 *
 * -- Usable host capacity (after the per-host reserve) -------------------------
 *   U.cpu     = H.cores − R.cores                                       [cores]
 *   U.memory  = H.memoryGiB × 1024 × (1 − R.memoryPct/100) − R.memoryMiB [MiB]
 *   U.disk    = H.diskIops                                              [IOPS]
 *   U.network = H.netGbps × 1000                                        [Mbit/s]
 *
 * -- Overhead of a backend b --------------------------------------------------
 *   For a throughput metric (higher is better) r = mean_b / mean_native, the run's ratio of means
 *   (src/stats: the same estimator as the report and compare; a run's stored overhead when present).
 *   The cost factor is k = max(1, 1/r) (for a lower-is-better metric k = max(1, r)):
 *   what one unit of native work costs on b. A measured speed-up (r > 1) is
 *   treated as no overhead: a capacity plan must not promise free capacity.
 *   With the 95% CI [r_lo, r_hi] of r:  k_best = max(1, 1/r_hi), k_worst = max(1, 1/r_lo).
 *   Native has k = 1 and footprint 0 by definition.
 *
 *   CPU     k_cpu  from workload cpu,     metric sysbench-events-nt (else -1t)
 *   disk    k_disk from workload disk,    the *-iops metric with the largest k (most pessimistic)
 *   network k_net  from workload network, the tcp-*-mbps/gbps metric with the largest k
 *   memory  F = PSS_b − PSS_native  per idle instance (workload footprint, metric pss-mib;
 *           fallbacks density/marginal-pss-mib, then rss-mib, cgroup-mib with a warning)
 *           F = max(0, mean_b − mean_native) with the Welch 95% CI [d_lo, d_hi] of the difference of means:
 *           F_best = max(0, d_lo), F_worst = max(F, d_hi); no native footprint measured → PSS_native = 0
 *           and the CI is the t CI of mean_b.
 *
 * -- Per-instance host cost on backend b ---------------------------------------
 *   C.cpu     = D.vcpus × k_cpu                     (= demand × overhead ratio)
 *   C.memory  = D.memoryMiB + F
 *   C.disk    = D.iops × k_disk                     (= demand ÷ (1 − overhead), overhead = 1 − r)
 *   C.network = D.mbps × k_net
 *   A resource constrains only when both the demand and the host capacity are given.
 *   A constraining resource whose overhead was not measured in this run uses k = 1 and is
 *   flagged "not measured in this run" (the figure is then optimistic).
 *
 * -- Instances per host, binding resource, hosts needed -----------------------
 *   fit_x = floor(U.x / C.x)           per constraining resource x
 *   N     = min_x fit_x                binding = argmin (all resources that tie)
 *   hosts = ceil(target / N)           (null when N = 0: the instance does not fit)
 *   best / expected / worst use (k_best, F_best) / (k, F) / (k_worst, F_worst).
 *   density ratio container:VM = N_container / N_vm; its range is
 *   [N_c,worst / N_vm,best, N_c,best / N_vm,worst].
 *
 * -- What-if sweep and break-even ---------------------------------------------
 *   sweep: N for D.memoryMiB = m, m ∈ 128 MiB … 16 GiB, other demands unchanged.
 *   break-even (memory): with fixed footprints F_vm and F_ref (ref = a container backend,
 *   else native), the share of memory capacity the VM loses against ref at size m is
 *       L(m) = 1 − (m + F_ref)/(m + F_vm) = (F_vm − F_ref)/(m + F_vm)
 *   and L(m) ≤ X  ⇔  m ≥ (F_vm − F_ref)/X − F_vm.   (X default 5 %)
 *   The worst case uses F_vm,worst and F_ref,best. CPU overhead is proportional and does
 *   not shrink with size, so it is reported separately (k_cpu), not folded in here.
 *
 * ── Kubernetes RuntimeClass overhead.podFixed per backend variant ─────────────
 *   memory = ceil(F_worst) Mi        cpu = ceil(D.vcpus × (k_cpu,worst − 1) × 1000) m
 *   (upper CI ends, so that the scheduler does not over-pack; expected values in comments.)
 *
 * Every number in the plan carries `sources`: ids into plan.sources, which name
 * the run, backend, workload, metric, the statistic used and its raw logs, or
 * the command-line input / default it came from.
 */
import type { RunResults } from '../results/types.js';
import { IsobenchError } from '../errors.js';
import { DEFAULT_RESERVE, type InstanceDemand, type ReserveSpec } from './spec.js';
import {
  EPS,
  RESOURCES,
  RESOURCE_UNITS,
  DEFAULT_SWEEP_MIB,
  DEFAULT_BREAK_EVEN_PCT,
  type BackendPlan,
  type BackendProfile,
  type BreakEven,
  type CapacityPlan,
  type DensityRatio,
  type Figure,
  type PlanOptions,
  type Resource,
  type ResourceCost,
  type RuntimeClassOverhead,
  type ScenarioFit,
  type SweepRow,
} from './plan-types.js';
import { Sources, pruneSources, uniq } from './sources.js';
import { buildProfiles } from './profiles.js';
import { runtimeClassFor } from './runtime-class.js';

// The plan's shapes and the metric lookup live in their own modules; importers keep using this path.
export * from './plan-types.js';
export { metricLookup, type MetricLookup } from './profiles.js';

// --- The model ----------------------------------------------------------------

function fitCount(usable: number, cost: number): number {
  if (!(cost > 0)) return Number.POSITIVE_INFINITY;
  if (!Number.isFinite(cost)) return 0;
  return Math.max(0, Math.floor(usable / cost + EPS));
}

interface Inputs {
  usable: Record<Resource, number | null>;
  usableSources: Record<Resource, string[]>;
  demandSources: Record<Resource, string[]>;
}

function demandOf(d: InstanceDemand, r: Resource): number | null {
  switch (r) {
    case 'cpu':
      return d.vcpus;
    case 'memory':
      return d.memoryMiB;
    case 'disk':
      return d.iops ?? null;
    case 'network':
      return d.mbps ?? null;
  }
}

const ONE: Figure = { value: 1, best: 1, worst: 1, unit: '×', sources: [] };
const ZERO_MIB: Figure = { value: 0, best: 0, worst: 0, unit: 'MiB', sources: [] };

function evaluate(p: BackendProfile, demand: InstanceDemand, inp: Inputs): Record<Resource, ResourceCost> {
  const out = {} as Record<Resource, ResourceCost>;
  for (const r of RESOURCES) {
    const dem = demandOf(demand, r);
    // An engine daemon takes its memory off the host once, before any instance.
    const fixed = r === 'memory' ? p.engineFixedMiB : undefined;
    const usable = fixed && inp.usable[r] !== null ? Math.max(0, inp.usable[r] - fixed.value) : inp.usable[r];
    const measured = r === 'memory' ? p.footprintMiB : p[r];
    const isNative = p.kind === 'native';
    const overhead: Figure | null = isNative ? (r === 'memory' ? ZERO_MIB : ONE) : measured;
    const rc: ResourceCost = { resource: r, demand: dem, usable, overhead, cost: null, fit: null, status: 'measured' };
    if (isNative) rc.status = 'baseline';
    if (dem === null || usable === null) {
      rc.status = 'not-constrained';
      rc.note = dem === null ? `no ${r} demand given` : `host ${r} capacity not given`;
      out[r] = rc;
      continue;
    }
    let ov = overhead;
    if (!ov) {
      rc.status = 'not-measured';
      rc.note = `${r} overhead not measured in this run: assumed none (optimistic)`;
      ov = r === 'memory' ? ZERO_MIB : ONE;
    }
    const costSources = uniq([...ov.sources, ...inp.demandSources[r]]);
    const cost: Figure =
      r === 'memory'
        ? {
            value: dem + ov.value,
            best: dem + ov.best,
            worst: dem + ov.worst,
            unit: RESOURCE_UNITS[r],
            sources: costSources,
          }
        : {
            value: dem * ov.value,
            best: dem * ov.best,
            worst: dem * ov.worst,
            unit: RESOURCE_UNITS[r],
            sources: costSources,
          };
    rc.cost = cost;
    rc.fit = {
      value: fitCount(usable, cost.value),
      best: fitCount(usable, cost.best),
      worst: fitCount(usable, cost.worst),
      unit: 'instances',
      sources: uniq([...cost.sources, ...inp.usableSources[r], ...(fixed?.sources ?? [])]),
    };
    if (fixed) rc.note = `usable memory less the engine daemon's ${fixed.value.toFixed(1)} MiB (per host)`;
    out[r] = rc;
  }
  return out;
}

function scenario(
  res: Record<Resource, ResourceCost>,
  which: 'value' | 'best' | 'worst',
  target: number | null,
): ScenarioFit {
  let n = Number.POSITIVE_INFINITY;
  let binding: Resource[] = [];
  for (const r of RESOURCES) {
    const f = res[r].fit;
    if (!f) continue;
    const v = f[which];
    if (v < n) {
      n = v;
      binding = [r];
    } else if (v === n) binding.push(r);
  }
  // CPU and memory always constrain (both are required), so n is finite.
  const instancesPerHost = Number.isFinite(n) ? n : 0;
  return {
    instancesPerHost,
    binding,
    hostsNeeded: target === null ? null : instancesPerHost > 0 ? Math.ceil(target / instancesPerHost) : null,
  };
}

function fitSources(res: Record<Resource, ResourceCost>): string[] {
  return uniq(RESOURCES.flatMap((r) => res[r].fit?.sources ?? []));
}

/** Build the capacity plan for one run. Pure; throws IsobenchError('BAD_ARGS') on impossible inputs. */
export function buildPlan(results: RunResults, opts: PlanOptions): CapacityPlan {
  const { host, instance } = opts;
  const target = opts.target ?? null;
  if (target !== null && !(Number.isInteger(target) && target > 0)) {
    throw new IsobenchError('BAD_ARGS', `--target must be a whole number > 0, got ${target}`);
  }
  const sources = new Sources();
  const reserve: ReserveSpec = { ...DEFAULT_RESERVE, ...(host.reserve ?? {}), ...(opts.reserve ?? {}) };
  const reserveOrigin = (k: keyof ReserveSpec): 'default' | 'input' =>
    opts.reserve?.[k] !== undefined || host.reserve?.[k] !== undefined ? 'input' : 'default';
  const inputSrc = (field: string, value: number, origin = host.source): string =>
    sources.add({ kind: 'input', field, value, origin }, field);
  const reserveSrc = (k: keyof ReserveSpec): string =>
    reserveOrigin(k) === 'default'
      ? sources.add(
          { kind: 'default', field: `reserve.${k}`, value: reserve[k], note: 'default per-host reserve' },
          `reserve.${k}`,
        )
      : sources.add(
          {
            kind: 'input',
            field: `reserve.${k}`,
            value: reserve[k],
            origin: opts.reserve?.[k] !== undefined ? '--reserve' : host.source,
          },
          `reserve.${k}`,
        );

  const usableCpu = host.cores - reserve.cores;
  const usableMem = host.memoryGiB * 1024 * (1 - reserve.memoryPct / 100) - reserve.memoryMiB;
  if (!(usableCpu > 0))
    throw new IsobenchError(
      'BAD_ARGS',
      `the reserve (${reserve.cores} cores) leaves no cores of the host's ${host.cores}: ` +
        `lower reserve.cores or give a bigger host`,
    );
  if (!(usableMem > 0))
    throw new IsobenchError(
      'BAD_ARGS',
      `the reserve (${reserve.memoryPct}% + ${reserve.memoryMiB} MiB) leaves no memory of the host's ` +
        `${host.memoryGiB} GiB: lower the memory reserve`,
    );

  const inp: Inputs = {
    usable: {
      cpu: usableCpu,
      memory: usableMem,
      disk: host.diskIops ?? null,
      network: host.netGbps !== undefined ? host.netGbps * 1000 : null,
    },
    usableSources: {
      cpu: [inputSrc('host.cores', host.cores), reserveSrc('cores')],
      memory: [inputSrc('host.memoryGiB', host.memoryGiB), reserveSrc('memoryPct'), reserveSrc('memoryMiB')],
      disk: host.diskIops !== undefined ? [inputSrc('host.diskIops', host.diskIops)] : [],
      network: host.netGbps !== undefined ? [inputSrc('host.netGbps', host.netGbps)] : [],
    },
    demandSources: {
      cpu: [inputSrc('instance.vcpus', instance.vcpus, '--instance')],
      memory: [inputSrc('instance.memoryMiB', instance.memoryMiB, '--instance')],
      disk: instance.iops !== undefined ? [inputSrc('instance.iops', instance.iops, '--instance')] : [],
      network: instance.mbps !== undefined ? [inputSrc('instance.mbps', instance.mbps, '--instance')] : [],
    },
  };
  const targetSrc = target !== null ? [inputSrc('target', target, '--target')] : [];

  const { profiles, warnings } = buildProfiles(results, sources);
  if (!profiles.some((p) => p.kind !== 'native'))
    warnings.push(
      `run ${results.runId} measured no container or VM backend: only the native baseline is shown ` +
        `(run with --backends native,container,vm to compare)`,
    );
  if (results.status !== 'complete')
    warnings.push(
      `run ${results.runId} is ${results.status}${results.statusReason ? ` (${results.statusReason})` : ''}: ` +
        `some figures may be missing`,
    );

  const backends: BackendPlan[] = profiles.map((p) => {
    const resources = evaluate(p, instance, inp);
    const best = scenario(resources, 'best', target);
    const expected = scenario(resources, 'value', target);
    const worst = scenario(resources, 'worst', target);
    const fs = fitSources(resources);
    const notes = [...p.notes];
    for (const r of RESOURCES)
      if (resources[r].status === 'not-measured')
        notes.push(`${r}: not measured in this run (cost taken as the native demand, optimistic)`);
    const emulated = p.accelerator === 'tcg';
    if (emulated) {
      const w =
        `${p.label} ran under TCG (emulation, no hardware virtualization): its CPU overhead describes ` +
        `emulation, and the CPU-bound VM figures do not transfer to a KVM host`;
      notes.push(w);
      warnings.push(w);
    }
    return {
      label: p.label,
      kind: p.kind,
      variant: p.variant,
      accelerator: p.accelerator,
      emulated,
      resources,
      best,
      expected,
      worst,
      instancesPerHost: {
        value: expected.instancesPerHost,
        best: best.instancesPerHost,
        worst: worst.instancesPerHost,
        unit: 'instances',
        sources: fs,
      },
      hostsNeeded:
        target === null
          ? null
          : {
              value: expected.hostsNeeded ?? Number.POSITIVE_INFINITY,
              best: best.hostsNeeded ?? Number.POSITIVE_INFINITY,
              worst: worst.hostsNeeded ?? Number.POSITIVE_INFINITY,
              unit: 'hosts',
              sources: uniq([...fs, ...targetSrc]),
            },
      notes,
    };
  });

  // Density ratio container:VM for every pair.
  const densityRatios: DensityRatio[] = [];
  const div = (a: number, b: number): number | null => (b > 0 ? a / b : null);
  for (const c of backends.filter((b) => b.kind === 'container')) {
    for (const v of backends.filter((b) => b.kind === 'vm')) {
      densityRatios.push({
        container: c.label,
        vm: v.label,
        expected: div(c.expected.instancesPerHost, v.expected.instancesPerHost),
        range: [
          div(c.worst.instancesPerHost, v.best.instancesPerHost),
          div(c.best.instancesPerHost, v.worst.instancesPerHost),
        ],
        sources: uniq([...c.instancesPerHost.sources, ...v.instancesPerHost.sources]),
      });
    }
  }

  // What-if sweep over instance memory.
  const sweepSizes = opts.sweepMiB ?? [...DEFAULT_SWEEP_MIB];
  const sweep: SweepRow[] = sweepSizes.map((m) => ({
    memoryMiB: m,
    backends: profiles.map((p) => {
      const res = evaluate(p, { ...instance, memoryMiB: m }, inp);
      const e = scenario(res, 'value', null);
      return {
        label: p.label,
        expected: e.instancesPerHost,
        best: scenario(res, 'best', null).instancesPerHost,
        worst: scenario(res, 'worst', null).instancesPerHost,
        binding: e.binding,
      };
    }),
  }));

  // Break-even: VM's extra fixed footprint vs a container (else native).
  const thresholdPct = opts.breakEvenPct ?? DEFAULT_BREAK_EVEN_PCT;
  if (!(thresholdPct > 0 && thresholdPct < 100))
    throw new IsobenchError('BAD_ARGS', `break-even threshold must be between 0 and 100 percent, got ${thresholdPct}`);
  const X = thresholdPct / 100;
  const breakEven: BreakEven[] = [];
  const refProfile =
    profiles.find((p) => p.kind === 'container' && p.footprintMiB) ?? profiles.find((p) => p.kind === 'native');
  for (const v of profiles.filter((p) => p.kind === 'vm')) {
    if (!v.footprintMiB || !refProfile) continue;
    const fv = v.footprintMiB;
    const fr = refProfile.kind === 'native' ? ZERO_MIB : refProfile.footprintMiB!;
    const extra = {
      value: Math.max(0, fv.value - fr.value),
      best: Math.max(0, fv.best - fr.worst),
      worst: Math.max(0, fv.worst - fr.best),
    };
    const be = (d: number, f: number): number => Math.max(0, d / X - f);
    const src = uniq([...fv.sources, ...fr.sources]);
    const loss = (d: number, f: number): number => (100 * d) / (instance.memoryMiB + f);
    breakEven.push({
      vm: v.label,
      reference: refProfile.label,
      thresholdPct,
      extraFootprintMiB: { ...extra, unit: 'MiB', sources: src },
      memoryMiB: {
        value: be(extra.value, fv.value),
        best: be(extra.best, fv.best),
        worst: be(extra.worst, fv.worst),
        unit: 'MiB',
        sources: src,
      },
      lossAtDemandPct: {
        value: loss(extra.value, fv.value),
        best: loss(extra.best, fv.best),
        worst: loss(extra.worst, fv.worst),
        unit: '%',
        sources: uniq([...src, ...inp.demandSources.memory]),
      },
    });
  }

  const runtimeClasses: RuntimeClassOverhead[] = profiles
    .filter((p) => p.kind !== 'native')
    .map((p) => runtimeClassFor(p, instance, inp.demandSources.cpu));

  const plan: CapacityPlan = {
    runId: results.runId,
    runStatus: results.status,
    host,
    instance,
    reserve,
    target,
    usable: inp.usable,
    backends,
    densityRatios,
    sweep,
    breakEven,
    runtimeClasses,
    warnings: uniq(warnings),
    sources: sources.table,
  };
  plan.sources = pruneSources(plan);
  return plan;
}
