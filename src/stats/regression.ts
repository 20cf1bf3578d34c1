/**
 * Ordinary least-squares line y = intercept + slope * x with a Student-t 95%
 * confidence interval of the slope (n - 2 degrees of freedom). Density uses it for
 * the marginal host memory per instance: one noisy level moves the slope little,
 * and the CI says how well the levels agree on it.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Points used. */
  n: number;
  /** Standard error of the slope; undefined with fewer than 3 points (no residual degrees of freedom). */
  slopeSe?: number;
  /** 95% CI of the slope [low, high]; undefined with fewer than 3 points. */
  slopeCi95?: [number, number];
  /** Coefficient of determination (1 when every point lies on the line). */
  r2: number;
}

/** Least-squares fit of ys over xs with a 95% CI of the slope. Throws on fewer than 2 points or all x equal. */
export function linearFit(xs: readonly number[], ys: readonly number[], confidence = 0.95): LinearFit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) throw new Error(`linear fit needs at least two points, got ${n}`);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number;
    sy += ys[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new Error('linear fit: all x are equal');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((ys[i] as number) - intercept - slope * (xs[i] as number)) ** 2;
  const r2 = syy === 0 ? 1 : Math.max(0, 1 - sse / syy);
  if (n < 3) return { slope, intercept, n, r2 };
  const slopeSe = Math.sqrt(sse / (n - 2) / sxx);
  const t = tQuantile(1 - (1 - confidence) / 2, n - 2);
  return { slope, intercept, n, slopeSe, slopeCi95: [slope - t * slopeSe, slope + t * slopeSe], r2 };
}
