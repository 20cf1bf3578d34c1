import { describe, expect, it } from 'vitest';
import {
  achievedRate,
  achievedShare,
  capErrorPct,
  degradationPct,
  errorPp,
  intervalRates,
  sampleWhile,
  splitBudget,
  splitToWeights,
  targetPct,
  type CumulativeSample,
} from '../../../src/workloads/isolation.js';
import {
  partitionParams,
  timeSlicedShare,
  wcPhaseWeighted,
  wcRates,
  workConserving,
} from '../../../src/workloads/partition.js';
import { sleep } from '../../../src/util/proc.js';

/** Cumulative samples every 250 ms of two parties using rateA/rateB per second in [from, to). */
function samplesOf(seconds: number, rate: (t: number) => [number, number]): CumulativeSample[] {
  const out: CumulativeSample[] = [{ tMs: 0, values: [0, 0] }];
  let a = 0;
  let b = 0;
  for (let t = 0.25; t <= seconds + 1e-9; t += 0.25) {
    const [ra, rb] = rate(t - 0.125);
    a += ra * 0.25;
    b += rb * 0.25;
    out.push({ tMs: t * 1000, values: [a, b] });
  }
  return out;
}

describe('shares from cumulative counters', () => {
  it('per-interval rates, skipping counter resets', () => {
    const r = intervalRates([
      { tMs: 0, values: [0, 0] },
      { tMs: 500, values: [0.4, 0.1] },
      { tMs: 1000, values: [0.1, 0.2] },
      { tMs: 1500, values: [0.5, 0.3] },
    ]);
    expect(r).toHaveLength(2);
    expect(r[0]!.rates[0]).toBeCloseTo(0.8);
    expect(r[0]!.rates[1]).toBeCloseTo(0.2);
    expect(r[0]!.tS).toBeCloseTo(0.25);
  });

  it('an 80:20 split on one busy CPU, ramps and tails ignored', () => {
    // A starts at 0.5 s (alone), B joins at 1 s; 80:20 until 5 s; B ends at 5 s, A at 5.5 s.
    const s = samplesOf(6, (t) => {
      if (t < 0.5) return [0, 0];
      if (t < 1) return [1, 0];
      if (t < 5) return [0.8, 0.2];
      if (t < 5.5) return [1, 0];
      return [0, 0];
    });
    const r = achievedShare(s, { capacityPerS: 1, minBusyFraction: 0.8, minPartyRate: 0.02 });
    expect(r.aPct).toBeCloseTo(80, 6);
    expect(r.countedIntervals).toBe(14); // 16 contended intervals, one dropped at each edge
    expect(errorPp(r.aPct, targetPct([80, 20]))).toBeLessThan(1e-6);
    expect(r.series.filter((p) => !p.counted).length).toBe(r.series.length - 14);
  });

  it('a failed partition shows: 50:50 is 30 pp off an 80:20 target', () => {
    const s = samplesOf(4, () => [0.5, 0.5]);
    const r = achievedShare(s, { capacityPerS: 1, minPartyRate: 0.02 });
    expect(errorPp(r.aPct, 80)).toBeCloseTo(30, 6);
  });

  it('refuses to invent a share when the parties never overlapped', () => {
    const s = samplesOf(4, (t) => (t < 2 ? [1, 0] : [0, 1]));
    expect(() => achievedShare(s, { capacityPerS: 1, minPartyRate: 0.02 })).toThrow(/both parties active/);
  });

  it('idle CPU (both light) does not count when a capacity is given', () => {
    const s = samplesOf(4, () => [0.08, 0.02]);
    expect(() => achievedShare(s, { capacityPerS: 1, minBusyFraction: 0.8, minPartyRate: 0.01 })).toThrow();
    // Without a capacity (disk, unknown) the same samples give 80%.
    expect(achievedShare(s, { minPartyRate: 0.01 }).aPct).toBeCloseTo(80, 6);
  });

  it('a hard cap: mean rate over the active intervals', () => {
    const s = samplesOf(5, (t) => (t > 0.5 && t < 4.5 ? [0.5, 0] : [0, 0])).map((x) => ({
      tMs: x.tMs,
      values: [x.values[0] as number],
    }));
    const r = achievedRate(s, 0.02);
    expect(r.meanRate * 100).toBeCloseTo(50, 6);
    expect(errorPp(r.meanRate * 100, 50)).toBeLessThan(1e-6);
    expect(() =>
      achievedRate(
        [
          { tMs: 0, values: [0] },
          { tMs: 250, values: [0] },
        ],
        0.02,
      ),
    ).toThrow(/never active/);
  });
});

