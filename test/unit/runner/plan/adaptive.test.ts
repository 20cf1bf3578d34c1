import { describe, expect, it } from 'vitest';
import type { Difference, Overhead } from '../../../../src/results/types.js';
import { adaptiveUndecided as undecidedFigures } from '../../../../src/runner/plan/adaptive.js';

/** Names ("backend/metric") of the figures adaptive repetition would still go on for. */
const adaptiveUndecided = (figures: ReadonlyArray<Overhead | Difference>, target: number): string[] => undecidedFigures(figures, target).map((f) => `${f.backend}/${f.metric}`);
import { parseScenarioText } from '../../../../src/scenario/loader.js';
import { splitWorkloadEntry } from '../../../../src/scenario/schema.js';
import { computeComparisons } from '../../../../src/stats/comparisons.js';

const ov = (verdict: Overhead['verdict'], ci: [number, number]): Overhead =>
  ({ backend: 'b', workload: 'cpu', metric: 'm', unit: 'x/s', higherIsBetter: true, ratio: 1, ratioCi95: [0.9, 1.1], overheadPct: 0, overheadPctCi95: ci, verdict, thresholdPct: 3, detectablePct: 5, repetitionsNeeded: 9, n: [3, 3] }) as Overhead;
const df = (verdict: Difference['verdict'], ci: [number, number], threshold: number): Difference =>
  ({ backend: 'b', workload: 'partition', metric: 'cpu-share-error-pp', unit: 'pp', higherIsBetter: false, diff: 0, ci95: ci, nativeMean: 0.1, backendMean: 0.1, verdict, threshold, detectable: 1, repetitionsNeeded: 5, n: [3, 3] }) as Difference;

describe('adaptive repetition stops on what the report shows', () => {
  it('goes on while an overhead is inconclusive and wider than the target; a decided verdict stops it', () => {
    expect(adaptiveUndecided([ov('inconclusive', [-5, 6])], 3)).toEqual(['b/m']);
    expect(adaptiveUndecided([ov('inconclusive', [-2, 3])], 3)).toEqual([]); // half-width 2.5 < 3
    expect(adaptiveUndecided([ov('overhead', [5, 60])], 3)).toEqual([]);
    expect(adaptiveUndecided([ov('no-practical-difference', [-2, 2])], 3)).toEqual([]);
  });
  it('figures in pp (near zero) use their threshold in their unit, never a percent of a ~0 mean', () => {
    expect(adaptiveUndecided([df('inconclusive', [-8, 9], 5)], 3)).toEqual(['b/cpu-share-error-pp']);
    expect(adaptiveUndecided([df('inconclusive', [-4, 4.5], 5)], 3)).toEqual([]);
  });
  it('pp metrics are compared by difference, with a pp threshold', () => {
    const cells = [
      { backend: 'native', workload: 'partition', state: 'complete' as const, metrics: [{ metric: 'cpu-share-error-pp', unit: 'pp', higherIsBetter: false, values: [0.1, 0.3, 0.2], repetitions: [1, 2, 3], rawLogs: [], summary: null }] },
      { backend: 'c', workload: 'partition', state: 'complete' as const, metrics: [{ metric: 'cpu-share-error-pp', unit: 'pp', higherIsBetter: false, values: [0.5, 0.9, 0.7], repetitions: [1, 2, 3], rawLogs: [], summary: null }] },
    ];
    const backends = [
      { label: 'native', kind: 'native' as const, variant: 'host', accelerator: 'native', acceleratorReason: '', versions: {}, warnings: [], details: {} },
      { label: 'c', kind: 'container' as const, variant: 'runc', accelerator: 'runc', acceleratorReason: '', versions: {}, warnings: [], details: {} },
    ];
    const c = computeComparisons(cells, backends);
    expect(c.overheads).toEqual([]);
    expect(c.differences[0]).toMatchObject({ metric: 'cpu-share-error-pp', threshold: 5, verdict: 'no-practical-difference' });
    expect(computeComparisons(cells, backends, { partition: { pp: 0.1 } }).differences[0]!.threshold).toBe(0.1);
  });
});

describe('scenario: per-workload repetitions and thresholds', () => {
  it('a workload with its own repetitions is not adaptive', () => {
    expect(splitWorkloadEntry({ repetitions: 3, seconds: 1 }, { repetitions: 5, warmup: 1 })).toMatchObject({ repetitions: 3, explicitRepetitions: true });
    expect(splitWorkloadEntry({ seconds: 1 }, { repetitions: 5, warmup: 1 })).toMatchObject({ repetitions: 5, explicitRepetitions: false });
  });
  it('thresholds: per category, a percent or per-unit values; an unknown category is an error naming it', () => {
    const base = 'name: t\nbackends: [native]\nworkloads:\n  cpu: {seconds: 1}\n';
    const ok = parseScenarioText(`${base}thresholds:\n  cpu: 2\n  startup: {ms: 100}\nadaptive: {targetCiPct: 3, maxRepetitions: 10, maxMinutes: 5}\n`, 't.yaml');
    expect(ok.problems).toEqual([]);
    expect(ok.scenario!.thresholds).toEqual({ cpu: 2, startup: { ms: 100 } });
    const bad = parseScenarioText(`${base}thresholds:\n  cpux: 2\n`, 't.yaml');
    expect(bad.problems.join('\n')).toMatch(/thresholds\.cpux.*unknown category "cpux"/);
  });
});
