/**
 * The capacity model: turns a run's measured overheads into "how many instances
 * fit on this host, each way, and how many hosts do we need". Pure: no I/O.
 * docs/capacity.md explains the same formulas for readers of the report.
 *
 * ── Inputs ──────────────────────────────────────────────────────────────────
 *   host      H = {cores, memoryGiB, diskIops?, netGbps?}
 *   reserve   R = {cores (default 1), memoryPct (default 4), memoryMiB (default 0)}
 *   demand    D = {vcpus, memoryMiB, iops?, mbps?}   (what one instance needs natively)
 *   run       overheads[] (ratio backend/native + 95% CI) and cells[] (footprint PSS)
 *
 * ── Usable host capacity (after the per-host reserve) ─────────────────────────
 *   U.cpu     = H.cores − R.cores                                       [cores]
 *   U.memory  = H.memoryGiB × 1024 × (1 − R.memoryPct/100) − R.memoryMiB [MiB]
 *   U.disk    = H.diskIops                                              [IOPS]
 *   U.network = H.netGbps × 1000                                        [Mbit/s]
 *
 * ── Overhead of a backend b ──────────────────────────────────────────────────
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
 * ── Per-instance host cost on backend b ───────────────────────────────────────
 *   C.cpu     = D.vcpus × k_cpu                     (= demand × overhead ratio)
 *   C.memory  = D.memoryMiB + F
 *   C.disk    = D.iops × k_disk                     (= demand ÷ (1 − overhead), overhead = 1 − r)
 *   C.network = D.mbps × k_net
 *   A resource constrains only when both the demand and the host capacity are given.
 *   A constraining resource whose overhead was not measured in this run uses k = 1 and is
 *   flagged "not measured in this run" (the figure is then optimistic).
 *
 * ── Instances per host, binding resource, hosts needed ───────────────────────
 *   fit_x = floor(U.x / C.x)           per constraining resource x
 *   N     = min_x fit_x                binding = argmin (all resources that tie)
 *   hosts = ceil(target / N)           (null when N = 0: the instance does not fit)
 *   best / expected / worst use (k_best, F_best) / (k, F) / (k_worst, F_worst).
 *   density ratio container:VM = N_container / N_vm; its range is
 *   [N_c,worst / N_vm,best, N_c,best / N_vm,worst].
 *
 * ── What-if sweep and break-even ─────────────────────────────────────────────
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
import type { BackendResult, Cell, MetricResult, Overhead, RunResults } from '../results/types.js';
import { IsobenchError } from '../errors.js';
import type { BackendKind } from '../backends/types.js';
import { runtimeClassHandler } from '../backends/providers/index.js';
import { differenceOfMeans, ratioOfMeans, summarize } from '../stats/index.js';
import { DEFAULT_RESERVE, type HostSpec, type InstanceDemand, type ReserveSpec } from './spec.js';

export type Resource = 'cpu' | 'memory' | 'disk' | 'network';
export const RESOURCES: readonly Resource[] = ['cpu', 'memory', 'disk', 'network'];

export const RESOURCE_UNITS: Record<Resource, string> = { cpu: 'cores', memory: 'MiB', disk: 'IOPS', network: 'Mbit/s' };

// ─── Metric lookup: the one place that knows metric names ─────────────────────

export interface MetricLookup {
  /** Tiers of candidates; the first tier with any measured match is used. */
  tiers: { workload: string; metric: RegExp }[][];
  /** Within a tier: take the first match in list order, or the most pessimistic one. */
  pick: 'first' | 'worst';
  /** Said when a fallback tier (not tier 0) is used. */
  fallbackNote?: string;
}

/**
 * Metric names the model relies on. A renamed metric needs one edit here.
 */
