/**
 * The partition workload's CPU phase: A:B cpu weights on a shared CPU with a
 * burn in both and the achieved share sampled from the cgroups, then a hard
 * quota on A alone. What it measures is described in partition.ts.
 */
import type { Instance } from '../backends/types.js';
import type { CgroupHandle } from '../host/cgroup.js';
import { metric } from './common.js';
import { requireCgroup, sharedCpu, startBackground, stopBackground } from './isolation-exec.js';
import {
  achievedRate,
  achievedShare,
  errorPp,
  round,
  sampleWhile,
  splitToWeights,
  targetPct,
  type CumulativeSample,
} from './isolation.js';
import { sleep } from '../util/proc.js';
import type { MetricValue } from './types.js';
import type { PartitionCtx as Ctx } from './partition-params.js';
import { cpuBurnArgv } from './load-argv.js';

/** Both burns run this long before sampling starts (ms). */
const BURN_RAMP_MS = 500;

function cpuMechanism(cg: CgroupHandle): string {
  return cg.layout.version === 2 ? 'cpu.weight (cgroup v2)' : 'cpu.shares (cgroup v1)';
}

/**
 * Run a CPU burn in the background in each instance, then sample their cgroups for
 * `seconds`, then kill the burns: the sampled window lies wholly inside the time both
 * burns ran (an exec's start-up latency, large for a starved VM's guest agent, is
 * outside it). A burn outlives the window by at most its KILL bound.
 */
async function burnAndSample(
  ctx: Ctx,
  insts: Instance[],
  cgs: CgroupHandle[],
  seconds: number,
  tag: string,
): Promise<CumulativeSample[]> {
  const pids: Array<[Instance, number]> = [];
  try {
    for (const [i, inst] of insts.entries())
      pids.push([inst, await startBackground(ctx, inst, seconds + 30, cpuBurnArgv(seconds + 20), `${tag}-${i}`)]);
    await sleep(BURN_RAMP_MS, ctx.signal);
    const { samples } = await sampleWhile(
      sleep(seconds * 1000, ctx.signal),
      () => Promise.all(cgs.map((c) => c.cpuUsageSeconds())),
      ctx.params.sampleMs,
    );
    return samples;
  } finally {
    for (const [inst, pid] of pids) await stopBackground(ctx, inst, pid, 'sysbench', `${tag}-kill`);
  }
}

export async function cpuPhase(ctx: Ctx, a: Instance, b: Instance, out: MetricValue[]): Promise<void> {
  const p = ctx.params;
  const cga = requireCgroup(a, 'partition cpu');
  const cgb = requireCgroup(b, 'partition cpu');
  const [wa, wb] = splitToWeights(p.split);
  const target = targetPct(p.split);
  const before = [await cga.readLimits(), await cgb.readLimits()];
  try {
    await cga.setLimits({ cpuWeight: wa });
    await cgb.setLimits({ cpuWeight: wb });
    const readBack = [await cga.readLimits(), await cgb.readLimits()];
    ctx.progress(`cpu: weights ${wa}:${wb}, burning ${p.cpu.seconds} s in both`);
    const samples = await burnAndSample(ctx, [a, b], [cga, cgb], p.cpu.seconds, 'partition-cpu-burn');
    const share = achievedShare(samples, { minPartyRate: 0.005, trimEdges: 0 });
    const rawLog = await ctx.saveRaw(
      'partition-cpu-samples',
      `${JSON.stringify({ weights: [wa, wb], readBack, samples }, null, 1)}\n`,
    );
    out.push(metric('partition', 'cpu-share-a-pct', share.aPct, rawLog));
    out.push(metric('partition', 'cpu-share-error-pp', errorPp(share.aPct, target), rawLog));
    ctx.recordExtra?.('cpu-share', {
      mechanism: cpuMechanism(cga),
      targetPct: target,
      weights: [wa, wb],
      cpu: sharedCpu(ctx.spec.cpus),
      achievedPct: round(share.aPct, 3),
      /**
       * CPUs each got (host CPU seconds per second of their cgroups); below 1 together when other host load shares
       * the CPU.
       */
      meanCpus: share.meanRates.map((x) => round(x, 4)),
      countedSeconds: round(share.countedSeconds, 3),
      series: share.series,
      rawLog,
    });

    // Hard cap on A alone.
    const cap = p.cpu.capPercent;
    await cga.setLimits({ cpuQuotaPercent: cap });
    ctx.progress(`cpu: cap ${cap}% on A alone for ${p.cpu.capSeconds} s`);
    const capSamples = await burnAndSample(ctx, [a], [cga], p.cpu.capSeconds, 'partition-cpu-cap');
    const rate = achievedRate(capSamples, 0.005, 0);
    const capLog = await ctx.saveRaw(
      'partition-cpu-cap-samples',
      `${JSON.stringify({ capPercent: cap, samples: capSamples }, null, 1)}\n`,
    );
    const achievedPct = rate.meanRate * 100;
    out.push(metric('partition', 'cpu-cap-pct', achievedPct, capLog));
    out.push(metric('partition', 'cpu-cap-error-pp', errorPp(achievedPct, cap), capLog));
    ctx.recordExtra?.('cpu-cap', {
      mechanism: cga.layout.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us/cpu.cfs_period_us',
      capPct: cap,
      achievedPct: round(achievedPct, 3),
      series: rate.series.map((s) => ({ ...s, rate: round(s.rate * 100, 2) })),
      seriesUnit: '% of a CPU',
      rawLog: capLog,
    });
  } finally {
    await cga.clearCpuQuota().catch(() => undefined);
    await cga.setLimits({ cpuWeight: before[0]?.cpuWeight ?? 100 }).catch(() => undefined);
    await cgb.setLimits({ cpuWeight: before[1]?.cpuWeight ?? 100 }).catch(() => undefined);
  }
}
