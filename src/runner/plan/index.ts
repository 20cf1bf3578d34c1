/**
 * The plan layer: what a run measures and in which order, decided from the
 * scenario, the prepared backends and an earlier attempt's cells, with no
 * I/O, no backend and no clock, so every rule here is unit-tested on plain
 * data (test/unit/runner/plan/index.test.ts). The executor (runner/execute.ts)
 * runs each planned repetition as rounds per probe (runner/rounds.ts) and asks
 * `nextRound` whether a workload wants more.
 *
 * Order: for each workload, warm-ups then repetitions; in each repetition
 * ("round") every backend in turn. Interleaved runs rotate the starting
 * backend each round (ABC, BCA, CAB), so drift on the host (thermal, page
 * cache, a neighbour) spreads over every backend instead of one.
 */
import { splitWorkloadEntry, type Scenario } from '../../scenario/schema.js';
import type { Difference, Overhead } from '../../results/types.js';
import { adaptiveNext, type AdaptiveDecision, type AdaptivePlan } from './adaptive.js';
import { cellKey, repsDone, type CellData, type Cells } from './cells.js';

export interface WorkloadPlan {
  workload: string;
  /** The workload's own parameters (its scenario entry without repetitions/warmup). */
  params: unknown;
  warmup: number;
  repetitions: number;
  /** Absent when the scenario has no adaptive block or the workload sets its own repetitions. */
  adaptive?: AdaptivePlan;
  /** The last repetition adaptive mode may reach (= repetitions without it). */
  maxRepetitions: number;
  /** The scenario's choice of the workload's probes (all of them when absent). */
  probes?: readonly string[];
}

export interface PlanBackend {
  label: string;
  /** The backend every overhead is judged against (native): it runs in every round, adaptive ones included. */
  baseline?: boolean;
  /** Why the backend could not be prepared: its measurements are skipped with this reason. */
  unavailable?: string;
}

/** What the executor does with a planned measurement. */
export type Action =
  | { kind: 'run' }
  /** Measured by an earlier attempt (resume). */
  | { kind: 'carried' }
  /** A warm-up of a resumed cell that already has measurements: the instance was warmed then. */
  | { kind: 'warmed' }
  | { kind: 'skip'; reason: string };

export interface Measurement {
  workload: string;
  backend: string;
  /** 1..n measured; 0 and below are warm-ups, counting down to the first measured one. */
  rep: number;
  /** For progress lines: "warm-up 1/2", "rep 3/5". */
  text: string;
  action: Action;
}

export interface RunPlan {
  order: Scenario['order'];
  backends: readonly PlanBackend[];
  workloads: readonly WorkloadPlan[];
  /** Whether this run resumes an earlier attempt. */
  resumed: boolean;
  /** Repetitions measured by the earlier attempt, per cell key. */
  carried: ReadonlyMap<string, ReadonlySet<number>>;
  /** Warm-ups and base repetitions in execution order; adaptive rounds come from `nextRound`. */
  measurements: readonly Measurement[];
}

/** Workload names in the scenario's order (entries set to null/undefined are off). */
export function scenarioWorkloads(scenario: Scenario): string[] {
  return Object.keys(scenario.workloads).filter(
    (k) => (scenario.workloads as Record<string, unknown>)[k] !== undefined,
  );
}

/** Repetitions, warm-ups, parameters and adaptive settings of one workload. */
export function workloadPlan(scenario: Scenario, workload: string): WorkloadPlan {
  const e = splitWorkloadEntry((scenario.workloads as Record<string, unknown>)[workload], scenario);
  // Adaptive repetition applies where the scenario asks for it: not to a workload with its own repetition count.
  const a = scenario.adaptive && !e.explicitRepetitions ? scenario.adaptive : undefined;
  const adaptive = a
    ? { targetCiPct: a.targetCiPct, maxRepetitions: a.maxRepetitions, maxMinutes: a.maxMinutes }
    : undefined;
  return {
    workload,
    params: e.params,
    warmup: e.warmup,
    repetitions: e.repetitions,
    ...(adaptive ? { adaptive } : {}),
    maxRepetitions: adaptive ? Math.max(e.repetitions, adaptive.maxRepetitions) : e.repetitions,
    ...(e.probes ? { probes: e.probes } : {}),
  };
}