export const METRIC_LOOKUP: { cpu: MetricLookup; footprint: MetricLookup; disk: MetricLookup; network: MetricLookup } = {
  cpu: {
    tiers: [
      [{ workload: 'cpu', metric: /^sysbench-events-nt$/ }],
      [{ workload: 'cpu', metric: /^sysbench-events-1t$/ }],
      [{ workload: 'cpu', metric: /^sysbench-events/ }, { workload: 'cpu', metric: /events/i }],
    ],
    pick: 'first',
    fallbackNote: 'multi-thread CPU metric sysbench-events-nt not measured; used a single-thread/other CPU metric',
  },
  footprint: {
    tiers: [
      [{ workload: 'footprint', metric: /^pss-mib$/ }],
      [{ workload: 'footprint', metric: /pss/i }],
      [{ workload: 'density', metric: /^marginal-pss-mib$/ }, { workload: 'density', metric: /marginal.*pss/i }],
      [{ workload: 'footprint', metric: /^rss-mib$/ }, { workload: 'footprint', metric: /^cgroup-mib$/ }],
    ],
    pick: 'first',
    fallbackNote: 'idle-instance PSS (footprint/pss-mib) not measured; used another memory figure',
  },
  disk: {
    tiers: [[{ workload: 'disk', metric: /-iops$/i }], [{ workload: 'disk', metric: /iops/i }]],
    pick: 'worst',
  },
  network: {
    // Throughput only (rr-rtt-* latencies are not capacity): tcp-mbps-up/down, tcp-{to,from}-instance-gbps.
    tiers: [[{ workload: 'network', metric: /^tcp-.*(mbps|gbps)$/i }], [{ workload: 'network', metric: /(mbps|gbps)/i }]],
    pick: 'worst',
  },
};

// ─── Plan types ───────────────────────────────────────────────────────────────

export type SourceRef =
  | {
      id: string;
      kind: 'measured';
      runId: string;
      backend: string;
      workload: string;
      metric: string;
      unit: string;
      /** Which statistic was read: an overhead entry's ratio + CI, or a cell's mean + the t CI of the mean. */
      stat: 'overhead.ratio' | 'summary.mean';
      value: number;
      ci95: [number, number];
      n: number | null;
      rawLogs: string[];
    }
  | {
      id: string;
      kind: 'derived';
      /** Ratio computed from two cell summaries because results.overheads has no entry. */
      runId: string;
      backend: string;
      workload: string;
      metric: string;
      unit: string;
      stat: 'ratio-of-means' | 'difference-of-means';
      value: number;
      ci95: [number, number];
      from: string[];
    }
  | { id: string; kind: 'input'; field: string; value: number; origin: string }
  | { id: string; kind: 'default'; field: string; value: number; note: string };

/** A number with its uncertainty and where it came from. */
export interface Figure {
  value: number;
  best: number;
  worst: number;
  unit: string;
  /** Ids into CapacityPlan.sources. */
  sources: string[];
}

export interface ResourceCost {
  resource: Resource;
  /** The instance's native demand (null: not given). */
  demand: number | null;
  /** Usable host capacity after the reserve (null: not given). */
  usable: number | null;
  /** Cost factor k (cpu/disk/network) or footprint F in MiB (memory). */
  overhead: Figure | null;
  /** Per-instance host cost. */
  cost: Figure | null;
  /** floor(usable / cost). */
  fit: Figure | null;
  status: 'measured' | 'not-measured' | 'not-constrained' | 'baseline';
  note?: string;
}

export interface ScenarioFit {
  instancesPerHost: number;
  binding: Resource[];
  hostsNeeded: number | null;
}

export interface BackendProfile {
  label: string;
  kind: BackendKind;
  variant: string;
  accelerator: string;
  /** Cost factors (cpu, disk, network) and the footprint (memory) of this backend. */
  cpu: Figure | null;
  disk: Figure | null;
  network: Figure | null;
  footprintMiB: Figure | null;
  /**
   * Container engines: the daemon's own memory (dockerd + containerd, measured with no container running), a
   * per-host fixed cost taken from the usable memory once. Undefined for daemonless backends.
   */
  engineFixedMiB?: Figure;
  /** Container engines: mean PSS of the per-container helper (conmon, shim), already inside footprintMiB. */
  engineHelperMiB?: number;
  notes: string[];
}

