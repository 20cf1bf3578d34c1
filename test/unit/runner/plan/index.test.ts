/**
 * The plan layer (src/runner/plan/) on plain data: a fake backend is a
 * function from (backend, repetition) to a value, the cpu workload's real
 * metric declaration records it, and the run's real comparison code decides
 * the adaptive verdicts. No instance, no host, no clock.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../../../src/scenario/loader.js';
import type { Scenario } from '../../../../src/scenario/schema.js';
import { getWorkload } from '../../../../src/workloads/registry.js';
import '../../../../src/workloads/index.js';
import { SCHEMA_VERSION, type BackendResult, type Cell, type RunResults } from '../../../../src/results/types.js';
import { computeComparisons } from '../../../../src/stats/comparisons.js';
import {
  cellComplete,
  makePlan,
  nextRound,
  workloadPlan,
  type PlanBackend,
  type RunPlan,
} from '../../../../src/runner/plan/index.js';
import { cellOf, recordValues, toCells, type Cells } from '../../../../src/runner/plan/cells.js';
import { carriedCells, scenarioChanges } from '../../../../src/runner/plan/resume.js';
import { resumeScenario } from '../../../../src/runner/resume.js';

const METRIC = 'sysbench-events-1t';
const cpu = getWorkload('cpu')!;

function scenarioOf(yaml: string): Scenario {
  const r = parseScenarioText(yaml, 't.yaml');
  expect(r.problems).toEqual([]);
  return r.scenario!;
}

const three: PlanBackend[] = [
  { label: 'native', baseline: true },
  { label: 'container:runc' },
  { label: 'vm:q35-tcg' },
];
const kinds: Record<string, BackendResult['kind']> = {
  native: 'native',
  'container:runc': 'container',
  'vm:q35-tcg': 'vm',
};
const info = (label: string): BackendResult => ({
  label,
  kind: kinds[label]!,
  variant: 'x',
  accelerator: 'x',
  acceleratorReason: '',
  versions: {},
  warnings: [],
  details: {},
});

/** Rounds as "rep:A,B,C" strings, from the plan's measurement list. */
function rounds(plan: RunPlan, workload: string): string[] {
  const out = new Map<number, string[]>();
  for (const m of plan.measurements.filter((x) => x.workload === workload))
    out.set(m.rep, [...(out.get(m.rep) ?? []), m.backend]);
  return [...out].map(([rep, bs]) => `${rep}:${bs.join(',')}`);
}

type FakeBackend = (backend: string, rep: number) => number;

/**
 * What the executor does with a plan, minus instances: run each planned
 * measurement whose action is 'run' on the fake backend, record it, and ask
 * the plan for adaptive rounds with the run's real comparisons as figures.
 * Returns the measurements run, in order.
 */
function drive(
  plan: RunPlan,
  cells: Cells,
  fake: FakeBackend,
  elapsedMsAt: (rep: number) => number = () => 0,
): { ran: string[]; stops: Array<{ workload: string; rep: number; reason: string; warning?: string }> } {
  const ran: string[] = [];
  const stops: Array<{ workload: string; rep: number; reason: string; warning?: string }> = [];
  const figures = (): ReturnType<typeof computeComparisons>['overheads'] => {
    const c: Cell[] = toCells(cells.values(), 'partial', undefined, (x) => cellComplete(plan.workloads, x, 1));
    const cmp = computeComparisons(
      c,
      plan.backends.map((b) => info(b.label)),
    );
    return [...cmp.overheads];
  };
  for (const w of plan.workloads) {
    // Unbounded: the plan alone must end the workload (the executor also stops at maxRepetitions).
    for (let rep = 1 - w.warmup; ; rep++) {
      let ms = plan.measurements.filter((m) => m.workload === w.workload && m.rep === rep);
      if (rep > w.repetitions) {
        const next = nextRound(plan, w, rep, elapsedMsAt(rep), figures);
        if (!next.more || !next.round) {
          if (!next.more)
            stops.push({
              workload: w.workload,
              rep,
              reason: next.reason,
              ...(next.warning ? { warning: next.warning.code } : {}),
            });
          break;
        }
        ms = next.round;
      }
      for (const m of ms) {
        if (m.action.kind !== 'run') continue;
        ran.push(`${m.backend}#${m.rep}`);
        if (m.rep > 0)
          recordValues(
            cellOf(cells, m.backend, m.workload),
            cpu,
            [{ metric: METRIC, value: fake(m.backend, m.rep) }],
            m.rep,
          );
      }
    }
  }
  return { ran, stops };
}

