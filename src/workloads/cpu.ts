/**
 * CPU: how much compute and how many system calls an instance gets, against the
 * same binaries on the host.
 *
 *  - sysbench cpu (prime search up to maxPrime): pure integer work in registers
 *    and L1, no memory traffic and no system calls: the figure that isolation
 *    should not change at all on hardware virtualization, and the one that shows
 *    the raw cost of emulation (TCG) or a CPU quota. Measured on 1 thread and on
 *    spec.vcpus threads (the second also exposes vCPU scheduling and cpuset
 *    placement).
 *  - stress-ng matrix (method prod, matrixSize x matrixSize long doubles): a
 *    second, floating-point and cache-bound compute method, so a verdict does not
 *    rest on one benchmark's instruction mix. Same 1 / all-vCPU split.
 *  - a syscall-heavy micro-workload whose work per op does not depend on the
 *    environment: stress-ng `null` by default. One bogo op is a fixed round of
 *    14 system calls on /dev/null (write of 4 KiB, 3 lseek, 3 fcntl, 2 ioctl,
 *    mmap/msync/munmap, fallocate, fdatasync: checked with `strace -c` natively
 *    and in a runc container, same mix per op). Almost all time is kernel
 *    entry/exit, which is where a sandbox (gVisor intercepts every syscall) or a
 *    VM without hardware support differs most from native. `switch` (pipe
 *    ping-pong between two processes: context switches) is the alternative.
 *    stress-ng `get` is refused: it statfs()es every entry of the mount table per
 *    op, so its work grows with the mount count (the host's mounts natively, a
 *    container's few), which made runc look 2.1x faster than native.
 *
 * Each probe (one tool invocation) is its own round across backends (types.ts
 * Probe); the environment check (./environment.ts) runs once per backend, before
 * its first measured probe.
 *
 * sysbench runs of 3 s or more report their per-second rates and the figure is their median
 * (sysbenchFigure: robust to a burst of host steal in one second).
 *
 * Rates are per wall-clock second (sysbench "events per second", stress-ng "bogo
 * ops/s (real time)"), so time an instance is not scheduled counts against it.
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { parseSysbenchCpu, parseSysbenchIntervals } from './parsers/sysbench.js';
import { stressNgMetric } from './parsers/stress-ng.js';
import { metric, parseRaw, timeoutFor, toolSecondsFor } from './common.js';
import { recordEnvironment } from './environment.js';
import { runProbesInTurn, type MetricValue, type Probe, type Workload, type WorkloadContext } from './types.js';
import { environmentExtras } from './extras/common.js';

export const cpuParams = z
  .object({
    /** Length of each tool run in seconds (sysbench --time, stress-ng -t: whole seconds). */
    seconds: z.number().int().min(1).max(600).default(3),
    /**
     * sysbench's run length when it differs from `seconds`: its events/s is the headline CPU figure, and on a
     * host with steal time a longer run evens out the bursts a 1 s run catches (whole seconds).
     */
    sysbenchSeconds: z.number().int().min(1).max(600).optional(),
    /** sysbench cpu --cpu-max-prime. */
    maxPrime: z.number().int().min(100).max(10_000_000).default(10_000),
    /** stress-ng --matrix-size (N x N). */
    matrixSize: z.number().int().min(16).max(8192).default(128),
    /**
     * stress-ng stressor for the syscall-heavy figure. Only stressors whose work per
     * op is the same everywhere (not `get`: its cost grows with the mount table).
     */
    syscallStressor: z.enum(['null', 'switch']).default('null'),
    /** Also run the all-vCPU variants (skipped anyway when the instance has 1 vCPU). */
    allVcpus: z.boolean().default(true),
  })
  .strict();

export type CpuParams = z.infer<typeof cpuParams>;

/** Runs this long or longer report per-second rates, and their median is the figure (see sysbenchFigure). */
export const SYSBENCH_MEDIAN_MIN_SECONDS = 3;

