/**
 * Rounds per probe (src/runner/rounds.ts) on fake instances: the real cpu
 * workload's probes, one FakeInstance per backend replaying recorded tool
 * output, and a global log of every exec, so the test sees the order the
 * tools ran in across backends.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';
import { cpuParams, cpuWorkload, type CpuParams } from '../../../src/workloads/cpu.js';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';
import { probesOf, WHOLE_RUN_PROBE, type Probe, type Workload } from '../../../src/workloads/types.js';
import { probeSchedule, roundId, runRepetition, type ProbeOutcome } from '../../../src/runner/rounds.js';
import type { Measurement } from '../../../src/runner/plan/index.js';
import { cellOf, recordValues, toCells, type Cells } from '../../../src/runner/plan/cells.js';
import { DutyMeter, unionMs } from '../../../src/runner/duty.js';
import { sampleRows } from '../../../src/results/io.js';
import { SCHEMA_VERSION, type RunResults } from '../../../src/results/types.js';
import { runResultsSchema } from '../../../src/results/schema.js';
import { FakeInstance, argvMatch, fromFixture, makeFakeContext, rule } from '../../helpers/fake-instance.js';

const BACKENDS = ['native', 'container:runc', 'vm:q35-tcg'];
const params = cpuParams.parse({ seconds: 1 });
const shape = { vcpus: 1, memoryMiB: 512 };

function cpuInstance(name: string, failMatrix = false): FakeInstance {
  return new FakeInstance({
    name,
    rules: [
      rule('env', (a) => a[3] === ENV_SCRIPT, { stdout: 'mounts=30\n' }),
      rule('sysbench 1t', argvMatch(['sysbench', 'cpu', '--threads=1']), fromFixture('sysbench/cpu-1t.txt')),
      rule(
        'matrix 1',
        argvMatch(['stress-ng', '--matrix', '1']),
        failMatrix ? { code: 1, stderr: 'matrix: boom' } : fromFixture('stress-ng/matrix-1.txt', 'stderr'),
      ),
      rule('null', argvMatch(['stress-ng', '--null', '1']), fromFixture('stress-ng/null-1.txt', 'stderr')),
    ],
  });
}

const measurement = (backend: string, rep: number): Measurement => ({
  workload: 'cpu',
  backend,
  rep,
  text: `rep ${rep}`,
  action: { kind: 'run' },
});

/** A harness over fake instances: each exec is logged as "backend tool" with a fake clock's span. */
function harness(o: { failMatrixOn?: string; abortAfter?: number } = {}) {
  const instances = new Map(BACKENDS.map((b) => [b, cpuInstance(b, b === o.failMatrixOn)]));
  const order: string[] = [];
  let clock = 1_000_000;
  let calls = 0;
  const run = async (
    m: Measurement,
    probe: Probe<CpuParams>,
    _round: string,
    setup: boolean,
  ): Promise<ProbeOutcome> => {
    calls++;
    const f = makeFakeContext<CpuParams>({ params, instance: instances.get(m.backend)!, spec: shape });
    const spans = new Map<string, readonly [number, number]>();
    const exec = f.ctx.exec;
    f.ctx.exec = async (inst, argv, eo) => {
      const t0 = (clock += 10);
      order.push(`${m.backend} ${argv[3] === ENV_SCRIPT ? 'env' : argv[0] === 'sysbench' ? 'sysbench' : argv[1]}`);
      const r = await exec(inst, argv, eo);
      spans.set(r.rawLog, [t0, (clock += 1000)]);
      return r;
    };
    const extras: Array<{ name: string; data: unknown }> = [];
    f.ctx.recordExtra = (name, data) => extras.push({ name, data });
    const t0 = clock;
    try {
      if (setup) await cpuWorkload.setup!(f.ctx);
      const values = await probe.run(f.ctx);
      return { ok: true, result: { values, spans, startMs: t0, endMs: clock, extras } };
    } catch {
      return { ok: false, aborted: false, extras };
    }
  };
  return { order, instances, deps: { aborted: () => o.abortAfter !== undefined && calls >= o.abortAfter, run } };
}

