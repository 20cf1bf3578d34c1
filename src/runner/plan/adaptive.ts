/**
 * Adaptive repetition, planned from a pilot instead of peeking after every
 * repetition (which about doubles the false-difference rate on a true 0%):
 *
 *  1. The workload's base repetitions are the pilot.
 *  2. Right after the pilot the plan looks once: each figure still undecided
 *     (inconclusive, or too few values, and its CI wider than the target) gets
 *     the number of pairs that decides it with 80% power, computed from the
 *     spread of its paired differences (per round: ln backend − ln native for
 *     ratios, backend − native for differences; `plannedPairs`).
 *  3. The workload then runs up to the largest such number, for the baseline
 *     and the backends of those figures only, without looking again; the
 *     verdict is the end look. A figure that would need more pairs than the
 *     scenario's cap (maxRepetitions) does not drive the plan: it is reported
 *     at once as "not decidable here" with its spread and the pairs it needs.
 *  4. maxRepetitions and the time box (maxMinutes, from the first extra
 *     repetition) still bound it.
 *
 * The undecided test keeps its old meaning: a CI half-width above
 * `targetCiPct` percent for ratios; for figures compared by difference (pp,
 * near-zero metrics, per-instance costs) a half-width above the figure's own
 * threshold, in its unit, because a percent of a mean near zero is never reached.
 */
import type { Difference, Overhead, Warning } from '../../results/types.js';
import { tQuantileOf } from '../../stats/estimate.js';
import type { Cells } from './cells.js';
import { cellKey } from './cells.js';

function halfWidth(ci: readonly [number, number]): number {
  return Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? (ci[1] - ci[0]) / 2 : Number.POSITIVE_INFINITY;
}

function isOverhead(f: Overhead | Difference): f is Overhead {
  return 'overheadPctCi95' in f && Array.isArray(f.overheadPctCi95);
}

/** The figures that more repetitions should decide. */
export function adaptiveUndecided<F extends Overhead | Difference>(figures: readonly F[], targetCiPct: number): F[] {
  return figures.filter((f) => {
    if (f.verdict !== 'inconclusive' && f.verdict !== 'insufficient-data') return false;
    if (isOverhead(f)) return halfWidth(f.overheadPctCi95 as [number, number]) > targetCiPct;
    return halfWidth((f as Difference).ci95) > (f as Difference).threshold;
  });
}

/** Why a workload's repetitions end (or `more` when another round is wanted). */
export type AdaptiveDecision =
  /** `open`: "backend/metric" of each figure the plan runs for (for progress); `backends`: their backends. */
  | { more: true; open: string[]; backends: string[]; warnings?: Warning[] }
  | { more: false; reason: StopReason; warning?: Warning; warnings?: Warning[] };

export type StopReason = 'not-adaptive' | 'max-repetitions' | 'time-box' | 'decided' | 'planned' | 'not-decidable';

/** The adaptive settings a workload runs under (absent when it repeats a fixed number of times). */
export interface AdaptivePlan {
  targetCiPct: number;
  maxRepetitions: number;
  maxMinutes: number;
}

/** What the look after the pilot decided, kept by the caller for the rest of the workload. */
export interface PilotPlan {
  /** The last repetition to run. */
  until: number;
  open: string[];
  backends: string[];
}

/**
 * Pairs (rounds) needed to decide a figure with 80% power, from the pilot's paired
 * differences `d` and the practical margin on the same scale (ln(1 + T) for a
 * ratio, T in the unit for a difference):
 *  - |mean d| < margin: equivalence by TOST at alpha 0.05 per side (the 90%
 *    interval inside ±margin): N with (t(0.95) + t(0.80)) s / sqrt(N) <= margin − |mean d|;
 *  - |mean d| >= margin: the 95% interval clear of the margin:
 *    (t(0.975) + t(0.80)) s / sqrt(N) <= |mean d| − margin.
 * t on N − 1 degrees of freedom. Never below the pilot's own size; null when the
 * pilot has fewer than 2 pairs; Infinity when nothing up to 100 000 decides it
 * (a true difference at the margin).
 *
 * THE single call site for h-stats' power planning (src/stats): replace the body
 * with its planner when it lands; the runner needs only "pairs needed".
 */