export interface BackendPlan {
  label: string;
  kind: BackendKind;
  variant: string;
  accelerator: string;
  /** True when the accelerator is TCG (emulation): CPU figures do not transfer to KVM hosts. */
  emulated: boolean;
  resources: Record<Resource, ResourceCost>;
  best: ScenarioFit;
  expected: ScenarioFit;
  worst: ScenarioFit;
  instancesPerHost: Figure;
  hostsNeeded: Figure | null;
  notes: string[];
}

export interface DensityRatio {
  container: string;
  vm: string;
  /** N_container / N_vm (expected); null when the VM fits 0. */
  expected: number | null;
  /** [N_c,worst/N_vm,best, N_c,best/N_vm,worst]. */
  range: [number | null, number | null];
  sources: string[];
}

export interface SweepRow {
  memoryMiB: number;
  backends: { label: string; expected: number; best: number; worst: number; binding: Resource[] }[];
}

export interface BreakEven {
  vm: string;
  reference: string;
  thresholdPct: number;
  /** Smallest instance memory (MiB) at which the VM's extra fixed footprint costs ≤ threshold of memory capacity. */
  memoryMiB: Figure;
  /** Extra fixed footprint F_vm − F_ref (MiB). */
  extraFootprintMiB: Figure;
  /** Memory-capacity loss L(m) at the requested instance size, in percent. */
  lossAtDemandPct: Figure;
}

export interface RuntimeClassOverhead {
  backend: string;
  name: string;
  handler: string;
  handlerIsGuess: boolean;
  /** Upper CI end of the footprint, rounded up (Mi). null: not measured. */
  memoryMi: number | null;
  memoryExpectedMi: number | null;
  /** Upper CI end of the CPU overhead for D.vcpus, rounded up (millicores). null: not measured / unbounded. */
  cpuMillicores: number | null;
  cpuExpectedMillicores: number | null;
  sources: string[];
  notes: string[];
}

export interface CapacityPlan {
  runId: string;
  runStatus: string;
  host: HostSpec;
  instance: InstanceDemand;
  reserve: ReserveSpec;
  target: number | null;
  usable: Record<Resource, number | null>;
  backends: BackendPlan[];
  densityRatios: DensityRatio[];
  sweep: SweepRow[];
  breakEven: BreakEven[];
  runtimeClasses: RuntimeClassOverhead[];
  warnings: string[];
  sources: Record<string, SourceRef>;
}

export interface PlanOptions {
  host: HostSpec;
  instance: InstanceDemand;
  target?: number;
  /** Overrides the profile's reserve and the defaults, field by field. */
  reserve?: Partial<ReserveSpec>;
  /** Memory sizes (MiB) for the what-if sweep. */
  sweepMiB?: number[];
  /** Break-even threshold in percent (default 5). */
  breakEvenPct?: number;
}

export const DEFAULT_SWEEP_MIB: readonly number[] = [128, 256, 512, 1024, 2048, 4096, 8192, 16384];
export const DEFAULT_BREAK_EVEN_PCT = 5;

// ─── Source registry ──────────────────────────────────────────────────────────

type SourceInit = SourceRef extends infer S ? (S extends SourceRef ? Omit<S, 'id'> : never) : never;

