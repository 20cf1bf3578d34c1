/** Traceability checks shared by the capacity unit tests and the real-run integration test. */
import { expect } from 'vitest';
import type { CapacityPlan, SourceRef } from '../../src/capacity/model.js';
import type { RunResults } from '../../src/results/types.js';
import { summarize } from '../../src/stats/index.js';

/** Every {sources: [...]} in the plan (excluding the table itself), with its path. */
export function sourceLists(plan: CapacityPlan): { path: string; ids: string[]; node: Record<string, unknown> }[] {
  const out: { path: string; ids: string[]; node: Record<string, unknown> }[] = [];
  const walk = (x: unknown, path: string): void => {
    if (Array.isArray(x)) x.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (Array.isArray(o.sources)) out.push({ path, ids: o.sources as string[], node: o });
      for (const [k, v] of Object.entries(o)) if (k !== 'sources') walk(v, `${path}.${k}`);
    }
  };
  walk({ ...plan, sources: undefined }, 'plan');
  return out;
}

/** Check that every source in the plan resolves into the run it came from. Returns the measured sources seen. */
export function checkTrace(plan: CapacityPlan, run: RunResults): SourceRef[] {
  const seen: SourceRef[] = [];
  for (const { path, ids } of sourceLists(plan)) {
    for (const id of ids) {
      const s = plan.sources[id];
      expect(s, `${path} cites unknown source ${id}`).toBeDefined();
      expect(s!.id).toBe(id);
      seen.push(s!);
    }
  }
  for (const s of Object.values(plan.sources)) {
    if (s.kind === 'measured') {
      expect(s.runId).toBe(run.runId);
      if (s.stat === 'overhead.ratio') {
        const o = run.overheads.find(
          (x) => x.backend === s.backend && x.workload === s.workload && x.metric === s.metric,
        );
        expect(o, `overhead ${s.backend}/${s.workload}/${s.metric}`).toBeDefined();
        expect(s.value).toBe(o!.ratio);
        expect([...s.ci95].sort((a, b) => a - b)).toEqual([...o!.ratioCi95].sort((a, b) => a - b));
      } else {
        const cell = run.cells.find((c) => c.backend === s.backend && c.workload === s.workload);
        const m = cell?.metrics.find((x) => x.metric === s.metric);
        expect(m, `cell ${s.backend}/${s.workload}/${s.metric}`).toBeDefined();
        // The model reads the cell's values through src/stats: the mean and the t CI of the mean.
        const sum = summarize(m!.values)!;
        expect(s.value).toBeCloseTo(sum.mean, 9);
        expect(s.ci95[0]).toBeCloseTo(sum.ci95[0], 9);
        expect(s.ci95[1]).toBeCloseTo(sum.ci95[1], 9);
        expect(s.rawLogs).toEqual(m!.rawLogs);
      }
    } else if (s.kind === 'derived') {
      for (const f of s.from) expect(plan.sources[f]?.kind).toBe('measured');
    }
  }
  return seen;
}
