/**
 * Outlier flags that work at the repetition counts isobench runs (3-10).
 *
 * - n < 3: nothing can be flagged; the method says so ("n too small").
 * - 3 <= n <= 10: Dixon's Q test at 95% (Q = gap / range of the most extreme
 *   value; critical values from Rorabacher 1991, Anal. Chem. 63:139). The
 *   modified z-score cannot work here: at n = 3 the MAD is set by one gap.
 * - n > 10: modified z-score 0.6745 |x - median| / MAD > 3.5 (Iglewicz and
 *   Hoaglin), as hyperfine flags them.
 * Flagged values are kept: a flag asks a reader to look, it never drops data.
 */
import * as ss from 'simple-statistics';

export type OutlierMethod = 'none: n < 3' | 'dixon-q95' | 'mad-z3.5';

/** Dixon's Q critical values at 95% confidence, indexed by n (3..10). */
const DIXON_Q95: Record<number, number> = {
  3: 0.97,
  4: 0.829,
  5: 0.71,
  6: 0.625,
  7: 0.568,
  8: 0.526,
  9: 0.493,
  10: 0.466,
};

export function outlierMethod(n: number): OutlierMethod {
  if (n < 3) return 'none: n < 3';
  return n <= 10 ? 'dixon-q95' : 'mad-z3.5';
}

export function outlierIndices(xs: readonly number[]): number[] {
  const n = xs.length;
  const method = outlierMethod(n);
  if (method === 'none: n < 3') return [];
  if (method === 'dixon-q95') {
    const order = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
    const range = (order[n - 1] as { x: number }).x - (order[0] as { x: number }).x;
    if (!(range > 0)) return [];
    const crit = DIXON_Q95[n] as number;
    const out: number[] = [];
    const low = ((order[1] as { x: number }).x - (order[0] as { x: number }).x) / range;
    const high = ((order[n - 1] as { x: number }).x - (order[n - 2] as { x: number }).x) / range;
    if (low > crit) out.push((order[0] as { i: number }).i);
    if (high > crit) out.push((order[n - 1] as { i: number }).i);
    return out.sort((a, b) => a - b);
  }
  const med = ss.median([...xs]);
  const mad = ss.medianAbsoluteDeviation([...xs]);
  if (mad === 0) return [];
  const out: number[] = [];
  xs.forEach((x, i) => {
    if ((0.6745 * Math.abs(x - med)) / mad > 3.5) out.push(i);
  });
  return out;
}