export function sysbenchCpuArgv(p: CpuParams, threads: number, seconds = sysbenchSecondsOf(p)): string[] {
  const intervals = seconds >= SYSBENCH_MEDIAN_MIN_SECONDS ? ['--report-interval=1'] : [];
  return [
    'sysbench',
    'cpu',
    `--threads=${threads}`,
    `--time=${seconds}`,
    `--cpu-max-prime=${p.maxPrime}`,
    ...intervals,
    'run',
  ];
}

/**
 * The events/s figure of one sysbench cpu run: the median of its per-second rates when it ran at least
 * SYSBENCH_MEDIAN_MIN_SECONDS, else the run's mean. On a host with steal time (a cloud guest) a burst of
 * a few hundred milliseconds lands in one second of one side of a pair: it moves a 3 s mean by a third of
 * its size and the median not at all. What isolation costs (a VM exit, a quota's throttling every 100 ms,
 * a sandbox's syscall trap) recurs within every second and stays in the median.
 */
export function sysbenchFigure(parsed: { eventsPerSecond: number }, intervals: readonly number[]): number {
  if (intervals.length < SYSBENCH_MEDIAN_MIN_SECONDS) return parsed.eventsPerSecond;
  const xs = [...intervals].sort((a, b) => a - b);
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

function sysbenchSecondsOf(p: CpuParams): number {
  return p.sysbenchSeconds ?? p.seconds;
}

/**
 * stress-ng refuses to start unless its temp path is writable ("temp-path '.' must be
 * readable and writeable"), and the exec's cwd is `/` on a read-only rootfs in the
 * container and the VM: point it at /tmp, a tmpfs in both (and writable on the host).
 */
const STRESS_NG_COMMON = ['--temp-path', '/tmp', '--metrics-brief'];

export function matrixArgv(p: CpuParams, instances: number, seconds = p.seconds): string[] {
  return [
    'stress-ng',
    '--matrix',
    String(instances),
    '--matrix-method',
    'prod',
    '--matrix-size',
    String(p.matrixSize),
    '-t',
    String(seconds),
    ...STRESS_NG_COMMON,
  ];
}

export function syscallArgv(p: CpuParams, seconds = p.seconds): string[] {
  return ['stress-ng', `--${p.syscallStressor}`, '1', '-t', String(seconds), ...STRESS_NG_COMMON];
}

/** A sysbench cpu report's threads and its figure (sysbenchFigure): the one reading of its output. */
export function readSysbenchCpu(text: string): { threads: number; value: number } {
  const parsed = parseSysbenchCpu(text);
  return { threads: parsed.threads, value: sysbenchFigure(parsed, parseSysbenchIntervals(text)) };
}

async function sysbenchCpu(ctx: WorkloadContext<CpuParams>, threads: number, name: string): Promise<MetricValue> {
  const seconds = toolSecondsFor(ctx, sysbenchSecondsOf(ctx.params));
  const r = await ctx.exec(ctx.instance, sysbenchCpuArgv(ctx.params, threads, seconds), {
    tag: `cpu-sysbench-${threads}t`,
    timeoutMs: timeoutFor(ctx, seconds),
  });
  const parsed = parseRaw(r.rawLog, () => readSysbenchCpu(r.stdout));
  if (parsed.threads !== threads) throw new Error(`sysbench ran ${parsed.threads} threads, asked for ${threads}`);
  return metric('sysbench', name, parsed.value, r.rawLog);
}

async function stressNg(
  ctx: WorkloadContext<CpuParams>,
  argv: string[],
  stressor: string,
  tag: string,
  name: string,
): Promise<MetricValue> {
  const r = await ctx.exec(ctx.instance, argv, { tag, timeoutMs: timeoutFor(ctx, ctx.params.seconds) });
  // --metrics-brief goes to stderr; look at both streams.
  const m = parseRaw(r.rawLog, () => stressNgMetric(`${r.stdout}\n${r.stderr}`, stressor));
  return metric('stress-ng', name, m.bogoOpsPerSecReal, r.rawLog);
}

export const cpuWorkload: Workload<CpuParams> = registerWorkload({
  name: 'cpu',
  title: 'CPU',
  order: 10,
  judgement: { comparison: 'ratio', thresholdPct: 3, cannotBeatNative: true },
  primary: [/^sysbench-events-nt$/, /^sysbench-events-1t$/],
  capacity: [
    {
      resource: 'cpu',
      tiers: [
        { tier: 0, metrics: [/^sysbench-events-nt$/] },
        { tier: 1, metrics: [/^sysbench-events-1t$/] },
        { tier: 2, metrics: [/^sysbench-events/, /events/i] },
      ],
    },
  ],
  description:
    'sysbench cpu events/s and stress-ng matrixprod bogo-ops/s on 1 and on all vCPUs, ' +
    'plus a syscall-heavy stress-ng stressor with a fixed call mix',
  params: cpuParams,
  extraSchema: environmentExtras,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    {
      name: 'sysbench-events-1t',
      unit: 'events/s',
      higherIsBetter: true,
      description:
        'sysbench cpu (prime search) events per second, 1 thread (runs of 3 s or more: the median of its ' +
        'per-second rates)',
    },
    {
      name: 'sysbench-events-nt',
      unit: 'events/s',
      higherIsBetter: true,
      description: 'sysbench cpu events per second, one thread per vCPU (only when vcpus > 1)',
    },
    {
      name: 'matrixprod-bogo-ops-1t',
      unit: 'bogo-ops/s',
      higherIsBetter: true,
      description: 'stress-ng matrix (prod) bogo ops per wall-clock second, 1 instance',
    },
    {
      name: 'matrixprod-bogo-ops-nt',
      unit: 'bogo-ops/s',
      higherIsBetter: true,
      description:
        'stress-ng matrix (prod) bogo ops per wall-clock second, one instance per vCPU (only when vcpus > 1)',
    },
    {
      name: 'syscall-ops',
      unit: 'bogo-ops/s',
      higherIsBetter: true,
      description:
        'stress-ng syscall-heavy stressor (null by default: 14 fixed /dev/null calls per op) ' +
        'bogo ops per wall-clock second, 1 instance',
    },
  ],
  setup: async (ctx) => void (await recordEnvironment(ctx, 'cpu')),
  probes: (p, shape) => {
    const n = shape.vcpus;
    const multi = p.allVcpus && n > 1;
    const probe = (
      name: string,
      metric: string,
      run: (ctx: WorkloadContext<CpuParams>) => Promise<MetricValue>,
    ): Probe<CpuParams> => ({ name, metrics: [metric], run: async (ctx) => [await run(ctx)] });
    return [
      probe('sysbench-1t', 'sysbench-events-1t', (ctx) => sysbenchCpu(ctx, 1, 'sysbench-events-1t')),
      ...(multi
        ? [probe('sysbench-nt', 'sysbench-events-nt', (ctx) => sysbenchCpu(ctx, n, 'sysbench-events-nt'))]
        : []),
      probe('matrixprod-1t', 'matrixprod-bogo-ops-1t', (ctx) =>
        stressNg(
          ctx,
          matrixArgv(ctx.params, 1, toolSecondsFor(ctx, ctx.params.seconds)),
          'matrix',
          'cpu-matrixprod-1',
          'matrixprod-bogo-ops-1t',
        ),
      ),
      ...(multi
        ? [
            probe('matrixprod-nt', 'matrixprod-bogo-ops-nt', (ctx) =>
              stressNg(
                ctx,
                matrixArgv(ctx.params, n, toolSecondsFor(ctx, ctx.params.seconds)),
                'matrix',
                `cpu-matrixprod-${n}`,
                'matrixprod-bogo-ops-nt',
              ),
            ),
          ]
        : []),
      probe('syscall', 'syscall-ops', (ctx) =>
        stressNg(
          ctx,
          syscallArgv(ctx.params, toolSecondsFor(ctx, ctx.params.seconds)),
          ctx.params.syscallStressor,
          `cpu-syscall-${ctx.params.syscallStressor}`,
          'syscall-ops',
        ),
      ),
    ];
  },
  run: (ctx) => runProbesInTurn(cpuWorkload, ctx),
});