class Sources {
  readonly table: Record<string, SourceRef> = {};
  private n = 0;
  private readonly byKey = new Map<string, string>();
  add(s: SourceInit, id?: string): string {
    const key = JSON.stringify(s);
    const known = this.byKey.get(key);
    if (known) return known;
    const sid = id ?? `m${++this.n}`;
    this.table[sid] = { id: sid, ...s } as SourceRef;
    this.byKey.set(key, sid);
    return sid;
  }
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

// ─── Reading the run ──────────────────────────────────────────────────────────

/** Does a backend name used in cells/overheads refer to this backend? */
function sameBackend(name: string, b: BackendResult, all: BackendResult[]): boolean {
  if (name === b.label) return true;
  if (name === `${b.kind}:${b.variant}`) return true;
  if (name === b.kind) return all.filter((x) => x.kind === b.kind).length === 1;
  return false;
}

function cellsOf(results: RunResults, b: BackendResult): Cell[] {
  return results.cells.filter((c) => sameBackend(c.backend, b, results.backends));
}

interface MetricStat {
  mean: number;
  /** 95% t CI of the mean (src/stats summarize). */
  ci95: [number, number];
  n: number | null;
  values: number[];
  unit: string;
  higherIsBetter: boolean;
  rawLogs: string[];
  metric: string;
  workload: string;
  backendName: string;
}

function metricStat(cell: Cell, m: MetricResult): MetricStat | null {
  const values = (m.values ?? []).filter((v) => Number.isFinite(v));
  const s = summarize(values);
  if (!s) return null;
  return {
    mean: s.mean,
    // One value has no interval: its range is the value itself (the figure is then flagged by n=1).
    ci95: s.n > 1 ? s.ci95 : [s.mean, s.mean],
    n: s.n,
    values,
    unit: m.unit,
    higherIsBetter: m.higherIsBetter,
    rawLogs: m.rawLogs ?? [],
    metric: m.metric,
    workload: cell.workload,
    backendName: cell.backend,
  };
}

function findStat(results: RunResults, b: BackendResult, workload: string, metric: string): MetricStat | null {
  for (const c of cellsOf(results, b)) {
    if (c.workload !== workload) continue;
    for (const m of c.metrics ?? []) {
      if (m.metric === metric) {
        const s = metricStat(c, m);
        if (s) return s;
      }
    }
  }
  return null;
}

/** Metric names measured for this backend in a workload (from cells and overheads). */
function metricNames(results: RunResults, b: BackendResult, workload: string): string[] {
  const names: string[] = [];
  for (const c of cellsOf(results, b)) if (c.workload === workload) for (const m of c.metrics ?? []) names.push(m.metric);
  for (const o of results.overheads) if (o.workload === workload && sameBackend(o.backend, b, results.backends)) names.push(o.metric);
  return uniq(names);
}

interface Ctx {
  results: RunResults;
  native: BackendResult | undefined;
  sources: Sources;
}

/** Cost factor k with CI for one (backend, workload, metric), or null when not measured. */
function costFactor(ctx: Ctx, b: BackendResult, workload: string, metric: string): Figure | null {
  const { results, sources } = ctx;
  const ov: Overhead | undefined = results.overheads.find(
    (o) => o.workload === workload && o.metric === metric && sameBackend(o.backend, b, results.backends),
  );
  if (ov?.implausible) return null; // a flagged figure never feeds capacity (src/stats/plausibility.ts)
  let ratio: number;
  let ci: [number, number];
  let hib: boolean;
  let sid: string;
  if (ov && Number.isFinite(ov.ratio) && ov.ratio > 0) {
    ratio = ov.ratio;
    ci = ov.ratioCi95 && ov.ratioCi95.every(Number.isFinite) ? [Math.min(...ov.ratioCi95), Math.max(...ov.ratioCi95)] : [ratio, ratio];
    hib = ov.higherIsBetter;
    const stat = findStat(results, b, workload, metric);
    sid = sources.add({
      kind: 'measured',
      runId: results.runId,
      backend: ov.backend,
      workload,
      metric,
      unit: ov.unit,
      stat: 'overhead.ratio',
      value: ratio,
      ci95: ci,
      n: stat?.n ?? null,
      rawLogs: stat?.rawLogs ?? [],
    });
  } else {
    if (!ctx.native) return null;
    const bs = findStat(results, b, workload, metric);
    const ns = findStat(results, ctx.native, workload, metric);
    const r = bs && ns ? ratioOfMeans(ns.values, bs.values) : null;
    if (!bs || !ns || !r || !Number.isFinite(r.ci95[0]) || !Number.isFinite(r.ci95[1])) return null;
    ratio = r.ratio;
    ci = r.ci95;
    hib = bs.higherIsBetter;
    const fromB = sources.add(measuredMean(results.runId, bs));
    const fromN = sources.add(measuredMean(results.runId, ns));
    sid = sources.add({
      kind: 'derived',
      runId: results.runId,
      backend: bs.backendName,
      workload,
      metric,
      unit: 'ratio',
      stat: 'ratio-of-means',
      value: ratio,
      ci95: ci,
      from: [fromB, fromN],
    });
  }
  const inv = (x: number): number => (x > 0 ? 1 / x : Number.POSITIVE_INFINITY);
  let value: number;
  let best: number;
  let worst: number;
  if (hib) {
    value = Math.max(1, inv(ratio));
    best = Math.max(1, inv(ci[1]));
    worst = Math.max(1, inv(ci[0]));
  } else {
    value = Math.max(1, ratio);
    best = Math.max(1, ci[0]);
    worst = Math.max(1, ci[1]);
  }
  return { value, best: Math.min(best, value), worst: Math.max(worst, value), unit: '×', sources: [sid] };
}

function measuredMean(runId: string, s: MetricStat): SourceInit {
  return {
    kind: 'measured',
    runId,
    backend: s.backendName,
    workload: s.workload,
    metric: s.metric,
    unit: s.unit,
    stat: 'summary.mean',
    value: s.mean,
    ci95: s.ci95,
    n: s.n,
    rawLogs: s.rawLogs,
  };
}

/** Candidates (workload, metric) measured for b, tier by tier. */
function candidates(ctx: Ctx, b: BackendResult, lookup: MetricLookup): { tier: number; list: { workload: string; metric: string }[] }[] {
  const out: { tier: number; list: { workload: string; metric: string }[] }[] = [];
  lookup.tiers.forEach((tier, i) => {
    const list: { workload: string; metric: string }[] = [];
    for (const cand of tier) {
      for (const name of metricNames(ctx.results, b, cand.workload)) {
        if (cand.metric.test(name) && !list.some((x) => x.workload === cand.workload && x.metric === name)) list.push({ workload: cand.workload, metric: name });
      }
    }
    if (list.length > 0) out.push({ tier: i, list });
  });
  return out;
}

function lookupFactor(ctx: Ctx, b: BackendResult, lookup: MetricLookup, notes: string[]): Figure | null {
  for (const { tier, list } of candidates(ctx, b, lookup)) {
    const figs = list.map((c) => ({ c, f: costFactor(ctx, b, c.workload, c.metric) })).filter((x): x is { c: { workload: string; metric: string }; f: Figure } => x.f !== null);
    if (figs.length === 0) continue;
    const chosen = lookup.pick === 'first' ? figs[0]! : figs.reduce((a, x) => (x.f.value > a.f.value ? x : a));
    if (tier > 0 && lookup.fallbackNote) notes.push(`${lookup.fallbackNote} (${chosen.c.workload}/${chosen.c.metric})`);
    return chosen.f;
  }
  return null;
}

function lookupFootprint(ctx: Ctx, b: BackendResult, notes: string[]): Figure | null {
  const { results, sources } = ctx;
  for (const { tier, list } of candidates(ctx, b, METRIC_LOOKUP.footprint)) {
    for (const c of list) {
      const bs = findStat(results, b, c.workload, c.metric);
      if (!bs) continue;
      const sid = sources.add(measuredMean(results.runId, bs));
      const ns = ctx.native ? findStat(results, ctx.native, c.workload, c.metric) : null;
      // Difference of means with its Welch CI (src/stats), the estimator the report shows.
      const d = ns ? differenceOfMeans(ns.values, bs.values) : null;
      const diff = d ? d.diff : bs.mean;
      const dci: [number, number] = d && Number.isFinite(d.ci95[0]) && Number.isFinite(d.ci95[1]) ? d.ci95 : ns ? [bs.ci95[0] - ns.ci95[1], bs.ci95[1] - ns.ci95[0]] : bs.ci95;
      const ids = [sid];
      if (ns) ids.push(sources.add(measuredMean(results.runId, ns)));
      else notes.push(`native ${c.workload}/${c.metric} not measured in this run: the native baseline is taken as 0 MiB (overstates the footprint by the idle process's own size)`);
      if (tier > 0) notes.push(`${METRIC_LOOKUP.footprint.fallbackNote} (${c.workload}/${c.metric})${/rss|cgroup/i.test(c.metric) ? ': RSS/cgroup usage counts shared pages fully, so this overstates the per-instance cost' : ''}`);
      const value = Math.max(0, diff);
      const best = Math.max(0, Math.min(value, dci[0]));
      const worst = Math.max(value, dci[1]);
      return { value, best, worst, unit: 'MiB', sources: ids };
    }
  }
  return null;
}

/** What a container engine adds beyond its per-instance footprint, from the run (BackendResult.details, footprint cells). */
function engineCosts(ctx: Ctx, b: BackendResult, notes: string[]): Pick<BackendProfile, 'engineFixedMiB' | 'engineHelperMiB'> {
  const out: Pick<BackendProfile, 'engineFixedMiB' | 'engineHelperMiB'> = {};
  const daemon = (b.details as { engineDaemon?: { pssBytes?: unknown } } | undefined)?.engineDaemon;
  if (daemon && typeof daemon.pssBytes === 'number' && daemon.pssBytes > 0) {
    const mib = daemon.pssBytes / 2 ** 20;
    const id = ctx.sources.add({
      kind: 'measured',
      runId: ctx.results.runId,
      backend: b.label,
      workload: 'engine-daemon',
      metric: 'pss-mib',
      unit: 'MiB',
      stat: 'summary.mean',
      value: mib,
      ci95: [mib, mib],
      n: 1,
      rawLogs: [],
    });
    out.engineFixedMiB = { value: mib, best: mib, worst: mib, unit: 'MiB', sources: [id] };
    notes.push(`engine daemon ${mib.toFixed(1)} MiB PSS (one measurement, no container running): a per-host fixed cost, taken from the usable memory once`);
  }
  const helper = findStat(ctx.results, b, 'footprint', 'helper-pss-mib');
  if (helper) {
    out.engineHelperMiB = helper.mean;
    notes.push(`the footprint includes the engine's per-container helper (conmon / containerd-shim-runc-v2): ${helper.mean.toFixed(1)} MiB PSS`);
  }
  return out;
}

// ─── The model ────────────────────────────────────────────────────────────────

const EPS = 1e-9;

function fitCount(usable: number, cost: number): number {
  if (!(cost > 0)) return Number.POSITIVE_INFINITY;
  if (!Number.isFinite(cost)) return 0;
  return Math.max(0, Math.floor(usable / cost + EPS));
}

function buildProfiles(results: RunResults, sources: Sources): { profiles: BackendProfile[]; warnings: string[] } {
  const natives = results.backends.filter((b) => b.kind === 'native');
  const native = natives[0];
  const ctx: Ctx = { results, native, sources };
  const warnings: string[] = [];
  if (!native) warnings.push('no native backend in this run: overheads come from results.overheads only and the native footprint is taken as 0 MiB');
  const profiles: BackendProfile[] = [];
  for (const b of results.backends) {
    const notes: string[] = [];
    if (b.error) notes.push(`backend failed in this run: ${b.error}`);
    if (b.kind === 'native') {
      profiles.push({ label: b.label, kind: b.kind, variant: b.variant, accelerator: b.accelerator, cpu: null, disk: null, network: null, footprintMiB: null, notes });
      continue;
    }
    profiles.push({
      label: b.label,
      kind: b.kind,
      variant: b.variant,
      accelerator: b.accelerator,
      cpu: lookupFactor(ctx, b, METRIC_LOOKUP.cpu, notes),
      disk: lookupFactor(ctx, b, METRIC_LOOKUP.disk, notes),
      network: lookupFactor(ctx, b, METRIC_LOOKUP.network, notes),
      footprintMiB: lookupFootprint(ctx, b, notes),
      ...engineCosts(ctx, b, notes),
      notes,
    });
  }
  return { profiles, warnings };
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
        ? { value: dem + ov.value, best: dem + ov.best, worst: dem + ov.worst, unit: RESOURCE_UNITS[r], sources: costSources }
        : { value: dem * ov.value, best: dem * ov.best, worst: dem * ov.worst, unit: RESOURCE_UNITS[r], sources: costSources };
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

function scenario(res: Record<Resource, ResourceCost>, which: 'value' | 'best' | 'worst', target: number | null): ScenarioFit {
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
  return { instancesPerHost, binding, hostsNeeded: target === null ? null : instancesPerHost > 0 ? Math.ceil(target / instancesPerHost) : null };
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
  const inputSrc = (field: string, value: number, origin = host.source): string => sources.add({ kind: 'input', field, value, origin }, field);
  const reserveSrc = (k: keyof ReserveSpec): string =>
    reserveOrigin(k) === 'default'
      ? sources.add({ kind: 'default', field: `reserve.${k}`, value: reserve[k], note: 'default per-host reserve' }, `reserve.${k}`)
      : sources.add({ kind: 'input', field: `reserve.${k}`, value: reserve[k], origin: opts.reserve?.[k] !== undefined ? '--reserve' : host.source }, `reserve.${k}`);

  const usableCpu = host.cores - reserve.cores;
  const usableMem = host.memoryGiB * 1024 * (1 - reserve.memoryPct / 100) - reserve.memoryMiB;
  if (!(usableCpu > 0)) throw new IsobenchError('BAD_ARGS', `the reserve (${reserve.cores} cores) leaves no cores of the host's ${host.cores}: lower reserve.cores or give a bigger host`);
  if (!(usableMem > 0)) throw new IsobenchError('BAD_ARGS', `the reserve (${reserve.memoryPct}% + ${reserve.memoryMiB} MiB) leaves no memory of the host's ${host.memoryGiB} GiB: lower the memory reserve`);

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
  if (!profiles.some((p) => p.kind !== 'native')) warnings.push(`run ${results.runId} measured no container or VM backend: only the native baseline is shown (run with --backends native,container,vm to compare)`);
  if (results.status !== 'complete') warnings.push(`run ${results.runId} is ${results.status}${results.statusReason ? ` (${results.statusReason})` : ''}: some figures may be missing`);

  const backends: BackendPlan[] = profiles.map((p) => {
    const resources = evaluate(p, instance, inp);
    const best = scenario(resources, 'best', target);
    const expected = scenario(resources, 'value', target);
    const worst = scenario(resources, 'worst', target);
    const fs = fitSources(resources);
    const notes = [...p.notes];
    for (const r of RESOURCES) if (resources[r].status === 'not-measured') notes.push(`${r}: not measured in this run (cost taken as the native demand, optimistic)`);
    const emulated = p.accelerator === 'tcg';
    if (emulated) {
      const w = `${p.label} ran under TCG (emulation, no hardware virtualization): its CPU overhead describes emulation, and the CPU-bound VM figures do not transfer to a KVM host`;
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
      instancesPerHost: { value: expected.instancesPerHost, best: best.instancesPerHost, worst: worst.instancesPerHost, unit: 'instances', sources: fs },
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
        range: [div(c.worst.instancesPerHost, v.best.instancesPerHost), div(c.best.instancesPerHost, v.worst.instancesPerHost)],
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
      return { label: p.label, expected: e.instancesPerHost, best: scenario(res, 'best', null).instancesPerHost, worst: scenario(res, 'worst', null).instancesPerHost, binding: e.binding };
    }),
  }));

