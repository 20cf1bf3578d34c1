/**
 * Memory-limit gradient: what happens between "fits" and "does not fit". The
 * article's claim is that the old limits "offer no gradient between normal
 * operation and crashing"; this measures the curve for each backend, against a
 * control.
 *
 * One repetition starts two fresh instances: the limited one with memoryMiB =
 * limitMiB (container: the cgroup memory limit, swap limited to the same; VM: the
 * guest's RAM, -m) and a control with controlMiB, far above every working set. Each
 * step runs sysbench memory with a working set of steps[i]% of the limit (one
 * process; sysbench takes power-of-two buffers only, so the set is split into up to
 * 8 per-thread buffers, see gradientShape; the MiB actually used is recorded),
 * written sequentially over and over for secondsPerStep, first in the limited
 * instance, then the identical command (same working set, same threads) in the
 * control. Bigger working sets and more threads are slower by themselves (cache,
 * TLB): the ratio limited / control at the same step isolates what the limit costs.
 * Every step is bounded in time (stepTimeoutSeconds): a step ends ok, OOM-killed (the
 * exec says so: cgroup OOM event for a container, the guest's oom_kill counter for a
 * VM), killed otherwise, refused (the guest kernel's overcommit check refuses a
 * buffer larger than its RAM: sysbench "Failed to allocate buffer"), timed out, or
 * failed. The sweep stops at the first step whose limited run does not end ok (its
 * control still runs: it shows the same work completes without the limit).
 *
 * Usable memory: the limit is not what a workload can use. Measured once per
 * repetition in the idle limited instance, as the smaller of MemAvailable inside it
 * (/proc/meminfo: a guest's RAM minus its kernel and agent) and its cgroup's limit
 * minus its usage (a container's /proc/meminfo shows the host's); each step is also
 * stated in % of that (extra: usableMiB, pctOfUsable).
 *
 * Verdict (gradientVerdict): "gradient" if a completed step ran below 90% of its
 * control before the end, "cliff" otherwise. Metrics: `throughput-at-<pct>pct`
 * (limited, MiB/s), `control-at-<pct>pct` (MiB/s), `ratio-at-<pct>pct` (limited /
 * control, %), `min-ratio-pct`, `last-ok-pct`, `oom-at-pct`, `usable-mib`.
 */
import { z } from 'zod';
import type { ExecResult, Instance } from '../backends/types.js';
import { parseSysbenchMemory } from './parsers/sysbench.js';
import { metric } from './common.js';
import { round } from './isolation.js';
import { registerWorkload } from './registry.js';
import type { MetricDecl, MetricValue, Workload } from './types.js';
import { memoryGradientExtras } from './extras/memory-gradient.js';

/** Step sizes a scenario may use (percent of the limit); each has a declared metric. */
export const GRADIENT_PCTS = [10, 25, 50, 60, 70, 75, 80, 85, 90, 95, 100, 110, 125, 150, 200] as const;
type Pct = (typeof GRADIENT_PCTS)[number];

export const memoryGradientParams = z
  .object({
    /** Memory limit of the instance (MiB): container cgroup limit, VM guest RAM. */
    limitMiB: z.number().int().min(64).max(65_536).default(256),
    /** Working-set steps in percent of the limit, ascending. */
    steps: z
      .array(
        z.union(
          GRADIENT_PCTS.map((p) => z.literal(p)) as unknown as [
            z.ZodLiteral<Pct>,
            z.ZodLiteral<Pct>,
            ...z.ZodLiteral<Pct>[],
          ],
        ),
      )
      .min(1)
      .default([25, 50, 75, 90, 100, 125, 150])
      .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] as number)), {
        message: 'steps must be strictly ascending',
      }),
    /** sysbench --time per step (whole seconds). */
    secondsPerStep: z.number().int().min(1).max(600).default(2),
    /** Hard bound of one step, seconds: a step that runs longer is recorded as a timeout. */
    stepTimeoutSeconds: z.number().int().min(5).max(3600).default(45),
    /** Memory of the control instance (MiB); default controlMiBFor(limit, steps): far above every working set. */
    controlMiB: z.number().int().min(64).max(262_144).optional(),
  })
  .strict()
  .refine((p) => p.controlMiB === undefined || p.controlMiB >= controlMiBFor(p.limitMiB, p.steps) / 2, {
    message: 'controlMiB must be well above the largest working set (at least the largest step + 128 MiB)',
    path: ['controlMiB'],
  });