describe('plan: order', () => {
  it('interleaved: every backend in each round, the first one rotating each round (warm-ups included)', () => {
    const s = scenarioOf(
      'name: t\nbackends: [native]\nrepetitions: 3\nwarmup: 1\norder: interleaved\nworkloads:\n  cpu: {}\n',
    );
    const plan = makePlan({ scenario: s, backends: three });
    expect(rounds(plan, 'cpu')).toEqual([
      '0:native,container:runc,vm:q35-tcg',
      '1:container:runc,vm:q35-tcg,native',
      '2:vm:q35-tcg,native,container:runc',
      '3:native,container:runc,vm:q35-tcg',
    ]);
    expect(plan.measurements.map((m) => m.text).slice(0, 4)).toEqual([
      'warm-up 1/1',
      'warm-up 1/1',
      'warm-up 1/1',
      'rep 1/3',
    ]);
    expect(plan.measurements.every((m) => m.action.kind === 'run')).toBe(true);
  });

  it('sequential: the same backend order every round', () => {
    const s = scenarioOf(
      'name: t\nbackends: [native]\nrepetitions: 2\nwarmup: 0\norder: sequential\nworkloads:\n  cpu: {}\n',
    );
    expect(rounds(makePlan({ scenario: s, backends: three }), 'cpu')).toEqual([
      '1:native,container:runc,vm:q35-tcg',
      '2:native,container:runc,vm:q35-tcg',
    ]);
  });

  it("workloads in the scenario's order, each with its own repetitions and warm-ups; an unavailable backend's measurements are skipped with its reason", () => {
    const s = scenarioOf(
      'name: t\nbackends: [native]\nrepetitions: 2\nwarmup: 1\nworkloads:\n  cpu: {repetitions: 4, warmup: 0}\n  memory: {}\n',
    );
    const plan = makePlan({
      scenario: s,
      backends: [{ label: 'native' }, { label: 'vm:q35-tcg', unavailable: 'no qemu' }],
    });
    expect(plan.workloads.map((w) => [w.workload, w.warmup, w.repetitions])).toEqual([
      ['cpu', 0, 4],
      ['memory', 1, 2],
    ]);
    expect(plan.measurements).toHaveLength(4 * 2 + 3 * 2);
    expect(rounds(plan, 'cpu')).toEqual([
      '1:native,vm:q35-tcg',
      '2:vm:q35-tcg,native',
      '3:native,vm:q35-tcg',
      '4:vm:q35-tcg,native',
    ]);
    const vm = plan.measurements.filter((m) => m.backend === 'vm:q35-tcg');
    expect(vm.every((m) => m.action.kind === 'skip' && m.action.reason === 'backend unavailable: no qemu')).toBe(true);
  });
});

function previousRun(scenario: Scenario, cells: Cell[]): RunResults {
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
    backends: three.map((b) => info(b.label)),
    order: 'x',
    cells,
    overheads: [],
    differences: [],
    headline: [],
    warnings: [],
  } as RunResults;
}
const metric = (reps: number[]): Cell['metrics'][number] => ({
  metric: METRIC,
  unit: 'events/s',
  higherIsBetter: true,
  values: reps.map((r) => 100 + r),
  repetitions: reps,
  rawLogs: reps.map(() => ''),
  summary: null,
});

