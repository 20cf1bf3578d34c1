/**
 * Multiplicity control for compare: with 80 metrics compared at 5% each,
 * about four read "changed" by chance alone. Holm's step-down procedure keeps
 * the chance of ANY false flag among them (the family-wise error rate) at
 * alpha, whatever the dependence between the tests, and is uniformly more
 * powerful than Bonferroni: sort the m p-values ascending and reject the k-th
 * while p_(k) <= alpha / (m - k + 1); stop at the first that is not.
 */
import { tQuantileOf } from './estimate.js';

/** Upper-tail p-value of Student t: P(T_df >= t), by bisection on the quantile (no t CDF is installed). */
export function tUpperP(t: number, df: number): number {
  if (Number.isNaN(t)) return 1;
  if (t === Number.POSITIVE_INFINITY) return 0;
  if (t === Number.NEGATIVE_INFINITY) return 1;
  if (!(df > 0)) return 1;
  if (t === 0) return 0.5;
  // Find p with quantile(1 - p) = t.
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (tQuantileOf(1 - mid, df) > t) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Which hypotheses Holm's procedure rejects at family-wise level alpha (same order as `p`). */
export function holmRejects(p: readonly number[], alpha: number): boolean[] {
  const order = p.map((x, i) => ({ x: Number.isFinite(x) ? x : 1, i })).sort((a, b) => a.x - b.x);
  const out = p.map(() => false);
  const m = p.length;
  for (let k = 0; k < m; k++) {
    const e = order[k] as { x: number; i: number };
    if (e.x > alpha / (m - k)) break;
    out[e.i] = true;
  }
  return out;
}

/** Holm-adjusted p-values (step-down, monotone), same order as `p`. */
export function holmAdjusted(p: readonly number[]): number[] {
  const order = p.map((x, i) => ({ x: Number.isFinite(x) ? x : 1, i })).sort((a, b) => a.x - b.x);
  const out = p.map(() => 1);
  const m = p.length;
  let run = 0;
  for (let k = 0; k < m; k++) {
    const e = order[k] as { x: number; i: number };
    run = Math.max(run, Math.min(1, (m - k) * e.x));
    out[e.i] = run;
  }
  return out;
}
