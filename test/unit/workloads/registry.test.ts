import { describe, expect, it } from 'vitest';
import { allWorkloads, getWorkload } from '../../../src/workloads/index.js';

describe('workload registry', () => {
  it('registers the six overhead workloads, each with strict params and declared metrics', () => {
    const names = allWorkloads().map((w) => w.name);
    for (const n of ['cpu', 'memory', 'disk', 'network', 'startup', 'footprint']) expect(names).toContain(n);
    for (const w of allWorkloads()) {
      expect(w.params.safeParse({}).success).toBe(true);
      expect(w.params.safeParse({ definitelyNotAParam: 1 }).success).toBe(false);
      expect(w.metrics.length).toBeGreaterThan(0);
      expect(new Set(w.metrics.map((m) => m.name)).size).toBe(w.metrics.length);
    }
    expect(getWorkload('network')?.needsNetwork).toBe(true);
    expect(getWorkload('disk')?.needsDisk).toBe(true);
  });
});
