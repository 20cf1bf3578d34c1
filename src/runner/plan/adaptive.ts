/**
 * The stopping rule of adaptive repetition, on what the report shows: the
 * paired figures vs native (overheads and differences). The rule itself is
 * src/stats/sequential.ts (docs/statistics.md): the base repetitions are the
 * pilot, looked at once at a stringent level; then the pairs planned for 80%
 * power from the observed spread, or a stop at once when that plan exceeds
 * maxRepetitions ("not decidable here"); the verdict is read again only at the
 * end. `targetCiPct` no longer decides the stop: the figure's threshold does.
 */
import type { Difference, Overhead, Warning } from '../../results/types.js';
import { figureLook, type LookPlan, type LookResult } from '../../stats/sequential.js';

/** The figures that more repetitions should decide, with each figure's look. */
export function adaptiveLooks<F extends Overhead | Difference>(
  figures: readonly F[],
  plan: LookPlan,
): Array<{ figure: F; look: LookResult }> {
  return figures.map((figure) => ({ figure, look: figureLook(figure, plan) }));
}

/** The figures that more repetitions should decide. */
export function adaptiveUndecided<F extends Overhead | Difference>(figures: readonly F[], plan: LookPlan): F[] {
  return adaptiveLooks(figures, plan)
    .filter((l) => l.look.action === 'continue')
    .map((l) => l.figure);
}

/** Why a workload's repetitions end (or `more` when another round is wanted). */
export type AdaptiveDecision =
  /**
   * `open`: "backend/metric" of each undecided figure (for progress); `backends`: the backends they belong
   * to; `metrics`: their metrics (the round runs only the probes that measure them).
   */
  | { more: true; open: string[]; backends: string[]; metrics: string[] }
  | {
      more: false;
      reason: 'not-adaptive' | 'max-repetitions' | 'time-box' | 'decided' | 'not-decidable';
      warning?: Warning;
    };

/** The adaptive settings a workload runs under (absent when it repeats a fixed number of times). */
export interface AdaptivePlan {
  targetCiPct: number;
  maxRepetitions: number;
  maxMinutes: number;
}

/**
 * Whether repetition `rep` (past the workload's base count) should run. The
 * caller passes how long its extra repetitions have run (the plan holds no clock) and
 * the run's current figures, read only when needed (computing them derives
 * every overhead of the run).
 */
export function adaptiveNext(
  w: { workload: string; repetitions: number; maxRepetitions: number; adaptive?: AdaptivePlan },
  rep: number,
  elapsedMs: number,
  figures: () => ReadonlyArray<Overhead | Difference>,
): AdaptiveDecision {
  if (rep <= w.repetitions) return { more: true, open: [], backends: [], metrics: [] };
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
          `at ${rep - 1} repetitions; some verdicts may stay inconclusive`,
      },
    };
  }
  const mine = figures().filter((f) => f.workload === w.workload);
  const looks = adaptiveLooks(mine, { pilot: w.repetitions, cap: w.maxRepetitions });
  const open = looks.filter((l) => l.look.action === 'continue').map((l) => l.figure);
  if (open.length) {
    const backends = [...new Set(open.map((f) => f.backend))];
    const metrics = [...new Set(open.map((f) => f.metric))];
    return { more: true, open: open.map((f) => `${f.backend}/${f.metric}`), backends, metrics };
  }
  const futile = looks.flatMap((l) => {
    const k = l.look;
    const futileHere = k.action === 'stop' && k.reason === 'not-decidable';
    return futileHere ? [`${l.figure.backend} ${l.figure.metric}: ${k.message}`] : [];
  });
  if (!futile.length) return { more: false, reason: 'decided' };
  const message = `${w.workload}: ${futile.join('; ')}`;
  return { more: false, reason: 'not-decidable', warning: { code: 'NOT_DECIDABLE', workload: w.workload, message } };
}