describe('plan: resume', () => {
  const s = scenarioOf('name: t\nbackends: [native]\nrepetitions: 3\nwarmup: 1\nworkloads:\n  cpu: {}\n');
  const prev = previousRun(s, [
    { backend: 'native', workload: 'cpu', state: 'complete', metrics: [metric([1, 2, 3])] },
    { backend: 'container:runc', workload: 'cpu', state: 'partial', reason: 'interrupted', metrics: [metric([1])] },
    {
      backend: 'vm:q35-tcg',
      workload: 'cpu',
      state: 'failed',
      stage: 'exec',
      error: 'boom',
      metrics: [metric([1, 2])],
    },
  ]);

  it('complete repetitions are carried over, missing ones run again; warm-ups only where nothing was measured', () => {
    const cells = carriedCells(prev);
    const plan = makePlan({ scenario: s, backends: three, previous: cells });
    const act = (backend: string, rep: number): string =>
      plan.measurements.find((m) => m.backend === backend && m.rep === rep)!.action.kind;
    expect([0, 1, 2, 3].map((r) => act('native', r))).toEqual(['warmed', 'carried', 'carried', 'carried']);
    expect([0, 1, 2, 3].map((r) => act('container:runc', r))).toEqual(['warmed', 'carried', 'run', 'run']);
    // A failed cell keeps its values, not its failure: its missing repetition runs again.
    expect([0, 1, 2, 3].map((r) => act('vm:q35-tcg', r))).toEqual(['warmed', 'carried', 'carried', 'run']);
    expect(cells.get(`vm:q35-tcg\u0000cpu`)?.failure).toBeUndefined();
    const { ran } = drive(plan, cells, () => 100);
    expect(ran).toEqual(['container:runc#2', 'container:runc#3', 'vm:q35-tcg#3']);
    expect(
      toCells(cells.values(), 'partial', undefined, (c) => cellComplete(plan.workloads, c, 3)).map((c) => [
        c.backend,
        c.state,
        c.metrics[0]!.repetitions,
      ]),
    ).toEqual([
      ['native', 'complete', [1, 2, 3]],
      ['container:runc', 'complete', [1, 2, 3]],
      ['vm:q35-tcg', 'complete', [1, 2, 3]],
    ]);
  });

  it('a skipped cell is not carried: it runs from its warm-up on, like a cell never started', () => {
    const cells = carriedCells(
      previousRun(s, [
        { backend: 'native', workload: 'cpu', state: 'skipped', reason: 'backend unavailable', metrics: [] },
      ]),
    );
    expect(cells.size).toBe(0);
    const plan = makePlan({ scenario: s, backends: [{ label: 'native' }], previous: cells });
    expect(plan.measurements.map((m) => m.action.kind)).toEqual(['run', 'run', 'run', 'run']);
  });

  it('a fresh run plans no carried measurement', () => {
    expect(makePlan({ scenario: s, backends: three }).measurements.some((m) => m.action.kind !== 'run')).toBe(false);
  });

  it('a changed scenario is refused with the differences; the same one (after defaults) resumes', async () => {
    const changed = scenarioOf('name: t\nbackends: [native]\nrepetitions: 5\nwarmup: 1\nworkloads:\n  cpu: {}\n');
    expect(scenarioChanges(s, changed)).toEqual(['repetitions: recorded 3, given 5']);
    expect(
      scenarioChanges(s, scenarioOf('name: t\nbackends: [native]\nrepetitions: 3\nwarmup: 1\nworkloads:\n  cpu: {}\n')),
    ).toEqual([]);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'isobench-plan-test-'));
    try {
      const file = path.join(dir, 's.yaml');
      await fs.writeFile(file, 'name: t\nbackends: [native]\nrepetitions: 5\nwarmup: 1\nworkloads:\n  cpu: {}\n');
      await expect(resumeScenario(prev, dir, file)).rejects.toMatchObject({
        code: 'BAD_ARGS',
        details: ['  repetitions: recorded 3, given 5'],
      });
      await fs.writeFile(file, 'name: t\nbackends: [native]\nrepetitions: 3\nwarmup: 1\nworkloads:\n  cpu: {}\n');
      expect(await resumeScenario(prev, dir, file)).toEqual(s);
      expect(await resumeScenario(prev, dir, undefined)).toEqual(s);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plan: adaptive repetition', () => {
  const two: PlanBackend[] = [{ label: 'native', baseline: true }, { label: 'container:runc' }];
  const adaptiveYaml = (extra = ''): string =>
    `name: t\nbackends: [native]\nrepetitions: 3\nwarmup: 0\nadaptive: {targetCiPct: 2, maxRepetitions: 8, maxMinutes: 1}\nworkloads:\n  cpu: {${extra}}\n`;
  // Noisy beyond any target: the verdict stays inconclusive whatever n.
  const noisy: FakeBackend = (b, rep) =>
    (b === 'native' ? 100 : 100) + (rep % 2 === 0 ? 40 : -40) * (b === 'native' ? 1 : -1);
  // Identical and steady: decided (no practical difference) from the base repetitions on.
  const steady: FakeBackend = (_b, rep) => 100 + (rep % 2) * 0.01;

  // Within the plan: the container moves ±2% from round to round (per-pair spread ~2.1%): a pilot of 3 plans 7 pairs
  // at ±3% (src/stats/sequential.ts), within maxRepetitions 8.
  const planned: FakeBackend = (b, rep) => (b === 'native' ? 100 : 100 * (1 + (rep % 2 ? 0.02 : -0.02)));

  it('goes on past the pilot to the planned pairs, and says why it stopped', () => {
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: two });
    const { ran, stops } = drive(plan, new Map(), planned);
    expect(ran.filter((r) => r.startsWith('native#'))).toHaveLength(7);
    expect(stops).toEqual([{ workload: 'cpu', rep: 8, reason: 'decided' }]);
    // Adaptive rounds keep the rotation: repetition 4 starts with container, 5 with native.
    expect(ran.slice(6, 10)).toEqual(['container:runc#4', 'native#4', 'native#5', 'container:runc#5']);
  });

  it('a figure whose plan exceeds maxRepetitions stops at the pilot: not decidable here, with a warning', () => {
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: two });
    const { ran, stops } = drive(plan, new Map(), noisy);
    expect(ran.filter((r) => r.startsWith('native#'))).toHaveLength(3);
    expect(stops).toEqual([{ workload: 'cpu', rep: 4, reason: 'not-decidable', warning: 'NOT_DECIDABLE' }]);
  });

  it('an adaptive round measures the baseline and only the backends still undecided', () => {
    const three: PlanBackend[] = [...two, { label: 'vm:q35-tcg' }];
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: three });
    // The VM is ten times slower every time (decided at the pilot: overhead); the container needs its planned pairs.
    const fake: FakeBackend = (b, rep) => (b === 'vm:q35-tcg' ? 10 + (rep % 2) * 0.001 : planned(b, rep));
    const { ran, stops } = drive(plan, new Map(), fake);
    expect(ran.filter((r) => r.startsWith('vm:q35-tcg#'))).toHaveLength(3);
    expect(ran.filter((r) => r.startsWith('native#'))).toHaveLength(7);
    expect(ran.filter((r) => r.startsWith('container:runc#'))).toHaveLength(7);
    expect(stops).toEqual([{ workload: 'cpu', rep: 8, reason: 'decided' }]);
    const next = nextRound(plan, plan.workloads[0]!, 4, 0, () => [
      {
        backend: 'container:runc',
        workload: 'cpu',
        metric: 'a/b',
        verdict: 'inconclusive',
        overheadPctCi95: [-50, 50],
      } as unknown as ReturnType<typeof computeComparisons>['overheads'][number],
    ]);
    expect(next.round?.map((m) => m.backend).sort()).toEqual(['container:runc', 'native']);
    expect(next.round?.[0]?.text).toBe('rep 4 (adaptive, up to 8)');
  });

  it('stops at the base count once the target is reached', () => {
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: two });
    const { ran, stops } = drive(plan, new Map(), steady);
    expect(ran).toHaveLength(6);
    expect(stops).toEqual([{ workload: 'cpu', rep: 4, reason: 'decided' }]);
  });

  it('stops at the time box with a warning', () => {
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: two });
    const { ran, stops } = drive(plan, new Map(), planned, (rep) => (rep >= 6 ? 61_000 : 0));
    expect(ran.filter((r) => r.startsWith('native#'))).toHaveLength(5);
    expect(stops).toEqual([{ workload: 'cpu', rep: 6, reason: 'time-box', warning: 'ADAPTIVE_TIME_BOX' }]);
  });

  it('a workload with its own repetition count is not adaptive, and figures are not even computed', () => {
    const s = scenarioOf(adaptiveYaml('repetitions: 3'));
    expect(workloadPlan(s, 'cpu')).toMatchObject({ repetitions: 3, maxRepetitions: 3 });
    expect(workloadPlan(s, 'cpu').adaptive).toBeUndefined();
    const plan = makePlan({ scenario: s, backends: two });
    expect(drive(plan, new Map(), noisy).ran).toHaveLength(6);
    const w = plan.workloads[0]!;
    expect(
      nextRound(plan, w, 4, 0, () => {
        throw new Error('figures read for a non-adaptive workload');
      }),
    ).toEqual({ more: false, reason: 'not-adaptive' });
  });

  it("only the workload's own figures keep it going", () => {
    const plan = makePlan({ scenario: scenarioOf(adaptiveYaml()), backends: two });
    const open = {
      backend: 'container:runc',
      workload: 'memory',
      metric: 'm',
      verdict: 'inconclusive',
      overheadPctCi95: [-50, 50],
    } as unknown as ReturnType<typeof computeComparisons>['overheads'][number];
    expect(nextRound(plan, plan.workloads[0]!, 4, 0, () => [open])).toMatchObject({ more: false, reason: 'decided' });
    expect(nextRound(plan, plan.workloads[0]!, 4, 0, () => [{ ...open, workload: 'cpu' }])).toMatchObject({
      more: true,
      open: ['container:runc/m'],
    });
  });
});