/** Default memory of the control: twice the largest working set plus 256 MiB, at least 4x the limit. */
export function controlMiBFor(limitMiB: number, steps: readonly number[]): number {
  const top = stepMiB(limitMiB, Math.max(...steps));
  return Math.max(4 * limitMiB, 2 * top + 256);
}

export type MemoryGradientParams = z.infer<typeof memoryGradientParams>;

export type StepOutcome = 'ok' | 'oom-killed' | 'killed' | 'alloc-failed' | 'timeout' | 'error';

export function stepMiB(limitMiB: number, pct: number): number {
  return Math.max(1, Math.round((limitMiB * pct) / 100));
}

export function throughputMetricName(pct: number): string {
  return `throughput-at-${pct}pct`;
}

/**
 * sysbench memory takes only power-of-two block sizes, so a working set of `mib` is
 * `threads` buffers of `blockMiB` (--memory-scope=local: one buffer per thread, all
 * in one process): exact when some power of two divides it with at most 8 threads,
 * otherwise the nearest multiple of the block that gives 8 threads or fewer.
 */
export function gradientShape(mib: number): { threads: number; blockMiB: number; totalMiB: number } {
  const target = Math.max(1, Math.round(mib));
  for (let block = 2 ** Math.floor(Math.log2(target)); block >= 1; block /= 2) {
    if (target % block === 0 && target / block <= 8)
      return { threads: target / block, blockMiB: block, totalMiB: target };
  }
  const blockMiB = 2 ** Math.ceil(Math.log2(target / 8));
  const threads = Math.min(8, Math.max(1, Math.round(target / blockMiB)));
  return { threads, blockMiB, totalMiB: threads * blockMiB };
}

export function gradientArgv(mib: number, seconds: number): string[] {
  const s = gradientShape(mib);
  return [
    'sysbench',
    'memory',
    `--threads=${s.threads}`,
    `--time=${seconds}`,
    `--memory-block-size=${s.blockMiB}M`,
    '--memory-total-size=0',
    '--memory-scope=local',
    '--memory-oper=write',
    '--memory-access-mode=seq',
    'run',
  ];
}

/** How one step ended, from the exec result alone. */
export function classifyStep(
  r: Pick<ExecResult, 'code' | 'timedOut' | 'oomKilled' | 'stdout' | 'stderr'>,
): StepOutcome {
  if (r.timedOut) return 'timeout';
  if (r.oomKilled) return 'oom-killed';
  if (r.code === 0) return 'ok';
  if (r.code === 137) return 'killed';
  if (/failed to allocate|cannot allocate|out of memory|ENOMEM/i.test(`${r.stdout}\n${r.stderr}`))
    return 'alloc-failed';
  return 'error';
}

export interface ControlRun {
  outcome: StepOutcome;
  mibPerS?: number;
  wallMs: number;
  code: number;
  rawLog: string;
}

export interface GradientStep {
  pct: number;
  mib: number;
  /** The working set in % of the measured usable memory of the limited instance. */
  pctOfUsable?: number;
  outcome: StepOutcome;
  mibPerS?: number;
  wallMs: number;
  code: number;
  rawLog: string;
  /** Instance-side counters after the step (cgroup: the instance's; vmstat: as seen inside). */
  after?: Record<string, number>;
  /** The same command in the control instance (no effective limit). */
  control?: ControlRun;
  /** limited / control throughput, percent (both completed). */
  ratioPct?: number;
}

/** A step's limited / control ratio in percent, when both completed (pure). */
export function stepRatioPct(limited: number | undefined, control: number | undefined): number | undefined {
  return limited !== undefined && control !== undefined && control > 0 ? (100 * limited) / control : undefined;
}