describe('probe schedule', () => {
  it('gives each probe its own round and rotates the backends once more per probe', () => {
    const probes = probesOf(cpuWorkload, params, shape);
    expect(probes.map((p) => p.name)).toEqual(['sysbench-1t', 'matrixprod-1t', 'syscall']);
    const s = probeSchedule('cpu', 2, probes, BACKENDS, true);
    expect(s.map((r) => r.round)).toEqual(['cpu:2:sysbench-1t', 'cpu:2:matrixprod-1t', 'cpu:2:syscall']);
    expect(s.map((r) => r.backends.join(','))).toEqual([
      'native,container:runc,vm:q35-tcg',
      'container:runc,vm:q35-tcg,native',
      'vm:q35-tcg,native,container:runc',
    ]);
    // Sequential order keeps the scenario's order for every probe.
    expect(
      probeSchedule('cpu', 2, probes, BACKENDS, false).every((r) => r.backends.join(',') === BACKENDS.join(',')),
    ).toBe(true);
  });

  it('declares the all-vCPU probes only when the instance has more than one vCPU', () => {
    expect(probesOf(cpuWorkload, params, { vcpus: 2, memoryMiB: 512 }).map((p) => p.name)).toEqual([
      'sysbench-1t',
      'sysbench-nt',
      'matrixprod-1t',
      'matrixprod-nt',
      'syscall',
    ]);
  });

  it('treats a workload that declares no probes as one probe: its run()', async () => {
    const w = {
      name: 'startup',
      metrics: [{ name: 'x' }, { name: 'y' }],
      run: async () => [{ metric: 'x', value: 1 }],
    } as unknown as Workload<unknown>;
    const probes = probesOf(w, {}, shape);
    expect(probes.map((p) => [p.name, p.metrics])).toEqual([[WHOLE_RUN_PROBE, ['x', 'y']]]);
  });
});

describe('runRepetition', () => {
  it('runs one probe on every backend back to back before the next probe, setup once per backend', async () => {
    const h = harness();
    const probes = probesOf(cpuWorkload, params, shape);
    const needSetup = new Set(BACKENDS);
    // A warm-up does not run setup (what it records would be dropped) ...
    await runRepetition(
      cpuWorkload,
      probes,
      0,
      BACKENDS.map((b) => measurement(b, 0)),
      { interleaved: true, needSetup },
      h.deps,
    );
    expect(h.order.filter((x) => x.endsWith('env'))).toEqual([]);
    h.order.length = 0;
    // ... the first measured repetition does, before each backend's first probe ...
    const r1 = await runRepetition(
      cpuWorkload,
      probes,
      1,
      BACKENDS.map((b) => measurement(b, 1)),
      { interleaved: true, needSetup },
      h.deps,
    );
    expect(h.order).toEqual([
      'native env',
      'native sysbench',
      'container:runc env',
      'container:runc sysbench',
      'vm:q35-tcg env',
      'vm:q35-tcg sysbench',
      'container:runc --matrix',
      'vm:q35-tcg --matrix',
      'native --matrix',
      'vm:q35-tcg --null',
      'native --null',
      'container:runc --null',
    ]);
    expect(needSetup.size).toBe(0);
    expect(r1.rounds).toBe(3);
    // ... and the next one does not.
    h.order.length = 0;
    await runRepetition(
      cpuWorkload,
      probes,
      2,
      BACKENDS.map((b) => measurement(b, 2)),
      { interleaved: true, needSetup },
      h.deps,
    );
    expect(h.order).toHaveLength(9);
    expect(h.order.some((x) => x.endsWith('env'))).toBe(false);

    // Every value carries its round (the same for every backend) and its tool invocation's span.
    const native = r1.byBackend.get('native')!;
    expect(native.values.map((v) => [v.metric, v.round])).toEqual([
      ['sysbench-events-1t', roundId('cpu', 1, 'sysbench-1t')],
      ['matrixprod-bogo-ops-1t', roundId('cpu', 1, 'matrixprod-1t')],
      ['syscall-ops', roundId('cpu', 1, 'syscall')],
    ]);
    for (const v of native.values) expect(v.endMs - v.startMs).toBe(1000);
    expect(r1.byBackend.get('vm:q35-tcg')!.values[0]!.round).toBe(native.values[0]!.round);
    // The environment check is setup, not measuring: 3 tool spans per backend.
    expect(native.spans).toHaveLength(3);
    expect(native.extras.map((x) => x.name)).toEqual(['environment']);
  });

  it('a backend whose probe fails sits out the rest of the repetition; the others go on', async () => {
    const h = harness({ failMatrixOn: 'container:runc' });
    const probes = probesOf(cpuWorkload, params, shape);
    const r = await runRepetition(
      cpuWorkload,
      probes,
      1,
      BACKENDS.map((b) => measurement(b, 1)),
      { interleaved: true, needSetup: new Set() },
      h.deps,
    );
    expect(r.byBackend.get('container:runc')!.failed).toBe(true);
    expect(h.order.filter((x) => x.startsWith('container:runc'))).toEqual([
      'container:runc sysbench',
      'container:runc --matrix',
    ]);
    expect(r.byBackend.get('native')!.values).toHaveLength(3);
    expect(r.byBackend.get('vm:q35-tcg')!.values).toHaveLength(3);
  });

  it('stops at the next probe once the run is interrupted', async () => {
    const h = harness({ abortAfter: 4 });
    const probes = probesOf(cpuWorkload, params, shape);
    const r = await runRepetition(
      cpuWorkload,
      probes,
      1,
      BACKENDS.map((b) => measurement(b, 1)),
      { interleaved: true, needSetup: new Set() },
      h.deps,
    );
    expect(r.aborted).toBe(true);
    expect(h.order).toHaveLength(4);
  });

  it('adaptive rounds run only the backends the plan names', async () => {
    const h = harness();
    const probes = probesOf(cpuWorkload, params, shape);
    await runRepetition(
      cpuWorkload,
      probes,
      4,
      ['native', 'container:runc'].map((b) => measurement(b, 4)),
      { interleaved: true, needSetup: new Set() },
      h.deps,
    );
    expect(h.order).toEqual([
      'native sysbench',
      'container:runc sysbench',
      'container:runc --matrix',
      'native --matrix',
      'native --null',
      'container:runc --null',
    ]);
  });
});

