import { describe, expect, it } from 'vitest';
import {
  budgetFigures,
  densityLevels,
  densityParams,
  marginals,
  nextLevelAllowed,
  perInstanceEstimateMiB,
  slope,
  type DensityLevel,
} from '../../../src/workloads/density.js';

function level(instances: number, memAvailMiB: number, pssSumMiB: number): DensityLevel {
  return {
    instances,
    memAvailMiB,
    pssSumMiB,
    rssSumMiB: pssSumMiB * 2,
    cgroupSumMiB: pssSumMiB,
    readyMs: [100],
    meanReadyMs: 100,
  };
}

describe('density sweep', () => {
  it('levels go 1, 2, 3, 4 then double up to the bound, which is always the last level', () => {
    expect(densityLevels(8)).toEqual([1, 2, 3, 4, 8]);
    expect(densityLevels(6)).toEqual([1, 2, 3, 4, 6]);
    expect(densityLevels(20)).toEqual([1, 2, 3, 4, 8, 16, 20]);
    expect(densityLevels(4)).toEqual([1, 2, 3, 4]);
    expect(densityLevels(1)).toEqual([1]);
    expect(densityLevels(5, [1, 3, 5, 9])).toEqual([1, 3, 5]);
  });

  it('stopping rule: the next level must leave the safety margin', () => {
    expect(
      nextLevelAllowed({ current: 4, next: 8, memAvailableMiB: 10_000, perInstanceEstimateMiB: 300, safetyMiB: 2048 }),
    ).toEqual({ ok: true });
    const no = nextLevelAllowed({
      current: 4,
      next: 8,
      memAvailableMiB: 3000,
      perInstanceEstimateMiB: 300,
      safetyMiB: 2048,
    });
    expect(no.ok).toBe(false);
    if (!no.ok) {
      expect(no.reason).toBe('memory-safety');
      expect(no.detail).toMatch(/4 more instances at ~300 MiB each would leave ~1800 MiB/);
    }
  });

  it('cost estimate: the limit plus a margin before anything is measured, 1.5x the measured figure after', () => {
    expect(perInstanceEstimateMiB(512, {})).toBe(768);
    expect(perInstanceEstimateMiB(512, { memAvailMiB: 200, pssMiB: 220 })).toBeCloseTo(330);
    expect(perInstanceEstimateMiB(512, { memAvailMiB: -5, pssMiB: 1 })).toBe(16);
  });

  it('marginal memory is the slope over the measured levels (not through the empty host), with a CI', () => {
    expect(slope([0, 1, 2], [0, 2, 4])).toBeCloseTo(2);
    expect(() => slope([1], [1])).toThrow();
    expect(() => slope([1, 1], [1, 2])).toThrow();
    // The first instance pays 40 MiB more (shared pages): the slope is what one more costs.
    const m = marginals(20_000, [
      level(1, 19_710, 280),
      level(2, 19_460, 520),
      level(3, 19_210, 760),
      level(4, 18_960, 1000),
    ]);
    expect(m.memAvailMiB).toBeCloseTo(250);
    expect(m.pssMiB).toBeCloseTo(240);
    expect(m.rssMiB).toBeCloseTo(480);
    expect(m.pssFit.slopeCi95?.[0]).toBeCloseTo(240, 6);
    const noisy = marginals(20_000, [
      level(1, 19_750, 250),
      level(2, 19_500, 470),
      level(3, 19_250, 730),
      level(4, 19_000, 960),
    ]);
    const [lo = 0, hi = 0] = noisy.pssFit.slopeCi95 ?? [];
    expect(lo).toBeLessThan(noisy.pssMiB);
    expect(hi).toBeGreaterThan(noisy.pssMiB);
    // One level only: the empty host is the second point (an estimate for the safety rule).
    expect(marginals(20_000, [level(1, 19_750, 240)]).pssMiB).toBeCloseTo(240);
  });

  it('budget: a measured count only when the sweep crossed it, otherwise a projection from the slope', () => {
    const fit = marginals(20_000, [
      level(1, 19_780, 215),
      level(2, 19_560, 430),
      level(3, 19_340, 645),
      level(4, 19_120, 860),
    ]).pssFit;
    expect(budgetFigures(768, 4, fit)).toMatchObject({ instancesInBudget: 3, projected: 3 });
    const cheap = marginals(20_000, [
      level(1, 19_998, 1.5),
      level(2, 19_996, 3.1),
      level(3, 19_994, 4.4),
      level(4, 19_992, 6.1),
    ]).pssFit;
    const c = budgetFigures(768, undefined, cheap);
    expect(c.instancesInBudget).toBeUndefined();
    expect(c.projected).toBeGreaterThan(400);
    expect(c.projectedRange?.[0]).toBeLessThanOrEqual(c.projected as number);
    // A slope that is not positive gives no projection (nothing per instance to divide by).
    const flat = marginals(20_000, [
      level(1, 20_000, 0.1),
      level(2, 20_000, 0.1),
      level(3, 20_000, 0.1),
      level(4, 20_000, 0.1),
    ]).pssFit;
    expect(budgetFigures(768, undefined, flat)).toEqual({});
  });

  it('params: strict, defaults, ascending steps', () => {
    const p = densityParams.parse({});
    expect(p).toMatchObject({ maxInstances: 8, memorySafetyMiB: 2048, ksm: 'off' });
    expect(densityParams.safeParse({ steps: [4, 2] }).success).toBe(false);
    expect(densityParams.safeParse({ ksm: 'maybe' }).success).toBe(false);
    expect(densityParams.safeParse({ ksmRoot: '/tmp' }).success).toBe(false);
    // Fewer than four levels cannot give a slope with a CI.
    expect(densityParams.safeParse({ maxInstances: 2 }).success).toBe(false);
    expect(densityParams.safeParse({ maxInstances: 8, steps: [1, 2, 8] }).success).toBe(false);
    expect(densityParams.parse({ memoryBudgetMiB: 768 }).memoryBudgetMiB).toBe(768);
  });
});