/** Below this limited/control ratio a completed step counts as the limit costing throughput. */
export const GRADIENT_RATIO_PCT = 90;

/**
 * Gradient or cliff, from the ratios (pure): a gradient when some completed step ran
 * below GRADIENT_RATIO_PCT of its control before the end; a cliff when every completed
 * step kept up with its control and then a step did not complete; "no limit effect"
 * when every step completed near its control.
 */
export function gradientVerdict(
  steps: readonly Pick<GradientStep, 'outcome' | 'ratioPct'>[],
): 'gradient' | 'cliff' | 'no-limit-effect' | 'unknown' {
  const ok = steps.filter((s) => s.outcome === 'ok');
  const ratios = ok.map((s) => s.ratioPct).filter((r): r is number => r !== undefined);
  if (ratios.length < ok.length || ratios.length === 0) return 'unknown';
  if (ratios.some((r) => r < GRADIENT_RATIO_PCT)) return 'gradient';
  return steps.some((s) => s.outcome !== 'ok') ? 'cliff' : 'no-limit-effect';
}

/** Summary figures of a finished sweep (pure). */
export function summarizeGradient(steps: readonly GradientStep[]): {
  lastOkPct?: number;
  oomAtPct?: number;
  ending: string;
  endingPct?: number;
  minRatioPct?: number;
  verdict: ReturnType<typeof gradientVerdict>;
} {
  const ok = steps.filter((s) => s.outcome === 'ok' && s.mibPerS !== undefined);
  const end = steps.find((s) => s.outcome !== 'ok');
  const last = ok[ok.length - 1];
  const ratios = ok.map((s) => s.ratioPct).filter((r): r is number => r !== undefined);
  return {
    ...(last ? { lastOkPct: last.pct } : {}),
    ...(end?.outcome === 'oom-killed' ? { oomAtPct: end.pct } : {}),
    ending: end ? end.outcome : 'completed',
    ...(end ? { endingPct: end.pct } : {}),
    ...(ratios.length ? { minRatioPct: Math.min(...ratios) } : {}),
    verdict: gradientVerdict(steps),
  };
}

/** MemAvailable (MiB) from /proc/meminfo text, or undefined. */
export function memAvailableMiB(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(meminfo);
  return m ? Number(m[1]) / 1024 : undefined;
}

const VMSTAT_KEYS = [
  'oom_kill',
  'pgmajfault',
  'pgscan_direct',
  'pgscan_kswapd',
  'pgsteal_direct',
  'pgsteal_kswapd',
  'workingset_refault_file',
];

async function countersAfter(
  inst: Instance,
  exec: (argv: string[]) => Promise<ExecResult>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (inst.cgroup) {
    const m = await inst.cgroup.memoryStats().catch(() => undefined);
    if (m) {
      out.cgroupUsageMiB = round(m.usageBytes / 2 ** 20, 2);
      out.cgroupWorkingSetMiB = round(m.workingSetBytes / 2 ** 20, 2);
    }
    out.cgroupOomKills = await inst.cgroup.oomKills().catch(() => 0);
  }
  const r = await exec(['cat', '/proc/vmstat']).catch(() => undefined);
  if (r && r.code === 0) {
    for (const line of r.stdout.split('\n')) {
      const [k, v] = line.split(' ');
      if (k && VMSTAT_KEYS.includes(k) && v) out[`vmstat.${k}`] = Number(v);
    }
  }
  return out;
}

export function controlMetricName(pct: number): string {
  return `control-at-${pct}pct`;
}

export function ratioMetricName(pct: number): string {
  return `ratio-at-${pct}pct`;
}

type Exec = (inst: Instance, argv: string[], tag: string) => Promise<ExecResult & { rawLog: string }>;