  // Break-even: VM's extra fixed footprint vs a container (else native).
  const thresholdPct = opts.breakEvenPct ?? DEFAULT_BREAK_EVEN_PCT;
  if (!(thresholdPct > 0 && thresholdPct < 100)) throw new IsobenchError('BAD_ARGS', `break-even threshold must be between 0 and 100 percent, got ${thresholdPct}`);
  const X = thresholdPct / 100;
  const breakEven: BreakEven[] = [];
  const refProfile = profiles.find((p) => p.kind === 'container' && p.footprintMiB) ?? profiles.find((p) => p.kind === 'native');
  for (const v of profiles.filter((p) => p.kind === 'vm')) {
    if (!v.footprintMiB || !refProfile) continue;
    const fv = v.footprintMiB;
    const fr = refProfile.kind === 'native' ? ZERO_MIB : refProfile.footprintMiB!;
    const extra = { value: Math.max(0, fv.value - fr.value), best: Math.max(0, fv.best - fr.worst), worst: Math.max(0, fv.worst - fr.best) };
    const be = (d: number, f: number): number => Math.max(0, d / X - f);
    const src = uniq([...fv.sources, ...fr.sources]);
    const loss = (d: number, f: number): number => (100 * d) / (instance.memoryMiB + f);
    breakEven.push({
      vm: v.label,
      reference: refProfile.label,
      thresholdPct,
      extraFootprintMiB: { ...extra, unit: 'MiB', sources: src },
      memoryMiB: { value: be(extra.value, fv.value), best: be(extra.best, fv.best), worst: be(extra.worst, fv.worst), unit: 'MiB', sources: src },
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

/** Keep only the sources the plan cites (candidates looked at but not chosen are dropped). */
function pruneSources(plan: CapacityPlan): Record<string, SourceRef> {
  const used = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'sources' && Array.isArray(v)) for (const id of v) used.add(String(id));
        else walk(v);
      }
    }
  };
  walk({ ...plan, sources: undefined });
  for (const id of [...used]) {
    const s = plan.sources[id];
    if (s?.kind === 'derived') s.from.forEach((f) => used.add(f));
  }
  // Renumber the measured ids m1..mk in table order so the listing has no gaps.
  const rename = new Map<string, string>();
  let n = 0;
  for (const id of Object.keys(plan.sources)) if (used.has(id) && /^m\d+$/.test(id)) rename.set(id, `m${++n}`);
  const re = (id: string): string => rename.get(id) ?? id;
  const rewrite = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(rewrite);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      for (const [k, v] of Object.entries(o)) {
        if (k === 'sources' && Array.isArray(v)) o[k] = v.map((id) => re(String(id)));
        else rewrite(v);
      }
    }
  };
  rewrite({ ...plan, sources: undefined });
  const out: Record<string, SourceRef> = {};
  for (const [id, s] of Object.entries(plan.sources)) {
    if (!used.has(id)) continue;
    const nid = re(id);
    out[nid] = s.kind === 'derived' ? { ...s, id: nid, from: s.from.map(re) } : { ...s, id: nid };
  }
  return out;
}

