import { describe, expect, it } from 'vitest';
import type { Difference, Overhead } from '../../../../src/results/types.js';
import { adaptiveUndecided as undecidedFigures } from '../../../../src/runner/plan/adaptive.js';
import type { LookPlan } from '../../../../src/stats/sequential.js';

/** Names ("backend/metric") of the figures adaptive repetition would still go on for. */
const adaptiveUndecided = (figures: ReadonlyArray<Overhead | Difference>, plan: LookPlan): string[] =>
  undecidedFigures(figures, plan).map((f) => `${f.backend}/${f.metric}`);
import { parseScenarioText } from '../../../../src/scenario/loader.js';
import { splitWorkloadEntry } from '../../../../src/scenario/schema.js';
import { computeComparisons } from '../../../../src/stats/comparisons.js';

/** A paired overhead after `pairs` rounds: ratio 1 (true 0), per-pair spread `spread` (ln units). */
const ov = (verdict: Overhead['verdict'], pairs: number, spread: number, ratio = 1): Overhead =>
  ({
    backend: 'b',
    workload: 'cpu',
    metric: 'm',
    unit: 'x/s',
    higherIsBetter: true,
    ratio,
    ratioCi95: [0.9, 1.1],
    overheadPct: 0,
    overheadPctCi95: [-5, 5],
    verdict,
    thresholdPct: 3,
    detectablePct: 5,
    repetitionsNeeded: 9,
    n: [pairs, pairs],
    design: 'paired',
    pairs,
    spread,
    df: pairs - 1,
  }) as Overhead;
const df = (verdict: Difference['verdict'], pairs: number, spread: number, threshold: number): Difference =>
  ({
    backend: 'b',
    workload: 'partition',
    metric: 'cpu-share-error-pp',
    unit: 'pp',
    higherIsBetter: false,
    diff: 0,
    ci95: [-1, 1],
    nativeMean: 0.1,
    backendMean: 0.1,
    verdict,
    threshold,
    detectable: 1,
    repetitionsNeeded: 5,
    n: [pairs, pairs],
    design: 'paired',
    pairs,
    spread,
    df: pairs - 1,
  }) as Difference;

describe('adaptive repetition: pilot, power plan, one final look (src/stats/sequential.ts)', () => {
  const plan = { pilot: 6, cap: 20 };
  it('runs the pilot whatever the verdict reads, then goes on to the planned pairs and stops there', () => {
    expect(adaptiveUndecided([ov('overhead', 4, 0.02)], plan)).toEqual(['b/m']);
    // Spread 2.5% per pair at ±3%: about 8-9 pairs planned; at 6 not decided at the pilot's 99.8% level.
    expect(adaptiveUndecided([ov('inconclusive', 6, 0.025)], plan)).toEqual(['b/m']);
    expect(adaptiveUndecided([ov('inconclusive', 7, 0.025)], plan)).toEqual(['b/m']);
    expect(adaptiveUndecided([ov('inconclusive', 12, 0.025)], plan)).toEqual([]);
  });
  it('stops at the pilot when the figure is decided at the stringent pilot level', () => {
    expect(adaptiveUndecided([ov('overhead', 6, 0.01, 0.5)], plan)).toEqual([]);
  });
  it('stops at once when the plan exceeds the cap (not decidable here)', () => {
    expect(adaptiveUndecided([ov('inconclusive', 6, 0.2)], plan)).toEqual([]);
  });
  it('figures in pp (near zero) are planned on their threshold in their unit', () => {
    expect(adaptiveUndecided([df('inconclusive', 6, 6, 5)], plan)).toEqual(['b/cpu-share-error-pp']);
    expect(adaptiveUndecided([df('inconclusive', 6, 40, 5)], plan)).toEqual([]);
  });
  it('pp metrics are compared by difference, with a pp threshold', () => {
    const cells = [
      {
        backend: 'native',
        workload: 'partition',
        state: 'complete' as const,
        metrics: [
          {
            metric: 'cpu-share-error-pp',
            unit: 'pp',
            higherIsBetter: false,
            values: [0.1, 0.3, 0.2],
            repetitions: [1, 2, 3],
            rawLogs: [],
            summary: null,
          },
        ],
      },
      {
        backend: 'c',
        workload: 'partition',
        state: 'complete' as const,
        metrics: [
          {
            metric: 'cpu-share-error-pp',
            unit: 'pp',
            higherIsBetter: false,
            values: [0.5, 0.9, 0.7],
            repetitions: [1, 2, 3],
            rawLogs: [],
            summary: null,
          },
        ],
      },
    ];
    const backends = [
      {
        label: 'native',
        kind: 'native' as const,
        variant: 'host',
        accelerator: 'native',
        acceleratorReason: '',
        versions: {},
        warnings: [],
        details: {},
      },
      {
        label: 'c',
        kind: 'container' as const,
        variant: 'runc',
        accelerator: 'runc',
        acceleratorReason: '',
        versions: {},
        warnings: [],
        details: {},
      },
    ];
    const c = computeComparisons(cells, backends);
    expect(c.overheads).toEqual([]);
    expect(c.differences[0]).toMatchObject({
      metric: 'cpu-share-error-pp',
      threshold: 5,
      verdict: 'no-practical-difference',
    });
    expect(computeComparisons(cells, backends, { partition: { pp: 0.1 } }).differences[0]!.threshold).toBe(0.1);
  });
});

describe('scenario: per-workload repetitions and thresholds', () => {
  it('a workload with its own repetitions is not adaptive', () => {
    expect(splitWorkloadEntry({ repetitions: 3, seconds: 1 }, { repetitions: 5, warmup: 1 })).toMatchObject({
      repetitions: 3,
      explicitRepetitions: true,
    });
    expect(splitWorkloadEntry({ seconds: 1 }, { repetitions: 5, warmup: 1 })).toMatchObject({
      repetitions: 5,
      explicitRepetitions: false,
    });
  });
  it('thresholds: per category, a percent or per-unit values; an unknown category is an error naming it', () => {
    const base = 'name: t\nbackends: [native]\nworkloads:\n  cpu: {seconds: 1}\n';
    const ok = parseScenarioText(
      `${base}thresholds:\n  cpu: 2\n  startup: {ms: 100}\nadaptive: {targetCiPct: 3, maxRepetitions: 10, maxMinutes: 5}\n`,
      't.yaml',
    );
    expect(ok.problems).toEqual([]);
    expect(ok.scenario!.thresholds).toEqual({ cpu: 2, startup: { ms: 100 } });
    const bad = parseScenarioText(`${base}thresholds:\n  cpux: 2\n`, 't.yaml');
    expect(bad.problems.join('\n')).toMatch(/thresholds\.cpux.*unknown category "cpux"/);
  });
});