export function plannedPairs(
  d: readonly number[],
  margin: number,
  o: { alpha?: number; power?: number } = {},
): number | null {
  const x = d.filter((v) => Number.isFinite(v));
  const n = x.length;
  if (n < 2) return null;
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const m = Math.abs(mean);
  const equivalence = m < margin;
  const gap = equivalence ? margin - m : m - margin;
  if (sd === 0) return gap > 0 ? n : Number.POSITIVE_INFINITY;
  if (!(gap > 0)) return Number.POSITIVE_INFINITY;
  const ta = (df: number): number => tQuantileOf(equivalence ? 1 - alpha : 1 - alpha / 2, df);
  for (let N = Math.max(n, 2); N <= 100_000; N = N < 1000 ? N + 1 : Math.ceil(N * 1.05)) {
    if ((ta(N - 1) + tQuantileOf(power, N - 1)) * (sd / Math.sqrt(N)) <= gap) return N;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Paired differences of one figure from the cells: values of the backend and of the
 * baseline with the same repetition (the same round, with rounds per probe), as
 * ln(backend) − ln(baseline) for ratios or backend − baseline for differences.
 */
export function pairedDifferences(
  cells: Cells,
  f: Pick<Overhead, 'backend' | 'workload' | 'metric'>,
  baseline: string,
  log: boolean,
): number[] {
  const b = cells.get(cellKey(f.backend, f.workload))?.metrics.get(f.metric);
  const n = cells.get(cellKey(baseline, f.workload))?.metrics.get(f.metric);
  if (!b || !n) return [];
  const byRep = new Map(n.repetitions.map((r, i) => [r, n.values[i]!] as const));
  const out: number[] = [];
  b.repetitions.forEach((r, i) => {
    const nv = byRep.get(r);
    const bv = b.values[i]!;
    if (nv === undefined) return;
    const d = log ? Math.log(bv) - Math.log(nv) : bv - nv;
    if (Number.isFinite(d)) out.push(d);
  });
  return out;
}

/** The margin of a figure on the scale of its paired differences. */
export function marginOf(f: Overhead | Difference): { margin: number; log: boolean } {
  if (isOverhead(f)) return { margin: Math.log(1 + f.thresholdPct / 100), log: true };
  return { margin: (f as Difference).threshold, log: false };
}

/**
 * Whether repetition `rep` (past the workload's base count) should run. The caller
 * passes how long its extra repetitions have run (the plan holds no clock), the
 * run's current figures (read only at the look after the pilot: computing them
 * derives every overhead of the run), the paired differences of a figure, and a
 * `state` it keeps for the workload (the look's plan is stored there).
 */
export function adaptiveNext(
  w: { workload: string; repetitions: number; maxRepetitions: number; adaptive?: AdaptivePlan },
  rep: number,
  elapsedMs: number,
  figures: () => ReadonlyArray<Overhead | Difference>,
  pilot: { state: { plan?: PilotPlan }; pairs: (f: Overhead | Difference) => number[] },
): AdaptiveDecision {
  if (rep <= w.repetitions) return { more: true, open: [], backends: [] };
  if (!w.adaptive) return { more: false, reason: 'not-adaptive' };
  if (rep > w.maxRepetitions) return { more: false, reason: 'max-repetitions' };
  if (elapsedMs > w.adaptive.maxMinutes * 60_000) {
    return {
      more: false,
      reason: 'time-box',
      warning: {
        code: 'ADAPTIVE_TIME_BOX',
        workload: w.workload,
        message:
          `${w.workload}: adaptive repetition stopped after ${w.adaptive.maxMinutes} min (adaptive.maxMinutes) ` +
          `at ${rep - 1} repetitions, before the ${pilot.state.plan?.until ?? '?'} the pilot planned; ` +
          'some verdicts may stay inconclusive',
      },
    };
  }
  if (!pilot.state.plan) {
    // The one look after the pilot.
    const open = adaptiveUndecided(figures().filter((f) => f.workload === w.workload), w.adaptive.targetCiPct);
    const warnings: Warning[] = [];
    let until = 0;
    const driving: Array<Overhead | Difference> = [];
    for (const f of open) {
      const { margin } = marginOf(f);
      const d = pilot.pairs(f);
      const need = plannedPairs(d, margin);
      if (need !== null && need > w.maxRepetitions) {
        const mean = d.reduce((x, y) => x + y, 0) / d.length;
        const sd = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, d.length - 1));
        const spread = isOverhead(f) ? `${(100 * (Math.exp(sd) - 1)).toFixed(1)}%` : `${sd.toPrecision(3)} ${f.unit}`;
        const t = isOverhead(f) ? `±${f.thresholdPct}%` : `±${(f as Difference).threshold} ${f.unit}`;
        const needs = Number.isFinite(need)
          ? `about ${need} pairs`
          : 'more pairs than any run could take (its difference sits at the threshold)';
        warnings.push({
          code: 'NOT_DECIDABLE_HERE',
          backend: f.backend,
          workload: f.workload,
          message:
            `${f.backend} ${f.workload} ${f.metric}: not decidable here at ${t}: needs ${needs} ` +
            `(spread of the paired differences ${spread} per pair, from ${d.length} pilot pairs); ` +
            `the scenario allows ${w.maxRepetitions}`,
        });
        continue;
      }
      // Too few pairs to plan from: one more round, then the plan's end look.
      until = Math.max(until, need ?? w.repetitions + 1);
      driving.push(f);
    }
    pilot.state.plan = {
      until: Math.min(until, w.maxRepetitions),
      open: driving.map((f) => `${f.backend}/${f.metric}`),
      backends: [...new Set(driving.map((f) => f.backend))],
    };
    if (pilot.state.plan.until < rep) {
      const reason = warnings.length ? 'not-decidable' : 'decided';
      return { more: false, reason, ...(warnings.length ? { warnings } : {}) };
    }
    const { open: planned, backends } = pilot.state.plan;
    return { more: true, open: planned, backends, ...(warnings.length ? { warnings } : {}) };
  }
  const plan = pilot.state.plan;
  if (rep > plan.until) return { more: false, reason: 'planned' };
  return { more: true, open: plan.open, backends: plan.backends };
}