describe('splits, errors, degradation', () => {
  it('weights and budgets keep the ratio', () => {
    expect(splitToWeights([80, 20])).toEqual([1000, 250]);
    expect(splitToWeights([50, 50])).toEqual([1000, 1000]);
    expect(splitBudget(1000, [80, 20])).toEqual([800, 200]);
    expect(splitBudget(3, [99, 1])).toEqual([3, 1]);
    expect(targetPct([80, 20])).toBe(80);
    expect(() => splitToWeights([0, 20])).toThrow();
  });
  it('cap error and degradation', () => {
    expect(capErrorPct(276, 300)).toBeCloseTo(-8, 6);
    expect(() => capErrorPct(1, 0)).toThrow();
    expect(degradationPct(100, 60)).toBeCloseTo(40);
    expect(degradationPct(100, 120)).toBeCloseTo(-20);
    expect(degradationPct(10, 15, false)).toBeCloseTo(50);
    expect(() => degradationPct(0, 1)).toThrow();
  });
  it('work-conserving check: A alone with weights against A alone without, threshold halfway between target and 100%', () => {
    // bfq lends an idle B's share: A alone with weights does about what it does with none.
    const wc = workConserving([970, 990, 980], [1010, 990, 1000], 80);
    expect(wc).toMatchObject({ thresholdPct: 90, verdict: 'work-conserving', pass: true });
    expect(wc.alonePct).toBeCloseTo(98, 6);
    expect(wc.ci95Pct![0]).toBeLessThan(98);
    // A cap (or a non-conserving split) holds A near its 80% target: shown below the threshold.
    expect(workConserving([800, 810, 820], [1000, 1010, 990], 80)).toMatchObject({
      verdict: 'not work-conserving',
      pass: false,
    });
    // Below the threshold on a device too noisy to tell: inconclusive, not a pass and not a failure.
    expect(workConserving([600, 1100, 900], [1000, 700, 1200], 80)).toMatchObject({
      verdict: 'inconclusive',
      pass: false,
    });
    expect(() => workConserving([10], [0], 80)).toThrow(/did no I\/O/);
  });
  it('disk share under bfq counts the intervals where only A was served (a time-sliced scheduler)', () => {
    // The pattern bfq gave at weights 1000:250 (recorded): A alone in some 250 ms intervals, both in others.
    const deltas: Array<[number, number]> = [
      [1100, 1080],
      [2070, 0],
      [2020, 50],
      [1190, 1020],
      [2270, 0],
      [1120, 1100],
      [2480, 0],
      [1870, 150],
    ];
    const samples: CumulativeSample[] = [{ tMs: 0, values: [0, 0] }];
    for (const [i, [a, b]] of deltas.entries()) {
      const prev = samples[i]!.values;
      samples.push({ tMs: (i + 1) * 250, values: [prev[0]! + a, prev[1]! + b] });
    }
    const sumA = deltas.reduce((s, [a]) => s + a, 0);
    const sumB = deltas.reduce((s, [, b]) => s + b, 0);
    const share = timeSlicedShare(samples);
    expect(share.aPct).toBeCloseTo((100 * sumA) / (sumA + sumB), 6);
    expect(share.countedIntervals).toBe(deltas.length);
    // Dropping the one-sided intervals (right for a CPU or link share) would read near 50:50.
    expect(achievedShare(samples, { minPartyRate: 0.5, trimEdges: 0 }).aPct).toBeLessThan(share.aPct - 10);
  });
  it('work-conserving phases alternate ABBA, so a linear drift of the device falls equally on both arms', () => {
    const order = Array.from({ length: 8 }, (_, i) => wcPhaseWeighted(i));
    expect(order).toEqual([true, false, false, true, true, false, false, true]);
    // A device slowing down linearly (no effect of the weights at all): both arms read the same.
    const phases = order.map((weighted, i) => ({ weighted, iops: 8000 - 300 * i }));
    const r = wcRates(phases);
    expect(r.weighted).toBeCloseTo(r.unweighted, 6);
  });
  it('partition params: defaults, strict nested objects, split bounds', () => {
    const p = partitionParams.parse({});
    expect(p.split).toEqual([80, 20]);
    expect(p.cpu.capPercent).toBe(50);
    expect(p.disk.aloneSeconds).toBe(3);
    // Throttle budgets are gone: a throttle split is two caps, not a share.
    expect(partitionParams.safeParse({ disk: { budgetIops: 200 } }).success).toBe(false);
    expect(partitionParams.safeParse({ cpu: { nope: 1 } }).success).toBe(false);
    expect(partitionParams.safeParse({ split: [80, 0] }).success).toBe(false);
    expect(partitionParams.safeParse({ resources: [] }).success).toBe(false);
  });
});

describe('sampleWhile', () => {
  it('samples before, during and after the work, with increasing timestamps', async () => {
    let n = 0;
    const { result, samples } = await sampleWhile(
      sleep(260).then(() => 'done'),
      async () => [n++],
      50,
    );
    expect(result).toBe('done');
    expect(samples.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.tMs).toBeGreaterThanOrEqual(samples[i - 1]!.tMs);
  });
  it('rethrows the work error and survives failing reads', async () => {
    await expect(
      sampleWhile(
        sleep(50).then(() => Promise.reject(new Error('boom'))),
        async () => Promise.reject(new Error('read')),
        10,
      ),
    ).rejects.toThrow('boom');
  });
});