/** One sysbench run: how it ended and its throughput. */
async function runStep(exec: Exec, inst: Instance, mib: number, seconds: number, tag: string): Promise<ControlRun> {
  const r = await exec(inst, gradientArgv(mib, seconds), tag);
  let outcome = classifyStep(r);
  let mibPerS: number | undefined;
  if (outcome === 'ok') {
    try {
      mibPerS = parseSysbenchMemory(r.stdout).mibPerSecond;
    } catch {
      outcome = 'error';
    }
  }
  return {
    outcome,
    ...(mibPerS !== undefined ? { mibPerS } : {}),
    wallMs: round(r.wallMs, 1),
    code: r.code,
    rawLog: r.rawLog,
  };
}

/**
 * Memory the limited instance can actually use (MiB), measured idle: the smaller of
 * MemAvailable inside it and its cgroup's memory limit minus usage (see the header).
 */
async function usableMiB(
  inst: Instance,
): Promise<{ usableMiB?: number; meminfoAvailMiB?: number; cgroupHeadroomMiB?: number }> {
  const r = await inst.exec(['cat', '/proc/meminfo'], { timeoutMs: 15_000 }).catch(() => undefined);
  const inside = r && r.code === 0 ? memAvailableMiB(r.stdout) : undefined;
  let headroom: number | undefined;
  if (inst.cgroup) {
    const lim = await inst.cgroup.readLimits().catch(() => undefined);
    const st = await inst.cgroup.memoryStats().catch(() => undefined);
    if (lim?.memoryBytes !== undefined && st) headroom = (lim.memoryBytes - st.usageBytes) / 2 ** 20;
  }
  const both = [inside, headroom].filter((x): x is number => x !== undefined);
  return {
    ...(both.length ? { usableMiB: round(Math.min(...both), 1) } : {}),
    ...(inside !== undefined ? { meminfoAvailMiB: round(inside, 1) } : {}),
    ...(headroom !== undefined ? { cgroupHeadroomMiB: round(headroom, 1) } : {}),
  };
}

