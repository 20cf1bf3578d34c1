/**
 * Reading a run for the capacity model: which metrics stand for CPU, memory,
 * disk and network (metricLookup, from each workload's declared capacity metrics),
 * and each backend's profile from them: cost factors k with their CIs, the
 * idle-instance footprint F and an engine's extra costs, each with its sources.
 */
import type { BackendResult, Cell, MetricResult, Overhead, RunResults } from '../results/types.js';
import { difference, overhead, summarize } from '../stats/index.js';
import type { BackendProfile, Figure } from './plan-types.js';
import { type Sources, uniq, type SourceInit } from './sources.js';
import { workloadDeclarations, type CapacityDecl } from '../core/declarations.js';
import '../workloads/index.js';

// --- Metric lookup: from the workloads' declarations ---------------------

export interface MetricLookup {
  /** Tiers of candidates; the first tier with any measured match is used. */
  tiers: { workload: string; metric: RegExp }[][];
  /** Within a tier: take the first match in list order, or the most pessimistic one. */
  pick: 'first' | 'worst';
  /** Said when a fallback tier (not tier 0) is used. */
  fallbackNote?: string;
}

type Resource = CapacityDecl['resource'];

/** What the model does with a resource's candidates; which metrics they are, each workload declares. */
const RESOURCE_RULES: Record<Resource, Pick<MetricLookup, 'pick' | 'fallbackNote'>> = {
  cpu: {
    pick: 'first',
    fallbackNote:
      "the CPU workload's first-choice metric (multi-thread) not measured; used a single-thread/other CPU metric",
  },
  footprint: { pick: 'first', fallbackNote: 'idle-instance PSS not measured; used another memory figure' },
  disk: { pick: 'worst' },
  network: { pick: 'worst' },
};

/**
 * The candidates for a resource: every workload's declared capacity metrics
 * (src/core/declarations.ts), merged tier by tier. A renamed metric needs one
 * edit, in its workload's declaration.
 */
export function metricLookup(resource: Resource): MetricLookup {
  const byTier = new Map<number, { workload: string; metric: RegExp }[]>();
  for (const d of workloadDeclarations())
    for (const c of d.capacity ?? [])
      if (c.resource === resource)
        for (const t of c.tiers)
          byTier.set(t.tier, [
            ...(byTier.get(t.tier) ?? []),
            ...t.metrics.map((metric) => ({ workload: d.name, metric })),
          ]);
  const tiers = [...byTier.entries()].sort((x, y) => x[0] - y[0]).map(([, list]) => list);
  return { tiers, ...RESOURCE_RULES[resource] };
}

// --- Reading the run ----------------------------------------------------------

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
  /** Round of each value (pairs it with native's value of the same round), when the run recorded them. */
  repetitions?: number[];
  unit: string;
  higherIsBetter: boolean;
  rawLogs: string[];
  metric: string;
  workload: string;
  backendName: string;
}

