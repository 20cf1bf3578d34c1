/**
 * Memory-limit gradient: what happens between "fits" and "does not fit". The
 * article's claim is that the old limits "offer no gradient between normal
 * operation and crashing"; this measures the curve for each backend.
 *
 * One repetition starts a fresh instance with memoryMiB = limitMiB (container: the
 * cgroup memory limit, swap limited to the same; VM: the guest's RAM, -m) and runs
 * sysbench memory with a working set of steps[i]% of the limit (one process; sysbench
 * takes power-of-two buffers only, so the set is split into up to 8 per-thread buffers,
 * see gradientShape; the MiB actually used is recorded), written sequentially over and
 * over for secondsPerStep. Every step is bounded in
 * time (stepTimeoutSeconds): a step ends ok, OOM-killed (the exec says so: cgroup OOM
 * event for a container, the guest's oom_kill counter for a VM), killed otherwise,
 * refused (the guest kernel's overcommit check refuses a buffer larger than its RAM:
 * sysbench "Failed to allocate buffer"), timed out, or failed. The sweep stops at the
 * first step that does not end ok: that is how it ends (extra.memory-gradient.ending).
 *
 * Metrics: `throughput-at-<pct>pct` (MiB/s written) for each step that completed,
 * `last-ok-pct`, `oom-at-pct` (the first step that ended in a recorded OOM kill, only
 * when one did), and `gradient-drop-pct`: how much slower the last completed step was
 * than the first (the "gradient" before the end). The whole curve, with the
 * instance's memory counters after each step, goes to extra.
 */
import { z } from 'zod';
import type { ExecResult, Instance } from '../backends/types.js';
import { parseSysbenchMemory } from './parsers/sysbench.js';
import { metric } from './common.js';
import { round } from './isolation.js';
import { registerWorkload } from './registry.js';
import type { MetricDecl, MetricValue, Workload } from './types.js';

/** Step sizes a scenario may use (percent of the limit); each has a declared metric. */
export const GRADIENT_PCTS = [10, 25, 50, 60, 70, 75, 80, 85, 90, 95, 100, 110, 125, 150, 200] as const;
type Pct = (typeof GRADIENT_PCTS)[number];

export const memoryGradientParams = z
  .object({
    /** Memory limit of the instance (MiB): container cgroup limit, VM guest RAM. */
    limitMiB: z.number().int().min(64).max(65_536).default(256),
    /** Working-set steps in percent of the limit, ascending. */
    steps: z
      .array(z.union(GRADIENT_PCTS.map((p) => z.literal(p)) as unknown as [z.ZodLiteral<Pct>, z.ZodLiteral<Pct>, ...z.ZodLiteral<Pct>[]]))
      .min(1)
      .default([25, 50, 75, 90, 100, 125, 150])
      .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] as number)), { message: 'steps must be strictly ascending' }),
    /** sysbench --time per step (whole seconds). */
    secondsPerStep: z.number().int().min(1).max(600).default(2),
    /** Hard bound of one step, seconds: a step that runs longer is recorded as a timeout. */
    stepTimeoutSeconds: z.number().int().min(5).max(3600).default(45),
  })
  .strict();

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
    if (target % block === 0 && target / block <= 8) return { threads: target / block, blockMiB: block, totalMiB: target };
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
export function classifyStep(r: Pick<ExecResult, 'code' | 'timedOut' | 'oomKilled' | 'stdout' | 'stderr'>): StepOutcome {
  if (r.timedOut) return 'timeout';
  if (r.oomKilled) return 'oom-killed';
  if (r.code === 0) return 'ok';
  if (r.code === 137) return 'killed';
  if (/failed to allocate|cannot allocate|out of memory|ENOMEM/i.test(`${r.stdout}\n${r.stderr}`)) return 'alloc-failed';
  return 'error';
}

export interface GradientStep {
  pct: number;
  mib: number;
  outcome: StepOutcome;
  mibPerS?: number;
  wallMs: number;
  code: number;
  rawLog: string;
  /** Instance-side counters after the step (cgroup: the instance's; vmstat: as seen inside). */
  after?: Record<string, number>;
}

