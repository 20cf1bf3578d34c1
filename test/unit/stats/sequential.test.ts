/** The decision rules' pure functions: TOST verdicts, the power plan, the sequential look, Holm. */
import { describe, expect, it } from 'vitest';
import {
  decide,
  holmAdjusted,
  holmRejects,
  overhead,
  plannedPairs,
  sequentialLook,
  tUpperP,
  verdictAt,
} from '../../../src/stats/index.js';

describe('verdicts: TOST for equivalence, the 95% CI for a difference', () => {
  it('equivalence reads the 90% CI; a difference the 95% CI; the point is never compared with T', () => {
    // 95% CI [0.5, 3.4] (excludes 0, reaches past T = 3); 90% CI [0.8, 2.9] (inside ±3): no practical difference.
    expect(decide(1.9, [0.5, 3.4], 3, true, [0.8, 2.9])).toBe('no-practical-difference');
    // The same 95% CI with a 90% CI past T: a real overhead, whatever the point says.
    expect(decide(1.9, [0.5, 3.4], 3, true, [0.7, 3.1])).toBe('overhead');
    expect(decide(3.5, [0.5, 6.5], 3, true, [1, 6])).toBe('overhead');
    expect(decide(-4, [-7, -1], 3, true, [-6.5, -1.5])).toBe('better');
    expect(decide(0.5, [-2, 4], 3, true, [-1.5, 3.5])).toBe('inconclusive');
    expect(decide(0, [Number.NEGATIVE_INFINITY, 1], 3)).toBe('insufficient-data');
  });

  it('an overhead is "beyond the threshold" only when its whole 95% CI is', () => {
    const rounds = [1, 2, 3, 4, 5, 6];
    const n = { values: [100, 101, 99, 100, 102, 98], repetitions: rounds };
    const far = overhead(
      n,
      { values: n.values.map((v, i) => v * (0.8 + (i % 2) * 0.002)), repetitions: rounds },
      true,
      3,
    )!;
    expect(far).toMatchObject({ verdict: 'overhead', beyondThreshold: true, design: 'paired', pairs: 6, df: 5 });
    const near = overhead(
      n,
      { values: n.values.map((v, i) => v * (0.97 + (i % 2 ? 0.01 : -0.01))), repetitions: rounds },
      true,
      3,
    )!;
    expect(near.verdict).toBe('overhead');
    expect(near.beyondThreshold).toBe(false);
  });

  it('pairs by round number, not by position, and leaves out rounds one side lacks', () => {
    const n = { values: [100, 200, 300], repetitions: [1, 2, 3] };
    const b = { values: [330, 110, 220], repetitions: [3, 1, 2] };
    const o = overhead(n, b, true, 3)!;
    expect(o.design).toBe('paired');
    expect(o.ratio).toBeCloseTo(1.1, 12);
    expect(o.spread).toBeCloseTo(0, 12);
    const partial = overhead(
      { values: [100, 200, 300, 400], repetitions: [1, 2, 3, 4] },
      { values: [110, 220, 330], repetitions: [1, 2, 3] },
      true,
      3,
    )!;
    expect(partial).toMatchObject({ design: 'paired', pairs: 3, n: [3, 3] });
    // Plain arrays carry no rounds: unpaired, and it says so.
    expect(overhead([100, 200, 300], [110, 220, 330], true, 3)!.design).toBe('unpaired');
  });
});

describe('the power plan and the sequential look', () => {
  it('plans the pairs for 80% power to show equivalence at a true 0', () => {
    // s = 2% per pair at ±3%: (t(.95, n-1) + t(.90, n-1)) s / ln(1.03) <= sqrt(n) first at n = 6
    // (n = 5: 3.665 x 0.677 = 2.48 > 2.24; n = 6: 3.491 x 0.677 = 2.36 <= 2.45).
    expect(plannedPairs({ scale: 'log', spread: 0.02, threshold: 3 })).toBe(6);
    expect(plannedPairs({ scale: 'log', spread: 0.001, threshold: 3 })).toBe(2);
    expect(plannedPairs({ scale: 'log', spread: 0.2, threshold: 3 })).toBeGreaterThan(300);
    expect(plannedPairs({ scale: 'linear', spread: 10, threshold: 50 })).toBe(3);
  });

  it('pilot, stringent look, plan, futility stop, final look', () => {
    const plan = { pilot: 6, cap: 20 };
    const x = { scale: 'log' as const, center: 0, threshold: 3, higherIsBetter: true };
    expect(sequentialLook({ ...x, n: 4, spread: 0.02 }, plan)).toMatchObject({ action: 'continue', reason: 'pilot' });
    // 99.8% CI at n = 6 with s = 2%: ±2.5%, inside ±3% (ln 1.03 = 2.96%): decided at the pilot.
    expect(sequentialLook({ ...x, n: 6, spread: 0.01 }, plan)).toMatchObject({
      action: 'stop',
      reason: 'decided-at-pilot',
      verdict: 'no-practical-difference',
    });
    expect(sequentialLook({ ...x, n: 6, spread: 0.025 }, plan)).toMatchObject({
      action: 'continue',
      reason: 'planned',
    });
    expect(sequentialLook({ ...x, n: 10, spread: 0.025 }, plan)).toMatchObject({
      action: 'stop',
      reason: 'planned-reached',
    });
    const futile = sequentialLook({ ...x, n: 6, spread: 0.1 }, plan);
    expect(futile).toMatchObject({ action: 'stop', reason: 'not-decidable' });
    expect(futile.action === 'stop' && futile.reason === 'not-decidable' ? futile.message : '').toMatch(
      /^not decidable here at ±3%: needs about \d+ pairs \(spread 10% per pair; the cap is 20\)$/,
    );
    // A huge overhead with a huge spread: decided at the nominal level, so it is not "not decidable".
    expect(sequentialLook({ ...x, n: 6, center: Math.log(0.3), spread: 0.1 }, plan)).toMatchObject({ action: 'stop' });
    expect(verdictAt({ ...x, n: 6, center: Math.log(0.3), spread: 0.1 }, 0.025, 0.05)).toBe('overhead');
  });
});

describe('Holm', () => {
  it('step-down: rejects while p_(k) <= alpha / (m - k + 1)', () => {
    expect(holmRejects([0.01, 0.04, 0.03, 0.005], 0.05)).toEqual([true, false, false, true]);
    expect(holmRejects([0.001, 0.011, 0.02], 0.05)).toEqual([true, true, true]);
    expect(holmAdjusted([0.01, 0.04, 0.03, 0.005])).toEqual([0.03, 0.06, 0.06, 0.02]);
  });
  it('t upper-tail p-values', () => {
    expect(tUpperP(0, 5)).toBe(0.5);
    expect(tUpperP(2.015048, 5)).toBeCloseTo(0.05, 5);
    expect(tUpperP(12.7062, 1)).toBeCloseTo(0.025, 4);
  });
});