export const memoryGradientWorkload: Workload<MemoryGradientParams> = registerWorkload({
  name: 'memory-gradient',
  title: 'Memory-limit gradient',
  order: 90,
  judgement: { comparison: 'ratio', thresholdByUnit: { '% of limit': 10, '%': 10 } },
  isolation: { view: 'memory-gradient', headline: true, replacesBarChart: true },
  description:
    'sysbench memory write throughput as the working set grows from below to beyond the instance memory limit, ' +
    'each step beside the same run without the limit (control); the limited/control ratio per step ' +
    'and how it ends (OOM kill, refusal, timeout)',
  params: memoryGradientParams,
  extraSchema: memoryGradientExtras,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    ...GRADIENT_PCTS.flatMap((p): MetricDecl[] => [
      {
        name: throughputMetricName(p),
        unit: 'MiB/s',
        higherIsBetter: true,
        description:
          `sysbench memory sequential write with a working set of ${p}% of the memory limit, ` +
          'in the limited instance',
      },
      {
        name: controlMetricName(p),
        unit: 'MiB/s',
        higherIsBetter: true,
        description:
          `the same run (${p}% of the limit, same threads) in the control instance ` + 'without an effective limit',
      },
      {
        name: ratioMetricName(p),
        unit: '%',
        higherIsBetter: true,
        description: `limited / control throughput at ${p}% of the limit`,
      },
    ]),
    {
      name: 'min-ratio-pct',
      unit: '%',
      higherIsBetter: true,
      description: 'lowest limited / control throughput over the completed steps (below 90%: a gradient)',
    },
    {
      name: 'last-ok-pct',
      unit: '% of limit',
      higherIsBetter: true,
      description: 'largest working set (percent of the limit) that still completed',
    },
    {
      name: 'oom-at-pct',
      unit: '% of limit',
      higherIsBetter: true,
      description: 'first working set (percent of the limit) that ended in a recorded OOM kill',
    },
    {
      name: 'usable-mib',
      unit: 'MiB',
      higherIsBetter: true,
      description: 'memory the idle limited instance can use: min(MemAvailable inside, cgroup limit - usage)',
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const controlMiB = p.controlMiB ?? controlMiBFor(p.limitMiB, p.steps);
    const { instance } = await ctx.startInstance({ memoryMiB: p.limitMiB, network: false });
    const steps: GradientStep[] = [];
    let usable: Awaited<ReturnType<typeof usableMiB>> = {};
    let control: Instance | undefined;
    const exec: Exec = (inst, argv, tag) =>
      ctx.exec(inst, argv, { tag, timeoutMs: p.stepTimeoutSeconds * 1000, allowFailure: true });
    try {
      control = (await ctx.startInstance({ memoryMiB: controlMiB, network: false })).instance;
      usable = await usableMiB(instance);
      for (const pct of p.steps) {
        const mib = gradientShape(stepMiB(p.limitMiB, pct)).totalMiB;
        ctx.progress(`${pct}% of ${p.limitMiB} MiB (${mib} MiB): limited, then control (${controlMiB} MiB)`);
        const lim = await runStep(exec, instance, mib, p.secondsPerStep, `gradient-${pct}pct`);
        const after = await countersAfter(instance, (argv) => instance.exec(argv, { timeoutMs: 15_000 }));
        const ctl = await runStep(exec, control, mib, p.secondsPerStep, `gradient-${pct}pct-control`);
        const ratioPct = stepRatioPct(lim.mibPerS, ctl.mibPerS);
        steps.push({
          pct,
          mib,
          ...(usable.usableMiB ? { pctOfUsable: round((100 * mib) / usable.usableMiB, 1) } : {}),
          ...lim,
          after,
          control: ctl,
          ...(ratioPct !== undefined ? { ratioPct: round(ratioPct, 2) } : {}),
        });
        if (lim.outcome !== 'ok') break;
        if (ctl.outcome !== 'ok')
          throw Object.assign(
            new Error(
              `memory-gradient: the control run at ${pct}% (${mib} MiB in a ${controlMiB} MiB instance) ` +
                `ended ${ctl.outcome} (exit ${ctl.code}; raw log: ${ctl.rawLog}): no control to compare with`,
            ),
            { rawLog: ctl.rawLog },
          );
      }
    } finally {
      const summary = summarizeGradient(steps);
      ctx.recordExtra?.('memory-gradient', {
        limitMiB: p.limitMiB,
        controlMiB,
        ...usable,
        instance: instance.name,
        steps,
        ...summary,
      });
      await instance.stop().catch(() => undefined);
      await control?.stop().catch(() => undefined);
    }
    const s = summarizeGradient(steps);
    const log = await ctx.saveRaw(
      'gradient-summary',
      `${JSON.stringify({ limitMiB: p.limitMiB, controlMiB, ...usable, steps, summary: s }, null, 1)}\n`,
    );
    const out: MetricValue[] = [];
    for (const st of steps) {
      if (st.outcome === 'ok' && st.mibPerS !== undefined)
        out.push(metric('sysbench', throughputMetricName(st.pct), st.mibPerS, st.rawLog));
      if (st.control?.outcome === 'ok' && st.control.mibPerS !== undefined)
        out.push(metric('sysbench', controlMetricName(st.pct), st.control.mibPerS, st.control.rawLog));
      if (st.ratioPct !== undefined) out.push(metric('memory-gradient', ratioMetricName(st.pct), st.ratioPct, log));
    }
    if (s.minRatioPct !== undefined) out.push(metric('memory-gradient', 'min-ratio-pct', s.minRatioPct, log));
    if (s.lastOkPct !== undefined) out.push(metric('memory-gradient', 'last-ok-pct', s.lastOkPct, log));
    if (s.oomAtPct !== undefined) out.push(metric('memory-gradient', 'oom-at-pct', s.oomAtPct, log));
    if (usable.usableMiB !== undefined) out.push(metric('memory-gradient', 'usable-mib', usable.usableMiB, log));
    if (s.ending === 'error') {
      const bad = steps[steps.length - 1];
      throw Object.assign(
        new Error(
          `memory-gradient: the ${bad?.pct}% step failed for a reason other than memory ` +
            `(exit ${bad?.code}; raw log: ${bad?.rawLog})`,
        ),
        { rawLog: bad?.rawLog },
      );
    }
    return out;
  },
});