/** Summary figures of a finished sweep (pure). */
export function summarizeGradient(steps: readonly GradientStep[]): { lastOkPct?: number; oomAtPct?: number; ending: string; endingPct?: number; dropPct?: number } {
  const ok = steps.filter((s) => s.outcome === 'ok' && s.mibPerS !== undefined);
  const end = steps.find((s) => s.outcome !== 'ok');
  const first = ok[0];
  const last = ok[ok.length - 1];
  return {
    ...(last ? { lastOkPct: last.pct } : {}),
    ...(end?.outcome === 'oom-killed' ? { oomAtPct: end.pct } : {}),
    ending: end ? end.outcome : 'completed',
    ...(end ? { endingPct: end.pct } : {}),
    ...(first && last && first.mibPerS && last.mibPerS !== undefined ? { dropPct: (100 * (first.mibPerS - last.mibPerS)) / first.mibPerS } : {}),
  };
}

const VMSTAT_KEYS = ['oom_kill', 'pgmajfault', 'pgscan_direct', 'pgscan_kswapd', 'pgsteal_direct', 'pgsteal_kswapd', 'workingset_refault_file'];

async function countersAfter(inst: Instance, exec: (argv: string[]) => Promise<ExecResult>): Promise<Record<string, number>> {
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

export const memoryGradientWorkload: Workload<MemoryGradientParams> = registerWorkload({
  name: 'memory-gradient',
  title: 'Memory-limit gradient',
  description: 'sysbench memory write throughput as the working set grows from below to beyond the instance memory limit, and how it ends (OOM kill, refusal, timeout)',
  params: memoryGradientParams,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    ...GRADIENT_PCTS.map(
      (p): MetricDecl => ({ name: throughputMetricName(p), unit: 'MiB/s', higherIsBetter: true, description: `sysbench memory sequential write with a working set of ${p}% of the memory limit` }),
    ),
    { name: 'last-ok-pct', unit: '% of limit', higherIsBetter: true, description: 'largest working set (percent of the limit) that still completed' },
    { name: 'oom-at-pct', unit: '% of limit', higherIsBetter: true, description: 'first working set (percent of the limit) that ended in a recorded OOM kill' },
    { name: 'gradient-drop-pct', unit: '%', higherIsBetter: false, description: 'throughput lost from the first to the last completed step, percent' },
  ],
  async run(ctx) {
    const p = ctx.params;
    const { instance } = await ctx.startInstance({ memoryMiB: p.limitMiB, network: false });
    const steps: GradientStep[] = [];
    try {
      for (const pct of p.steps) {
        const mib = gradientShape(stepMiB(p.limitMiB, pct)).totalMiB;
        ctx.progress(`${pct}% of ${p.limitMiB} MiB (${mib} MiB)`);
        const r = await ctx.exec(instance, gradientArgv(mib, p.secondsPerStep), { tag: `gradient-${pct}pct`, timeoutMs: p.stepTimeoutSeconds * 1000, allowFailure: true });
        let outcome = classifyStep(r);
        let mibPerS: number | undefined;
        if (outcome === 'ok') {
          try {
            mibPerS = parseSysbenchMemory(r.stdout).mibPerSecond;
          } catch {
            outcome = 'error';
          }
        }
        const after = await countersAfter(instance, (argv) => instance.exec(argv, { timeoutMs: 15_000 }));
        steps.push({ pct, mib, outcome, ...(mibPerS !== undefined ? { mibPerS } : {}), wallMs: round(r.wallMs, 1), code: r.code, rawLog: r.rawLog, after });
        if (outcome !== 'ok') break;
      }
    } finally {
      const summary = summarizeGradient(steps);
      ctx.recordExtra?.('memory-gradient', { limitMiB: p.limitMiB, instance: instance.name, steps, ...summary });
      await instance.stop().catch(() => undefined);
    }
    const s = summarizeGradient(steps);
    const log = await ctx.saveRaw('gradient-summary', `${JSON.stringify({ limitMiB: p.limitMiB, steps, summary: s }, null, 1)}\n`);
    const out: MetricValue[] = [];
    for (const st of steps) if (st.outcome === 'ok' && st.mibPerS !== undefined) out.push(metric('sysbench', throughputMetricName(st.pct), st.mibPerS, st.rawLog));
    if (s.lastOkPct !== undefined) out.push(metric('memory-gradient', 'last-ok-pct', s.lastOkPct, log));
    if (s.oomAtPct !== undefined) out.push(metric('memory-gradient', 'oom-at-pct', s.oomAtPct, log));
    if (s.dropPct !== undefined) out.push(metric('memory-gradient', 'gradient-drop-pct', s.dropPct, log));
    if (s.ending === 'error') {
      const bad = steps[steps.length - 1];
      throw Object.assign(new Error(`memory-gradient: the ${bad?.pct}% step failed for a reason other than memory (exit ${bad?.code}; raw log: ${bad?.rawLog})`), { rawLog: bad?.rawLog });
    }
    return out;
  },
});