describe('recording rounds and spans', () => {
  it('keeps each value round and span in results.json and samples.jsonl, readable without them', async () => {
    const h = harness();
    const probes = probesOf(cpuWorkload, params, shape);
    const r = await runRepetition(
      cpuWorkload,
      probes,
      1,
      BACKENDS.map((b) => measurement(b, 1)),
      { interleaved: true, needSetup: new Set() },
      h.deps,
    );
    const cells: Cells = new Map();
    // An older value without a round (a resumed run's carried cell) is padded with ''.
    recordValues(cellOf(cells, 'native', 'cpu'), cpuWorkload, [{ metric: 'syscall-ops', value: 1 }], 9);
    for (const b of r.byBackend.values())
      recordValues(cellOf(cells, b.measurement.backend, 'cpu'), cpuWorkload, b.values, 1);
    const m = cellOf(cells, 'native', 'cpu').metrics.get('syscall-ops')!;
    expect(m.rounds).toEqual(['', 'cpu:1:syscall']);
    expect(m.starts![1]).toMatch(/^1970-01-01T00:\d\d:\d\d\.\d{3}Z$/);
    expect(m.ends).toHaveLength(2);
    const results = {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'isobench', version: 't' },
      runId: 'r',
      status: 'complete',
      startedAt: 'x',
      endedAt: 'y',
      scenarioFile: 'f',
      scenario: {},
      host: {},
      toolVersions: {},
      rootfsHash: null,
      backends: [],
      order: 'o',
      overheads: [],
      differences: [],
      warnings: [],
      cells: toCells(cells.values(), 'complete', undefined, () => true),
    } as unknown as RunResults;
    const rows = sampleRows(results).filter((x) => x.metric === 'syscall-ops' && x.backend === 'native');
    expect(rows.map((x) => x.round ?? '-')).toEqual(['-', 'cpu:1:syscall']);
    expect(rows[1]!.startedAt).toBe(m.starts![1]);
    // The schema keeps the new arrays and reads a metric without them.
    const parsedCell = runResultsSchema.shape.cells.element.parse({
      ...results.cells[0],
      metrics: [{ ...results.cells[0]!.metrics[0], rounds: undefined, starts: undefined, ends: undefined }],
    });
    expect(parsedCell.metrics[0]!.rounds).toBeUndefined();
  });
});

describe('duty cycle', () => {
  it('counts the union of tool spans against the wall time, and where the rest went', async () => {
    expect(
      unionMs([
        [0, 10],
        [5, 20],
        [30, 40],
        [40, 41],
      ]),
    ).toBe(31);
    let now = 0;
    const d = new DutyMeter(() => now);
    d.begin('cpu');
    d.measured('cpu', [
      [10, 40],
      [50, 80],
    ]);
    d.warmup('cpu', 20);
    await d.harness('cpu', 'save', async () => void (now += 5));
    now = 100;
    d.end('cpu');
    const s = d.snapshot({
      cpu: { wallMs: 100, measuringMs: 40, share: 0.4, warmupMs: 0, harness: { save: 1 }, rounds: 3 },
    });
    expect(s.cpu).toEqual({ wallMs: 200, measuringMs: 100, share: 0.5, warmupMs: 20, harness: { save: 6 }, rounds: 3 });
  });
});

describe('duty cycle in the report', () => {
  it("shows each workload's share in the Methods section (HTML and Markdown), nothing for older runs", () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'run-a.json'), 'utf8')) as RunResults;
    expect(renderMarkdown(base)).not.toContain('Measurement duty cycle');
    const withDuty: RunResults = {
      ...base,
      dutyCycle: {
        cpu: {
          wallMs: 60_000,
          measuringMs: 39_000,
          share: 0.65,
          warmupMs: 3000,
          harness: { isolate: 400, save: 20 },
          rounds: 12,
        },
      },
    };
    const md = renderMarkdown(withDuty);
    expect(md).toContain('- cpu: 39 s measuring in 60 s (65%); 12 rounds; warm-up 3.0 s; harness: isolate 0.4 s.');
    expect(renderHtml(withDuty, { rawBase: '' })).toContain('cpu: 39 s measuring in 60 s (65%)');
  });
});