function runtimeClassFor(p: BackendProfile, d: InstanceDemand, cpuDemandSources: string[]): RuntimeClassOverhead {
  const notes: string[] = [];
  // The provider of the measured backend names its Kubernetes runtime handler (or says it is a guess).
  const { handler, guess } = runtimeClassHandler(p.kind, p.variant);
  const name = `isobench-${p.label}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/-$/, '');
  let cpuMillicores: number | null = null;
  let cpuExpected: number | null = null;
  if (p.cpu) {
    if (Number.isFinite(p.cpu.worst)) cpuMillicores = Math.ceil(d.vcpus * (p.cpu.worst - 1) * 1000 - EPS);
    else notes.push('CPU overhead CI is unbounded (ratio CI reaches 0): no cpu figure');
    cpuExpected = Math.ceil(d.vcpus * (p.cpu.value - 1) * 1000 - EPS);
  } else notes.push('CPU overhead not measured in this run: no cpu figure');
  if (!p.footprintMiB) notes.push('idle-instance footprint not measured in this run: no memory figure');
  if (p.accelerator === 'tcg') notes.push('TCG (emulation): the cpu figure describes emulation; do not use it on a KVM host');
  if (p.engineHelperMiB !== undefined) notes.push(`memory includes the engine's per-container helper (${p.engineHelperMiB.toFixed(1)} MiB PSS), which a pod also carries (containerd-shim under CRI)`);
  if (p.engineFixedMiB) notes.push(`the engine daemon's ${p.engineFixedMiB.value.toFixed(1)} MiB is per node, not per pod: reserve it in the kubelet's system-reserved, not in podFixed`);
  return {
    backend: p.label,
    name,
    handler,
    handlerIsGuess: guess,
    memoryMi: p.footprintMiB ? Math.ceil(p.footprintMiB.worst - EPS) : null,
    memoryExpectedMi: p.footprintMiB ? Math.ceil(p.footprintMiB.value - EPS) : null,
    cpuMillicores,
    cpuExpectedMillicores: cpuExpected,
    sources: uniq([...(p.footprintMiB?.sources ?? []), ...(p.cpu ? [...p.cpu.sources, ...cpuDemandSources] : [])]),
    notes,
  };
}
