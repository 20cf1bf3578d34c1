import { describe, expect, it } from 'vitest';
import { densityLevels, densityParams, marginals, nextLevelAllowed, perInstanceEstimateMiB, slope, type DensityLevel } from '../../../src/workloads/density.js';

function level(instances: number, memAvailMiB: number, pssSumMiB: number): DensityLevel {
  return { instances, memAvailMiB, pssSumMiB, rssSumMiB: pssSumMiB * 2, cgroupSumMiB: pssSumMiB, readyMs: [100], meanReadyMs: 100 };
}

describe('density sweep', () => {
  it('levels double up to the bound, which is always the last level', () => {
    expect(densityLevels(8)).toEqual([1, 2, 4, 8]);
    expect(densityLevels(6)).toEqual([1, 2, 4, 6]);
    expect(densityLevels(1)).toEqual([1]);
    expect(densityLevels(5, [1, 3, 5, 9])).toEqual([1, 3, 5]);
  });

  it('stopping rule: the next level must leave the safety margin', () => {
    expect(nextLevelAllowed({ current: 4, next: 8, memAvailableMiB: 10_000, perInstanceEstimateMiB: 300, safetyMiB: 2048 })).toEqual({ ok: true });
    const no = nextLevelAllowed({ current: 4, next: 8, memAvailableMiB: 3000, perInstanceEstimateMiB: 300, safetyMiB: 2048 });
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

  it('marginal memory is the slope over the levels with the empty host as level 0', () => {
    expect(slope([0, 1, 2], [0, 2, 4])).toBeCloseTo(2);
    expect(() => slope([1], [1])).toThrow();
    expect(() => slope([1, 1], [1, 2])).toThrow();
    const m = marginals(20_000, [level(1, 19_750, 240), level(2, 19_500, 480), level(4, 19_000, 960)]);
    expect(m.memAvailMiB).toBeCloseTo(250);
    expect(m.pssMiB).toBeCloseTo(240);
    expect(m.rssMiB).toBeCloseTo(480);
  });

  it('params: strict, defaults, ascending steps', () => {
    const p = densityParams.parse({});
    expect(p).toMatchObject({ maxInstances: 8, memorySafetyMiB: 2048, ksm: 'off' });
    expect(densityParams.safeParse({ steps: [4, 2] }).success).toBe(false);
    expect(densityParams.safeParse({ ksm: 'maybe' }).success).toBe(false);
    expect(densityParams.safeParse({ ksmRoot: '/tmp' }).success).toBe(false);
  });
});