function metricStat(cell: Cell, m: MetricResult): MetricStat | null {
  const all = m.values ?? [];
  const values = all.filter((v) => Number.isFinite(v));
  const s = summarize(values);
  if (!s) return null;
  const reps =
    Array.isArray(m.repetitions) && m.repetitions.length === all.length
      ? m.repetitions.filter((_, i) => Number.isFinite(all[i]))
      : undefined;
  return {
    mean: s.mean,
    // One value has no interval: its range is the value itself (the figure is then flagged by n=1).
    ci95: s.n > 1 ? s.ci95 : [s.mean, s.mean],
    n: s.n,
    values,
    ...(reps ? { repetitions: reps } : {}),
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
  for (const c of cellsOf(results, b))
    if (c.workload === workload) for (const m of c.metrics ?? []) names.push(m.metric);
  for (const o of results.overheads)
    if (o.workload === workload && sameBackend(o.backend, b, results.backends)) names.push(o.metric);
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
    ci =
      ov.ratioCi95 && ov.ratioCi95.every(Number.isFinite)
        ? [Math.min(...ov.ratioCi95), Math.max(...ov.ratioCi95)]
        : [ratio, ratio];
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
    // The run's estimator: paired by round when both carry their rounds, else the ratio of means.
    const o = bs && ns ? overhead(ns, bs, bs.higherIsBetter) : null;
    const r = o ? { ratio: o.ratio, ci95: o.ratioCi95, design: o.design } : null;
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
      stat: r.design === 'paired' ? 'paired-ratio' : 'ratio-of-means',
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
function candidates(
  ctx: Ctx,
  b: BackendResult,
  lookup: MetricLookup,
): { tier: number; list: { workload: string; metric: string }[] }[] {
  const out: { tier: number; list: { workload: string; metric: string }[] }[] = [];
  lookup.tiers.forEach((tier, i) => {
    const list: { workload: string; metric: string }[] = [];
    for (const cand of tier) {
      for (const name of metricNames(ctx.results, b, cand.workload)) {
        if (cand.metric.test(name) && !list.some((x) => x.workload === cand.workload && x.metric === name))
          list.push({ workload: cand.workload, metric: name });
      }
    }
    if (list.length > 0) out.push({ tier: i, list });
  });
  return out;
}

function lookupFactor(ctx: Ctx, b: BackendResult, lookup: MetricLookup, notes: string[]): Figure | null {
  for (const { tier, list } of candidates(ctx, b, lookup)) {
    const figs = list
      .map((c) => ({ c, f: costFactor(ctx, b, c.workload, c.metric) }))
      .filter((x): x is { c: { workload: string; metric: string }; f: Figure } => x.f !== null);
    if (figs.length === 0) continue;
    const chosen = lookup.pick === 'first' ? figs[0]! : figs.reduce((a, x) => (x.f.value > a.f.value ? x : a));
    if (tier > 0 && lookup.fallbackNote) notes.push(`${lookup.fallbackNote} (${chosen.c.workload}/${chosen.c.metric})`);
    return chosen.f;
  }
  return null;
}

function lookupFootprint(ctx: Ctx, b: BackendResult, notes: string[]): Figure | null {
  const { results, sources } = ctx;
  for (const { tier, list } of candidates(ctx, b, metricLookup('footprint'))) {
    for (const c of list) {
      const bs = findStat(results, b, c.workload, c.metric);
      if (!bs) continue;
      const sid = sources.add(measuredMean(results.runId, bs));
      const ns = ctx.native ? findStat(results, ctx.native, c.workload, c.metric) : null;
      // The run's estimator (src/stats), as the report shows it: paired per round when both carry their rounds.
      const pd = ns ? difference(ns, bs, false, Number.POSITIVE_INFINITY) : null;
      const d = pd ? { diff: pd.diff, ci95: pd.ci95 } : null;
      const diff = d ? d.diff : bs.mean;
      const dci: [number, number] =
        d && Number.isFinite(d.ci95[0]) && Number.isFinite(d.ci95[1])
          ? d.ci95
          : ns
            ? [bs.ci95[0] - ns.ci95[1], bs.ci95[1] - ns.ci95[0]]
            : bs.ci95;
      const ids = [sid];
      if (ns) ids.push(sources.add(measuredMean(results.runId, ns)));
      else
        notes.push(
          `native ${c.workload}/${c.metric} not measured in this run: the native baseline is taken as 0 MiB ` +
            `(overstates the footprint by the idle process's own size)`,
        );
      if (tier > 0)
        notes.push(
          `${metricLookup('footprint').fallbackNote} (${c.workload}/${c.metric})` +
            (/rss|cgroup/i.test(c.metric)
              ? ': RSS/cgroup usage counts shared pages fully, so this overstates the per-instance cost'
              : ''),
        );
      const value = Math.max(0, diff);
      const best = Math.max(0, Math.min(value, dci[0]));
      const worst = Math.max(value, dci[1]);
      return { value, best, worst, unit: 'MiB', sources: ids };
    }
  }
  return null;
}

/**
 * What a container engine adds beyond its per-instance footprint, from the run (BackendResult.details, footprint
 * cells).
 */
function engineCosts(
  ctx: Ctx,
  b: BackendResult,
  notes: string[],
): Pick<BackendProfile, 'engineFixedMiB' | 'engineHelperMiB'> {
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
    notes.push(
      `engine daemon ${mib.toFixed(1)} MiB PSS (one measurement, no container running): a per-host fixed cost, ` +
        `taken from the usable memory once`,
    );
  }
  const helper = findStat(ctx.results, b, 'footprint', 'helper-pss-mib');
  if (helper) {
    out.engineHelperMiB = helper.mean;
    notes.push(
      `the footprint includes the engine's per-container helper (conmon / containerd-shim-runc-v2): ` +
        `${helper.mean.toFixed(1)} MiB PSS`,
    );
  }
  return out;
}

export function buildProfiles(
  results: RunResults,
  sources: Sources,
): { profiles: BackendProfile[]; warnings: string[] } {
  const natives = results.backends.filter((b) => b.kind === 'native');
  const native = natives[0];
  const ctx: Ctx = { results, native, sources };
  const warnings: string[] = [];
  if (!native)
    warnings.push(
      'no native backend in this run: ' +
        'overheads come from results.overheads only and the native footprint is taken as 0 MiB',
    );
  const profiles: BackendProfile[] = [];
  for (const b of results.backends) {
    const notes: string[] = [];
    if (b.error) notes.push(`backend failed in this run: ${b.error}`);
    if (b.kind === 'native') {
      profiles.push({
        label: b.label,
        kind: b.kind,
        variant: b.variant,
        accelerator: b.accelerator,
        cpu: null,
        disk: null,
        network: null,
        footprintMiB: null,
        notes,
      });
      continue;
    }
    profiles.push({
      label: b.label,
      kind: b.kind,
      variant: b.variant,
      accelerator: b.accelerator,
      cpu: lookupFactor(ctx, b, metricLookup('cpu'), notes),
      disk: lookupFactor(ctx, b, metricLookup('disk'), notes),
      network: lookupFactor(ctx, b, metricLookup('network'), notes),
      footprintMiB: lookupFootprint(ctx, b, notes),
      ...engineCosts(ctx, b, notes),
      notes,
    });
  }
  return { profiles, warnings };
}
