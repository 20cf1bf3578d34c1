/**
 * Resume's checks that need no host: the scenario diff, and which carried-over
 * cells are trusted.
 */
import { describe, expect, it } from 'vitest';
import { carriedCellProblems, jsonDiff } from '../../../../src/runner/plan/resume.js';
import { parseScenarioText } from '../../../../src/scenario/loader.js';
import { SCHEMA_VERSION, type RunResults } from '../../../../src/results/types.js';

const scenario = parseScenarioText('name: t\nbackends: [native]\nrepetitions: 2\nworkloads:\n  cpu: {}\n', 't.yaml')
  .scenario!;

function previous(): RunResults {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'isobench', version: '0.1.0' },
    runId: 'r',
    status: 'partial',
    startedAt: 'x',
    endedAt: null,
    scenarioFile: 't.yaml',
    scenario,
    host: {},
    toolVersions: {},
    rootfsHash: null,
    backends: [
      {
        label: 'native',
        kind: 'native',
        variant: 'host',
        accelerator: 'native',
        acceleratorReason: '',
        versions: {},
        warnings: [],
        details: {},
      },
    ],
    order: 'x',
    cells: [
      {
        backend: 'native',
        workload: 'cpu',
        state: 'partial',
        reason: 'x',
        metrics: [
          {
            metric: 'sysbench-events-1t',
            unit: 'events/s',
            higherIsBetter: true,
            values: [100],
            repetitions: [1],
            rawLogs: ['raw/native/cpu/sysbench-r1.log'],
            summary: null,
          },
        ],
      },
    ],
    overheads: [],
    differences: [],
    headline: [],
    warnings: [],
  } as RunResults;
}

describe('jsonDiff', () => {
  it('names each differing path with both values', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: true })).toEqual([
      'b.c[1]: recorded 2, given 3',
      'd: recorded (absent), given true',
    ]);
    expect(jsonDiff({ a: 1 }, { a: 1 })).toEqual([]);
  });
});

describe('carried-over cells', () => {
  it('a well-formed cell passes', () => {
    expect(carriedCellProblems(previous(), scenario)).toEqual([]);
  });
  it('each kind of tampering is named', () => {
    const cases: Array<[(p: RunResults) => void, RegExp]> = [
      [(p) => void (p.cells[0]!.backend = 'vm:q35'), /backend "vm:q35" is not one the run prepared/],
      [(p) => void (p.cells[0]!.workload = 'disk'), /workload "disk" is not in the recorded scenario/],
      [(p) => void (p.cells[0]!.metrics[0]!.metric = 'made-up'), /not a metric cpu declares/],
      [(p) => void (p.cells[0]!.metrics[0]!.unit = 'ms'), /unit or direction differs/],
      [(p) => void (p.cells[0]!.metrics[0]!.values = [Number.NaN]), /not a finite number/],
      [(p) => void (p.cells[0]!.metrics[0]!.repetitions = [0]), /not a whole number in 1\.\./],
      [(p) => void (p.cells[0]!.metrics[0]!.rawLogs = ['../../etc/passwd']), /leaves the run's raw\/ folder/],
      [(p) => void (p.cells[0]!.metrics[0]!.values = [1, 2]), /differ in length/],
      [
        (p) => {
          const m = p.cells[0]!.metrics[0]!;
          Object.assign(m, { values: [1, 2], repetitions: [1, 1], rawLogs: ['', ''] });
        },
        /recorded twice/,
      ],
    ];
    for (const [tamper, re] of cases) {
      const p = previous();
      tamper(p);
      expect(carriedCellProblems(p, scenario).join('\n')).toMatch(re);
    }
  });
});
