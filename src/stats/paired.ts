/**
 * Pairing by round. The runner interleaves backends per round (ABC, BCA,
 * CAB, ...), and every value in results.json keeps the round it came from
 * (`MetricResult.repetitions`, 1-based, warm-ups excluded). A backend's value
 * and native's value of the same round were measured minutes apart at most,
 * under the same host state, so their difference cancels the host's drift
 * between rounds; the per-round differences are the sample the paired
 * estimator (estimate.ts pairedEstimate) works on.
 *
 * A value without a round number, or a round number that appears twice on
 * one side, cannot be paired: the figure is then estimated unpaired (Welch)
 * and results.json says so (`design: 'unpaired'`).
 */
import { finite } from './estimate.js';

/** A metric's values with the round each came from (MetricResult's shape). */
export interface RoundValues {
  values: readonly number[];
  /** Round (repetition) of each value; absent or of another length: no pairing. */
  repetitions?: readonly number[] | undefined;
}

export interface Pairs {
  native: number[];
  backend: number[];
  /** The round of each pair, ascending. */
  rounds: number[];
}

function byRound(s: RoundValues): Map<number, number> | null {
  const reps = s.repetitions;
  if (!reps || reps.length !== s.values.length) return null;
  const out = new Map<number, number>();
  for (let i = 0; i < reps.length; i++) {
    const r = reps[i] as number;
    if (out.has(r)) return null;
    const v = s.values[i] as number;
    if (Number.isFinite(v)) out.set(r, v);
  }
  return out;
}

/**
 * The rounds both sides measured, matched by round number; null when either
 * side's values carry no usable round numbers (then no pairing exists).
 * Rounds only one side ran (a backend decided early in adaptive rounds) are
 * left out of the pairs.
 */
export function pairByRound(native: RoundValues, backend: RoundValues): Pairs | null {
  const n = byRound(native);
  const b = byRound(backend);
  if (!n || !b) return null;
  const rounds = [...n.keys()].filter((r) => b.has(r)).sort((x, y) => x - y);
  return { native: rounds.map((r) => n.get(r) as number), backend: rounds.map((r) => b.get(r) as number), rounds };
}

/** Per-round differences: ln b - ln n (ratio; null when a value is not positive) or b - n. */
export function pairDifferences(p: Pick<Pairs, 'native' | 'backend'>, scale: 'log' | 'linear'): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < p.native.length; i++) {
    const n = p.native[i] as number;
    const b = p.backend[i] as number;
    if (scale === 'log') {
      if (!(n > 0 && b > 0)) return null;
      out.push(Math.log(b) - Math.log(n));
    } else out.push(b - n);
  }
  return finite(out);
}
