import { describe, expect, it } from 'vitest';
import { cpuParams, cpuWorkload, sysbenchFigure, type CpuParams } from '../../../src/workloads/cpu.js';
import { ParseError } from '../../../src/workloads/types.js';
import { FakeInstance, argvMatch, fromFixture, makeFakeContext, rule } from '../../helpers/fake-instance.js';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';

/** The workload's tool calls, without the environment check every repetition starts with. */
const work = (calls: string[][]): string[][] => calls.filter((c) => c[3] !== ENV_SCRIPT);

const defaults = cpuParams.parse({});

function cpuInstance(opts: { truncated?: boolean; sysbench1t?: string } = {}): FakeInstance {
  return new FakeInstance({
    rules: [
      rule(
        'sysbench 1t',
        argvMatch(['sysbench', 'cpu', '--threads=1']),
        fromFixture(opts.truncated ? 'sysbench/cpu-1t.truncated.txt' : (opts.sysbench1t ?? 'sysbench/cpu-1t.txt')),
      ),
      rule('sysbench 2t', argvMatch(['sysbench', 'cpu', '--threads=2']), fromFixture('sysbench/cpu-2t.txt')),
      rule('matrix 1', argvMatch(['stress-ng', '--matrix', '1']), fromFixture('stress-ng/matrix-1.txt', 'stderr')),
      rule('matrix 2', argvMatch(['stress-ng', '--matrix', '2']), fromFixture('stress-ng/matrix-2.txt', 'stderr')),
      rule('null', argvMatch(['stress-ng', '--null', '1']), fromFixture('stress-ng/null-1.txt', 'stderr')),
    ],
  });
}

describe('cpu params', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({ seconds: 3, maxPrime: 10000, matrixSize: 128, syscallStressor: 'null', allVcpus: true });
  });
  it('rejects unknown keys and bad types', () => {
    expect(cpuParams.safeParse({ secnds: 3 }).success).toBe(false);
    expect(cpuParams.safeParse({ seconds: '3' }).success).toBe(false);
    expect(cpuParams.safeParse({ seconds: 1.5 }).success).toBe(false);
    expect(cpuParams.safeParse({ syscallStressor: 'fork' }).success).toBe(false);
    // get statfs()es every mount per op: its work depends on the environment, so it is refused.
    expect(cpuParams.safeParse({ syscallStressor: 'get' }).success).toBe(false);
  });
});

describe('cpu run', () => {
  it('runs sysbench and stress-ng on 1 and on all vCPUs and maps each figure', async () => {
    const inst = cpuInstance();
    const f = makeFakeContext<CpuParams>({ params: defaults, instance: inst, spec: { vcpus: 2 } });
    const values = await cpuWorkload.run(f.ctx);
    expect(work(inst.calls)).toEqual([
      ['sysbench', 'cpu', '--threads=1', '--time=3', '--cpu-max-prime=10000', '--report-interval=1', 'run'],
      ['sysbench', 'cpu', '--threads=2', '--time=3', '--cpu-max-prime=10000', '--report-interval=1', 'run'],
      [
        'stress-ng',
        '--matrix',
        '1',
        '--matrix-method',
        'prod',
        '--matrix-size',
        '128',
        '-t',
        '3',
        '--temp-path',
        '/tmp',
        '--metrics-brief',
      ],
      [
        'stress-ng',
        '--matrix',
        '2',
        '--matrix-method',
        'prod',
        '--matrix-size',
        '128',
        '-t',
        '3',
        '--temp-path',
        '/tmp',
        '--metrics-brief',
      ],
      ['stress-ng', '--null', '1', '-t', '3', '--temp-path', '/tmp', '--metrics-brief'],
    ]);
    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['sysbench-events-1t', 3841.27],
      ['sysbench-events-nt', 3939.57],
      ['matrixprod-bogo-ops-1t', 865.08],
      ['matrixprod-bogo-ops-nt', 907.98],
      ['syscall-ops', 25229.54],
    ]);
    // Every value is traced to the raw log of the exec it came from, and is declared.
    for (const v of values) expect(f.raw.has(v.rawLog ?? '')).toBe(true);
    const declared = new Set(cpuWorkload.metrics.map((m) => m.name));
    for (const v of values) expect(declared.has(v.metric)).toBe(true);
    // Each exec is bounded by at least the tool's own time.
    for (const e of f.log) expect(e.timeoutMs).toBeGreaterThan(3000);
  });

  it('skips the all-vCPU runs on a 1-vCPU instance', async () => {
    const inst = cpuInstance();
    const f = makeFakeContext<CpuParams>({ params: { ...defaults, seconds: 1 }, instance: inst, spec: { vcpus: 1 } });
    const values = await cpuWorkload.run(f.ctx);
    expect(values.map((v) => v.metric)).toEqual(['sysbench-events-1t', 'matrixprod-bogo-ops-1t', 'syscall-ops']);
    expect(work(inst.calls)).toHaveLength(3);
    expect(work(inst.calls)[0]).toContain('--time=1');
    expect(work(inst.calls)[2]).toEqual([
      'stress-ng',
      '--null',
      '1',
      '-t',
      '1',
      '--temp-path',
      '/tmp',
      '--metrics-brief',
    ]);
  });

  it('a run of 3 s or more reports per-second rates and the figure is their median', async () => {
    const inst = cpuInstance({ sysbench1t: 'sysbench/cpu-1t-intervals.txt' });
    const f = makeFakeContext<CpuParams>({ params: defaults, instance: inst, spec: { vcpus: 1 } });
    const values = await cpuWorkload.run(f.ctx);
    // Seconds at 3211.56, 1710.40 and 1719.93 events/s (the run's mean is 2211.84): the median is 1719.93.
    expect(values.find((v) => v.metric === 'sysbench-events-1t')?.value).toBe(1719.93);
    expect(sysbenchFigure({ eventsPerSecond: 5 }, [1, 2])).toBe(5);
    expect(sysbenchFigure({ eventsPerSecond: 5 }, [4, 1, 3, 2])).toBe(2.5);
  });

  it('sysbenchSeconds sets sysbench alone; a warm-up runs every tool for 1 s', async () => {
    const params = cpuParams.parse({ seconds: 2, sysbenchSeconds: 4 });
    const measured = cpuInstance();
    await cpuWorkload.run(makeFakeContext<CpuParams>({ params, instance: measured, spec: { vcpus: 1 } }).ctx);
    expect(work(measured.calls).map((c) => c.find((a) => a.startsWith('--time=')) ?? c[c.indexOf('-t') + 1])).toEqual([
      '--time=4',
      '2',
      '2',
    ]);
    const warm = cpuInstance();
    const f = makeFakeContext<CpuParams>({ params, instance: warm, spec: { vcpus: 1 } });
    await cpuWorkload.run({ ...f.ctx, repetition: 0 });
    expect(work(warm.calls).map((c) => c.find((a) => a.startsWith('--time=')) ?? c[c.indexOf('-t') + 1])).toEqual([
      '--time=1',
      '1',
      '1',
    ]);
  });

  it('fails with a ParseError naming sysbench and the raw log on truncated output', async () => {
    const f = makeFakeContext<CpuParams>({ params: defaults, instance: cpuInstance({ truncated: true }) });
    const err = await cpuWorkload.run(f.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(String((err as Error).message)).toMatch(/^sysbench: .*\[raw log: raw\/\d+-cpu-sysbench-1t\.log\]$/);
  });
});
