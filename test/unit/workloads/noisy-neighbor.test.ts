import { describe, expect, it } from 'vitest';
import {
  conditionsFor,
  keptPct,
  MECHANISMS_FOR,
  NEIGHBOR_KINDS,
  noisyNeighborParams,
  noisyNeighborWorkload,
} from '../../../src/workloads/noisy-neighbor.js';

describe('noisy neighbour as isolation', () => {
  it('each resource: alone, unrestrained, then the mechanisms that can hold the neighbour', () => {
    expect(conditionsFor('cpu')).toEqual(['alone', 'unrestrained', 'cpu-weight', 'cpu-cap']);
    expect(conditionsFor('disk')).toEqual(['alone', 'unrestrained', 'io-weight', 'io-throttle']);
    expect(conditionsFor('network')).toEqual(['alone', 'unrestrained', 'tc']);
    // Memory bandwidth has no mechanism of its own: only the indirect CPU cap.
    expect(MECHANISMS_FOR.memory).toEqual(['cpu-cap']);
  });

  it('kept percent: beside the neighbour over alone', () => {
    expect(keptPct(1000, 500)).toBe(50);
    expect(keptPct(1000, 1000)).toBe(100);
    expect(() => keptPct(0, 5)).toThrow(/positive/);
  });

  it('declares a metric for every kind, condition and mechanism; params strict with defaults', () => {
    const names = new Set(noisyNeighborWorkload.metrics.map((m) => m.name));
    for (const k of NEIGHBOR_KINDS) {
      for (const n of [`${k}-alone`, `${k}-with-neighbor`, `${k}-degradation-pct`, `${k}-kept-pct-unrestrained`])
        expect(names.has(n), n).toBe(true);
      for (const m of MECHANISMS_FOR[k])
        for (const n of [`${k}-with-${m}`, `${k}-kept-pct-${m}`]) expect(names.has(n), n).toBe(true);
    }
    const p = noisyNeighborParams.parse({});
    expect(p).toMatchObject({ weightSplit: [90, 10], cpuCapPercent: 20, diskCapIops: 100, netCapMbit: 50 });
    expect(noisyNeighborParams.safeParse({ cpuCapPercent: 0 }).success).toBe(false);
    expect(noisyNeighborParams.safeParse({ mechanism: 'x' }).success).toBe(false);
  });
});