export function rotate<T>(xs: readonly T[], k: number): T[] {
  if (xs.length === 0) return [];
  const s = ((k % xs.length) + xs.length) % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

/**
 * The measurements of one round (repetition `rep` of a workload), backends in
 * this round's order. `only` narrows an adaptive round to the backends named
 * (the baseline always runs): a backend whose figures are all decided gets no
 * more repetitions, so a slow VM already judged "overhead" does not hold up
 * the container's undecided ones.
 */
export function round(
  plan: Pick<RunPlan, 'order' | 'backends' | 'resumed' | 'carried'>,
  w: WorkloadPlan,
  rep: number,
  only?: ReadonlySet<string>,
): Measurement[] {
  const backends = only ? plan.backends.filter((b) => b.baseline || only.has(b.label)) : plan.backends;
  const shift = plan.order === 'interleaved' ? (rep - 1 + w.warmup) % Math.max(1, backends.length) : 0;
  const text =
    rep <= 0
      ? `warm-up ${rep + w.warmup}/${w.warmup}`
      : rep > w.repetitions
        ? `rep ${rep} (adaptive, up to ${w.maxRepetitions})`
        : `rep ${rep}/${w.repetitions}`;
  return rotate(backends, shift).map((b) => {
    const done = plan.carried.get(cellKey(b.label, w.workload));
    const action: Action = b.unavailable
      ? { kind: 'skip', reason: `backend unavailable: ${b.unavailable}` }
      : rep > 0 && done?.has(rep)
        ? { kind: 'carried' }
        : rep <= 0 && plan.resumed && (done?.size ?? 0) > 0
          ? { kind: 'warmed' }
          : { kind: 'run' };
    return { workload: w.workload, backend: b.label, rep, text, action };
  });
}

/**
 * The run's plan. `workloads` defaults to the scenario's; `previous` are the
 * cells a resume starts from (plan/resume.ts carriedCells), keyed as cells.ts
 * keys them.
 */
export function makePlan(input: {
  scenario: Scenario;
  backends: readonly PlanBackend[];
  workloads?: readonly string[];
  previous?: Cells;
}): RunPlan {
  const { scenario } = input;
  const carried = new Map<string, ReadonlySet<number>>();
  for (const [k, c] of input.previous ?? []) carried.set(k, repsDone(c));
  const workloads = (input.workloads ?? scenarioWorkloads(scenario)).map((w) => workloadPlan(scenario, w));
  const base = { order: scenario.order, backends: input.backends, resumed: input.previous !== undefined, carried };
  const measurements = workloads.flatMap((w) =>
    Array.from({ length: w.warmup + w.repetitions }, (_, i) => round(base, w, 1 - w.warmup + i)).flat(),
  );
  return { ...base, workloads, measurements };
}

/**
 * Whether workload `w` runs repetition `rep` past its base count: adaptive
 * mode goes on while a figure of this workload is undecided and wider than
 * the target, within maxRepetitions and the time box (`elapsedMs` since its
 * first extra repetition). With `more`, the round to run: the baseline and the
 * backends with an open figure.
 */
export function nextRound(
  plan: RunPlan,
  w: WorkloadPlan,
  rep: number,
  elapsedMs: number,
  figures: () => ReadonlyArray<Overhead | Difference>,
): AdaptiveDecision & { round?: Measurement[] } {
  const d = adaptiveNext(w, rep, elapsedMs, figures);
  return d.more ? { ...d, round: round(plan, w, rep, new Set(d.backends)) } : d;
}

/** A cell is complete once it holds as many measured repetitions as its workload's base count. */
export function cellComplete(
  workloads: readonly WorkloadPlan[],
  c: Pick<CellData, 'workload' | 'metrics'>,
  fallbackRepetitions: number,
): boolean {
  const w = workloads.find((x) => x.workload === c.workload);
  return repsDone(c).size >= (w?.repetitions ?? fallbackRepetitions);
}
