/**
 * Partitioning: can two instances be given 80% and 20% of a resource, and can one
 * be held to a hard cap? The article's claim, measured for CPU, disk and network.
 *
 * One repetition starts two fresh instances A and B of the backend (ctx.startInstance),
 * both pinned to one CPU (the last of the scenario's set), and for each resource asked:
 *
 *  - CPU share: weights split[0]:split[1] on their cgroups (cgroup.setLimits({cpuWeight}):
 *    v1 cpu.shares, v2 cpu.weight; for a VM the QEMU process's cgroup), then a CPU burn
 *    (sysbench cpu, one thread) started in the background in both; once both run, each
 *    cgroup's CPU usage is sampled every sampleMs for cpu.seconds, then the burns are
 *    killed. The achieved share of A is computed per interval (series) and over the
 *    window (see isolation.ts). `cpu-share-error-pp` = |achieved - target| in
 *    percentage points. Other load on that CPU lowers what both get, not the ratio.
 *  - CPU cap: cpuQuotaPercent = cpu.capPercent on A alone (B idle), burn for
 *    cpu.capSeconds; achieved CPU percent vs the cap (`cpu-cap-error-pp`).
 *  - Disk share: a weighted, work-conserving split. isobench makes a block device of
 *    its own (host/loopdev.ts: a loop device attached with direct I/O, switched to
 *    bfq, ext4 on it; never the host disk) and starts A and B with their scratch disks
 *    on it (DiskSpec.placeUnder: a directory for native and containers, the raw image
 *    QEMU opens with O_DIRECT for a VM). A short direct-read probe checks that A's I/O
 *    reaches that device. Then bfq weights split[0]:split[1] on the two cgroups (v1
 *    `blkio.bfq.weight`, v2 `io.bfq.weight`, or `io.weight` where io.cost is on), the
 *    same fio job (4 KiB random read, O_DIRECT) in both, and the achieved split from
 *    the cgroups' read counters on the device, sampled while both run.
 *    bfq's strict_guarantees is set on that device (only there): bfq otherwise lets
 *    both queues' requests be in flight together while the device is not saturated,
 *    and weights do not show (measured here: ~60:40 without, ~80:20 with).
 *  - Work-conserving check: one fio run in A alone (B idle) while the weights switch
 *    between the split and the default every half second (ABBA order, so the host
 *    disk's drift is common to both arms), A's mean IOPS compared. A weighted split
 *    lends B's idle share to A, so A alone gets about the same (`disk-a-alone-pct`);
 *    a cap would hold it near split[0]%. It passes above the midpoint of split[0]%
 *    and 100%.
 *    Where weights cannot take effect (no bfq, no weight file), the share is not
 *    measured and extra.disk-share says why: throttle caps are never labelled a share.
 *  - Disk cap: A alone capped at disk.capIops (throttle: v1
 *    blkio.throttle.read_iops_device, v2 io.max) on the same device; achieved IOPS vs
 *    cap. A separate test of a hard cap, not a partition.
 *  - Network share: an HTB tree on the bench bridge (one shaped link of
 *    network.linkMbit) with A's class at split[0]% and B's at split[1]% (ceil: the whole
 *    link), iperf3 into both at once; achieved split from the classes' byte counters.
 *  - Network cap: TBF at network.capMbit on A's bench-side link (benchIf; an HTB class
 *    with rate = ceil on the bridge when the backend exposes no link); iperf3 into A.
 *
 * Everything created (weights, quotas, throttles, qdiscs) is removed in `finally`, also
 * on failure; the two instances are stopped at the end of the repetition.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { Instance } from '../backends/types.js';
import { chooseIoMechanism, type CgroupHandle } from '../host/cgroup.js';
import { createOwnedLoopDevice, type OwnedLoopDevice } from '../host/loopdev.js';
import { delRootArgv, htbClassId, htbSplitArgvs, parseTcSentBytes, tbfCapArgv } from '../net/tc.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import { benchTc, iperfClient, requireCgroup, sharedCpu, startBackground, stopBackground } from './isolation-exec.js';
import { achievedRate, achievedShare, capErrorPct, errorPp, round, sampleWhile, splitBudget, splitToWeights, targetPct, type CumulativeSample } from './isolation.js';
import { iperfServerArgv } from './network.js';
import { parseIperf3Json } from './parsers/iperf3.js';
import { ratioOfMeans } from '../stats/index.js';
import { sleep } from '../util/proc.js';
import { registerWorkload } from './registry.js';
import type { MetricValue, Workload, WorkloadContext } from './types.js';
import { partitionExtras } from './extras/partition.js';

const splitSchema = z.tuple([z.number().int().min(1).max(99), z.number().int().min(1).max(99)]);

export const partitionParams = z
  .object({
    /** Which resources to partition in each repetition. */
    resources: z.array(z.enum(['cpu', 'disk', 'network'])).min(1).default(['cpu', 'disk', 'network']),
    /** Target split A:B in percent (weights or budgets in this ratio). */
    split: splitSchema.default([80, 20]),
    /** Counter sampling interval (ms) for the share-over-time series. */
    sampleMs: z.number().int().min(50).max(5000).default(250),
    cpu: z
      .object({
        seconds: z.number().int().min(2).max(600).default(6),
        capPercent: z.number().min(5).max(95).default(50),
        capSeconds: z.number().int().min(2).max(600).default(4),
      })
      .strict()
      .prefault({}),
    disk: z
      .object({
        seconds: z.number().int().min(2).max(600).default(5),
        /** Seconds of A alone with the weights set (the work-conserving check). */
        aloneSeconds: z.number().int().min(2).max(600).default(3),
        capIops: z.number().int().min(10).max(10_000_000).default(400),
        fileMiB: z.number().int().min(4).max(65_536).default(64),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        seconds: z.number().int().min(2).max(300).default(5),
        /** Rate of the shaped link the split divides. */
        linkMbit: z.number().int().min(1).max(100_000).default(200),
        capMbit: z.number().int().min(1).max(100_000).default(100),
        port: z.number().int().min(1024).max(65_535).default(5231),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type PartitionParams = z.infer<typeof partitionParams>;
type Ctx = WorkloadContext<PartitionParams>;

/** Both burns run this long before sampling starts (ms). */
const BURN_RAMP_MS = 500;
/** After every fio issued its first I/O, wait this long before sampling (ms). */
const IO_RAMP_MS = 300;
const IO_START_TIMEOUT_MS = 20_000;
export const PART_FIO_FILE = 'isobench-partition.dat';

/**
 * One CPU-bound thread in one process (sysbench cpu): a background burn must die with
 * its pid (stress-ng's workers are separate processes that would outlive a kill -9 of
 * their parent).
 */
export function cpuBurnArgv(seconds: number, threads = 1): string[] {
  return ['sysbench', 'cpu', `--threads=${threads}`, `--time=${seconds}`, '--cpu-max-prime=10000', 'run'];
}

export function fioRandreadArgv(file: string, fileMiB: number, seconds: number, name = 'randread'): string[] {
  return ['fio', `--name=${name}`, `--filename=${file}`, `--size=${fileMiB}M`, '--direct=1', '--ioengine=psync', '--rw=randread', '--bs=4k', '--time_based', `--runtime=${seconds}`, '--output-format=json'];
}

/**
 * Write the whole file with real data (no fallocate, fsync at the end): direct reads
 * of unwritten extents or holes are answered by the filesystem without any block I/O,
 * which neither measures the device nor is seen by I/O throttling.
 */
export function fioLayoutArgv(file: string, fileMiB: number): string[] {
  return ['fio', '--name=layout', `--filename=${file}`, `--size=${fileMiB}M`, '--rw=write', '--bs=1M', '--fallocate=none', '--end_fsync=1', '--output-format=terse'];
}

function cpuMechanism(cg: CgroupHandle): string {
  return cg.layout.version === 2 ? 'cpu.weight (cgroup v2)' : 'cpu.shares (cgroup v1)';
}

/**
 * Run a CPU burn in the background in each instance, then sample their cgroups for
 * `seconds`, then kill the burns: the sampled window lies wholly inside the time both
 * burns ran (an exec's start-up latency, large for a starved VM's guest agent, is
 * outside it). A burn outlives the window by at most its KILL bound.
 */
async function burnAndSample(ctx: Ctx, insts: Instance[], cgs: CgroupHandle[], seconds: number, tag: string): Promise<CumulativeSample[]> {
  const pids: Array<[Instance, number]> = [];
  try {
    for (const [i, inst] of insts.entries()) pids.push([inst, await startBackground(ctx, inst, seconds + 30, cpuBurnArgv(seconds + 20), `${tag}-${i}`)]);
    await sleep(BURN_RAMP_MS, ctx.signal);
    const { samples } = await sampleWhile(sleep(seconds * 1000, ctx.signal), () => Promise.all(cgs.map((c) => c.cpuUsageSeconds())), ctx.params.sampleMs);
    return samples;
  } finally {
    for (const [inst, pid] of pids) await stopBackground(ctx, inst, pid, 'sysbench', `${tag}-kill`);
  }
}

async function cpuPhase(ctx: Ctx, a: Instance, b: Instance, out: MetricValue[]): Promise<void> {
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
    const rawLog = await ctx.saveRaw('partition-cpu-samples', `${JSON.stringify({ weights: [wa, wb], readBack, samples }, null, 1)}\n`);
    out.push(metric('partition', 'cpu-share-a-pct', share.aPct, rawLog));
    out.push(metric('partition', 'cpu-share-error-pp', errorPp(share.aPct, target), rawLog));
    ctx.recordExtra?.('cpu-share', {
      mechanism: cpuMechanism(cga),
      targetPct: target,
      weights: [wa, wb],
      cpu: sharedCpu(ctx.spec.cpus),
      achievedPct: round(share.aPct, 3),
      /** CPUs each got (host CPU seconds per second of their cgroups); below 1 together when other host load shares the CPU. */
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
    const capLog = await ctx.saveRaw('partition-cpu-cap-samples', `${JSON.stringify({ capPercent: cap, samples: capSamples }, null, 1)}\n`);
    const achievedPct = rate.meanRate * 100;
    out.push(metric('partition', 'cpu-cap-pct', achievedPct, capLog));
    out.push(metric('partition', 'cpu-cap-error-pp', errorPp(achievedPct, cap), capLog));
    ctx.recordExtra?.('cpu-cap', { mechanism: cga.layout.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us/cpu.cfs_period_us', capPct: cap, achievedPct: round(achievedPct, 3), series: rate.series.map((s) => ({ ...s, rate: round(s.rate * 100, 2) })), seriesUnit: '% of a CPU', rawLog: capLog });
  } finally {
    await cga.clearCpuQuota().catch(() => undefined);
    await cga.setLimits({ cpuWeight: before[0]?.cpuWeight ?? 100 }).catch(() => undefined);
    await cgb.setLimits({ cpuWeight: before[1]?.cpuWeight ?? 100 }).catch(() => undefined);
  }
}

async function ioCostEnabled(cg: CgroupHandle): Promise<boolean> {
  if (cg.layout.version !== 2) return false;
  const text = await fs.readFile(`${cg.layout.root}/io.cost.qos`, 'utf8').catch(() => '');
  return /enable=1/.test(text);
}

/**
 * fio (4k random read, O_DIRECT, one process: --thread) in the background in each
 * instance; once every fio issues I/O (plus a ramp), `measure` runs with a reader of
 * the cgroups' read counters on `dev`; then fio is killed, so whatever `measure`
 * samples lies wholly inside the time every fio ran.
 */
async function whileFioRuns<T>(ctx: Ctx, insts: Instance[], cgs: CgroupHandle[], files: string[], dev: string, seconds: number, tag: string, measure: (read: () => Promise<number[]>) => Promise<T>): Promise<T> {
  const pids: Array<[Instance, number]> = [];
  try {
    for (const [i, inst] of insts.entries()) {
      const runFor = seconds + IO_START_TIMEOUT_MS / 1000 + 10;
      const argv = [...fioRandreadArgv(files[i] as string, ctx.params.disk.fileMiB, runFor, 'partition'), '--thread'];
      pids.push([inst, await startBackground(ctx, inst, runFor + 10, argv, `${tag}-${i}`)]);
    }
    const read = async (): Promise<number[]> => (await Promise.all(cgs.map((c) => c.ioStats()))).map((m) => m.get(dev)?.readIos ?? 0);
    // Measure once every fio issues I/O (an emulated guest takes a while to start it).
    const first = await read();
    const deadline = performance.now() + IO_START_TIMEOUT_MS;
    for (;;) {
      await sleep(100, ctx.signal);
      const now = await read();
      if (now.every((v, i) => v > (first[i] ?? 0))) break;
      if (performance.now() > deadline) throw new Error(`partition disk: fio issued no I/O on ${dev} within ${IO_START_TIMEOUT_MS / 1000} s in ${insts.filter((_, i) => !((now[i] ?? 0) > (first[i] ?? 0))).map((x) => x.name).join(', ')}`);
    }
    await sleep(IO_RAMP_MS, ctx.signal);
    return await measure(read);
  } finally {
    for (const [inst, pid] of pids) await stopBackground(ctx, inst, pid, 'fio', `${tag}-kill`);
  }
}

/** The cgroups' read counters sampled every sampleMs for `seconds` while fio runs in each instance. */
async function ioAndSample(ctx: Ctx, insts: Instance[], cgs: CgroupHandle[], files: string[], dev: string, seconds: number, tag: string): Promise<CumulativeSample[]> {
  return whileFioRuns(ctx, insts, cgs, files, dev, seconds, tag, async (read) => (await sampleWhile(sleep(seconds * 1000, ctx.signal), read, ctx.params.sampleMs)).samples);
}

/** Phase length of the work-conserving check, and the part of each phase left out while a weight change settles. */
const WC_PHASE_MS = 500;
const WC_SETTLE_MS = 100;

export interface WcPhase {
  weighted: boolean;
  /** A's IOPS over the phase after its settle time. */
  iops: number;
}

/** Which phases of the work-conserving check have the weights set: ABBA, so a linear drift of the device cancels. */
export function wcPhaseWeighted(i: number): boolean {
  return i % 4 === 0 || i % 4 === 3;
}

/** Mean IOPS of A with the weights set and without them, from the check's phases (pure). */
export function wcRates(phases: readonly WcPhase[]): { weighted: number; unweighted: number } {
  const avg = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
  return { weighted: avg(phases.filter((p) => p.weighted).map((p) => p.iops)), unweighted: avg(phases.filter((p) => !p.weighted).map((p) => p.iops)) };
}

/**
 * Work-conserving check, paired: one fio job in A alone (B idle) while the weights are
 * switched between the split and the default every half second. Separate runs of a few
 * seconds each were at the mercy of the host disk under the loop device (run to run
 * ±15% here, enough to fail a 90% threshold by chance); within one run, alternating
 * in ABBA order, the device's drift is common to both arms.
 */
async function aloneAlternating(ctx: Ctx, a: Instance, cga: CgroupHandle, cgb: CgroupHandle, file: string, dev: string, seconds: number, weights: [number, number]): Promise<WcPhase[]> {
  // aloneSeconds is per arm (weights set, and not): twice that in all, in whole ABBA blocks, at least two.
  const nPhases = Math.max(8, 4 * Math.round((2 * seconds * 1000) / WC_PHASE_MS / 4));
  return whileFioRuns(ctx, [a], [cga], [file], dev, (nPhases * WC_PHASE_MS) / 1000, 'partition-disk-alone', async (read) => {
    const phases: WcPhase[] = [];
    for (let i = 0; i < nPhases; i++) {
      const weighted = wcPhaseWeighted(i);
      await cga.setIoWeight(weighted ? weights[0] : 100);
      await cgb.setIoWeight(weighted ? weights[1] : 100);
      await sleep(WC_SETTLE_MS, ctx.signal);
      const t0 = performance.now();
      const [c0 = 0] = await read();
      await sleep(WC_PHASE_MS - WC_SETTLE_MS, ctx.signal);
      const [c1 = 0] = await read();
      phases.push({ weighted, iops: round((c1 - c0) / ((performance.now() - t0) / 1000), 1) });
    }
    return phases;
  });
}

/**
 * A's share of the I/Os over the whole sampled window (pure). bfq serves one queue at a
 * time in slices of about 100 ms, so a 250 ms sampling interval often holds only A's
 * I/O: dropping intervals where one side did nothing (as a CPU or network share may)
 * would drop exactly A's slices and pull the share towards 50:50 (measured: 66% for a
 * true 80%). ioAndSample's window lies wholly inside the time both fio jobs ran, so
 * every interval counts.
 */
export function timeSlicedShare(samples: readonly CumulativeSample[]): ReturnType<typeof achievedShare> {
  return achievedShare(samples, { minPartyRate: 0, trimEdges: 0 });
}

export type WcVerdict = 'work-conserving' | 'not work-conserving' | 'inconclusive';

/**
 * Work-conserving check (pure): A alone with the weights set (B idle), against A alone
 * with default weights (what the device gives this job with nobody else), as a ratio
 * of means with its 95% CI. The threshold is the midpoint of A's target and 100% (90%
 * for 80:20): a cap, or a split that keeps B's share idle, would hold A near its
 * target. 'work-conserving' when the ratio is at or above the threshold; 'not
 * work-conserving' only when the whole interval lies below it; otherwise
 * 'inconclusive' (the device was too noisy to tell), never a pass.
 */
export function workConserving(weightedIops: readonly number[], unweightedIops: readonly number[], targetAPct: number): { alonePct: number; ci95Pct: [number, number] | null; thresholdPct: number; verdict: WcVerdict; pass: boolean } {
  const base = unweightedIops.length ? unweightedIops.reduce((s, x) => s + x, 0) / unweightedIops.length : 0;
  if (!(base > 0)) throw new Error(`A alone did no I/O (${base} IOPS): nothing to compare with`);
  const thresholdPct = (targetAPct + 100) / 2;
  const r = ratioOfMeans(unweightedIops, weightedIops);
  const alonePct = r ? 100 * r.ratio : (100 * (weightedIops.reduce((s, x) => s + x, 0) / Math.max(1, weightedIops.length))) / base;
  const ci95Pct: [number, number] | null = r && Number.isFinite(r.ci95[0]) && Number.isFinite(r.ci95[1]) ? [100 * r.ci95[0], 100 * r.ci95[1]] : null;
  const verdict: WcVerdict = alonePct >= thresholdPct ? 'work-conserving' : ci95Pct && ci95Pct[1] < thresholdPct ? 'not work-conserving' : 'inconclusive';
  return { alonePct, ci95Pct, thresholdPct, verdict, pass: verdict === 'work-conserving' };
}

async function diskPhase(ctx: Ctx, a: Instance, b: Instance, own: OwnedLoopDevice, out: MetricValue[]): Promise<void> {
  const p = ctx.params;
  const d = p.disk;
  const cga = requireCgroup(a, 'partition disk');
  const cgb = requireCgroup(b, 'partition disk');
  if (d.fileMiB > ctx.spec.disk.sizeMiB * 0.9) throw new Error(`partition disk: fileMiB ${d.fileMiB} does not fit in the ${ctx.spec.disk.sizeMiB} MiB scratch disk`);
  const fa = `${a.scratchDir.replace(/\/+$/, '')}/${PART_FIO_FILE}`;
  const fb = `${b.scratchDir.replace(/\/+$/, '')}/${PART_FIO_FILE}`;
  const dev = own.majMin;
  const device = { path: own.device, majMin: dev, scheduler: own.scheduler, strictGuarantees: own.strictGuarantees, loopDirectIo: own.directIo };
  let weightsUsed = false;
  // cgroup v1 counts a cgroup's I/O on a device only while it has a throttle rule there: a no-op one.
  const countOn = async (cg: CgroupHandle): Promise<void> => {
    if (cg.layout.version === 1) await cg.setIoThrottle({ device: dev, readIops: 1e12, writeIops: 1e12 });
  };
  try {
    await Promise.all([
      ctx.exec(a, fioLayoutArgv(fa, d.fileMiB), { tag: 'partition-disk-layout-a', timeoutMs: timeoutFor(ctx, 60 + d.fileMiB / 4) }),
      ctx.exec(b, fioLayoutArgv(fb, d.fileMiB), { tag: 'partition-disk-layout-b', timeoutMs: timeoutFor(ctx, 60 + d.fileMiB / 4) }),
    ]);
    await countOn(cga);
    await countOn(cgb);
    // Does A's I/O reach the owned device, charged to A's cgroup? A short direct-read probe.
    const s0 = await cga.ioStats();
    await ctx.exec(a, fioRandreadArgv(fa, d.fileMiB, 1, 'probe'), { tag: 'partition-disk-probe', timeoutMs: timeoutFor(ctx, 1) });
    const s1 = await cga.ioStats();
    const probeIos = (s1.get(dev)?.readIos ?? 0) - (s0.get(dev)?.readIos ?? 0);
    if (!(probeIos > 0)) throw new Error(`partition disk: a direct-read probe in ${a.name} issued no block I/O on isobench's device ${own.device} (${dev}) charged to its cgroup (I/O done outside the instance's cgroup, or served from a cache): the disk share is not measurable on this backend`);
    const weightFile = await cga.ioWeightFileExists();
    const choice = chooseIoMechanism({ version: cga.layout.version, weightFileExists: weightFile, scheduler: own.scheduler, ioCostEnabled: await ioCostEnabled(cga) });
    const target = targetPct(p.split);
    const [wa, wb] = splitToWeights(p.split);
    if (choice.mechanism !== 'weight') {
      ctx.recordExtra?.('disk-share', { notMeasured: `no weighted split possible: ${choice.reason}; a throttle would only cap each side (see disk-cap), it is not a share`, device });
    } else {
      weightsUsed = true;
      const file = await cga.setIoWeight(wa);
      await cgb.setIoWeight(wb);
      const readBack = [await cga.readIoWeight(), await cgb.readIoWeight()];
      ctx.progress(`disk: bfq weights ${wa}:${wb} (${file}) on ${own.device}, fio in both for ${d.seconds} s`);
      const samples = await ioAndSample(ctx, [a, b], [cga, cgb], [fa, fb], dev, d.seconds, 'partition-disk-fio');
      const share = timeSlicedShare(samples);
      const [iopsA = 0, iopsB = 0] = share.meanRates;
      // Does an idle B lend its share? A alone, the weights switched on and off within one fio run.
      ctx.progress(`disk: A alone for ${d.aloneSeconds} s, B idle, weights switched on and off every ${WC_PHASE_MS} ms (does B's idle share go to A?)`);
      const phases = await aloneAlternating(ctx, a, cga, cgb, fa, dev, d.aloneSeconds, [wa, wb]);
      const rates = wcRates(phases);
      const wc = workConserving(phases.filter((ph) => ph.weighted).map((ph) => ph.iops), phases.filter((ph) => !ph.weighted).map((ph) => ph.iops), target);
      const mechanism = `bfq weights ${wa}:${wb} (${file}, cgroup v${cga.layout.version}) on isobench's own ${own.device} (loop, direct I/O ${own.directIo ? 'on' : 'OFF'}, bfq strict_guarantees ${own.strictGuarantees === undefined ? 'n/a' : own.strictGuarantees ? 'on, low_latency off' : 'off'})`;
      const rawLog = await ctx.saveRaw('partition-disk-samples', `${JSON.stringify({ device, mechanism, readBack, samples, workConservingPhases: phases }, null, 1)}\n`);
      out.push(metric('partition', 'disk-share-a-pct', share.aPct, rawLog));
      out.push(metric('partition', 'disk-share-error-pp', errorPp(share.aPct, target), rawLog));
      out.push(metric('partition', 'disk-a-iops', iopsA, rawLog));
      out.push(metric('partition', 'disk-b-iops', iopsB, rawLog));
      out.push(metric('partition', 'disk-a-alone-iops', rates.weighted, rawLog));
      out.push(metric('partition', 'disk-a-alone-pct', wc.alonePct, rawLog));
      ctx.recordExtra?.('disk-share', {
        mechanism,
        mechanismReason: choice.reason,
        device,
        targetPct: target,
        weights: [wa, wb],
        weightsReadBack: readBack,
        achievedPct: round(share.aPct, 3),
        iops: [round(iopsA, 1), round(iopsB, 1)],
        series: share.series,
        workConserving: {
          aloneIops: round(rates.weighted, 1),
          baselineIops: round(rates.unweighted, 1),
          phases,
          design: `one fio run in A alone (B idle), weights ${wa}:${wb} and 100:100 alternating every ${WC_PHASE_MS} ms in ABBA order (first ${WC_SETTLE_MS} ms of each phase left out)`,
          bothIops: round(iopsA + iopsB, 1),
          alonePct: round(wc.alonePct, 2),
          ci95Pct: wc.ci95Pct?.map((x) => round(x, 2)) ?? null,
          thresholdPct: wc.thresholdPct,
          verdict: wc.verdict,
          pass: wc.pass,
          series: phases.map((ph, i) => ({ tS: round(((i + 1) * WC_PHASE_MS) / 1000, 3), rate: ph.iops, counted: ph.weighted })),
        },
        rawLog,
      });
      await cga.setIoWeight(100);
      await cgb.setIoWeight(100);
      weightsUsed = false;
    }

    // Hard cap on A alone: a cap test, not a partition.
    await cga.setIoThrottle({ device: dev, readIops: d.capIops, writeIops: d.capIops });
    ctx.progress(`disk: cap ${d.capIops} IOPS on A alone for ${d.seconds} s`);
    const capSamples = await ioAndSample(ctx, [a], [cga], [fa], dev, d.seconds, 'partition-disk-cap');
    const rate = achievedRate(capSamples, 0.5, 0);
    const capLog = await ctx.saveRaw('partition-disk-cap-samples', `${JSON.stringify({ device, capIops: d.capIops, samples: capSamples }, null, 1)}\n`);
    out.push(metric('partition', 'disk-cap-iops', rate.meanRate, capLog));
    out.push(metric('partition', 'disk-cap-error-pct', capErrorPct(rate.meanRate, d.capIops), capLog));
    ctx.recordExtra?.('disk-cap', { mechanism: cga.layout.version === 2 ? 'io.max' : 'blkio.throttle.read_iops_device', device: dev, capIops: d.capIops, iops: round(rate.meanRate, 1), series: rate.series, seriesUnit: 'IOPS', rawLog: capLog });
  } finally {
    await cga.clearIoThrottle(dev).catch(() => undefined);
    await cgb.clearIoThrottle(dev).catch(() => undefined);
    if (weightsUsed) {
      await cga.setIoWeight(100).catch(() => undefined);
      await cgb.setIoWeight(100).catch(() => undefined);
    }
    await ctx.exec(a, ['rm', '-f', fa], { tag: 'partition-disk-cleanup-a', timeoutMs: 30_000, allowFailure: true }).catch(() => undefined);
    await ctx.exec(b, ['rm', '-f', fb], { tag: 'partition-disk-cleanup-b', timeoutMs: 30_000, allowFailure: true }).catch(() => undefined);
  }
}

/** Bytes sent by the given tc classes/qdiscs on `dev`, in the order of `ids`. */
async function tcBytes(ctx: Ctx, kind: 'class' | 'qdisc', dev: string, ids: string[]): Promise<number[]> {
  const m = parseTcSentBytes(await benchTc(ctx, ['tc', '-s', kind, 'show', 'dev', dev]));
  return ids.map((id) => {
    const v = m.get(id);
    if (v === undefined) throw new Error(`tc ${kind} ${id} on ${dev} not found`);
    return v;
  });
}

async function iperfInto(ctx: Ctx, inst: Instance, addr: string, seconds: number, tag: string) {
  const port = ctx.params.network.port;
  const pid = await startBackground(ctx, inst, seconds + 60, iperfServerArgv(addr, port), `${tag}-server`);
  try {
    const r = await iperfClient(ctx, addr, port, seconds, tag);
    const parsed = parseRaw(r.rawLog, () => parseIperf3Json(r.stdout), r.code !== 0 ? `client exit ${r.code}` : undefined);
    return { mbps: parsed.receivedBitsPerSecond / 1e6, rawLog: r.rawLog };
  } finally {
    await stopBackground(ctx, inst, pid, 'iperf3', `${tag}-server-kill`);
  }
}

async function networkPhase(ctx: Ctx, a: Instance, b: Instance, out: MetricValue[]): Promise<void> {
  const p = ctx.params;
  const n = p.network;
  if (!ctx.net) throw new Error('partition network: the run has no bench network');
  const addrA = benchAddress(a.address, a.name);
  const addrB = benchAddress(b.address, b.name);
  const bridge = 'br0';
  const target = targetPct(p.split);
  const [rateA, rateB] = splitBudget(n.linkMbit, p.split);
  let bridgeShaped = false;
  let capDev: string | undefined;
  try {
    bridgeShaped = true;
    for (const argv of htbSplitArgvs(bridge, n.linkMbit, [
      { address: addrA, rateMbit: rateA },
      { address: addrB, rateMbit: rateB },
    ]))
      await benchTc(ctx, argv);
    ctx.progress(`network: HTB ${rateA}:${rateB} Mbit/s of a ${n.linkMbit} Mbit/s link, iperf3 into both for ${n.seconds} s`);
    const ids = [htbClassId(0), htbClassId(1)];
    const work = Promise.all([iperfInto(ctx, a, addrA, n.seconds, 'partition-net-a'), iperfInto(ctx, b, addrB, n.seconds, 'partition-net-b')]);
    const { result: runs, samples } = await sampleWhile(work, () => tcBytes(ctx, 'class', bridge, ids), p.sampleMs);
    const linkBytesPerS = (n.linkMbit * 1e6) / 8;
    const share = achievedShare(samples, { capacityPerS: linkBytesPerS, minBusyFraction: 0.5, minPartyRate: linkBytesPerS * 0.01 });
    const rawLog = await ctx.saveRaw('partition-net-samples', `${JSON.stringify({ linkMbit: n.linkMbit, ratesMbit: [rateA, rateB], samples }, null, 1)}\n`);
    out.push(metric('partition', 'net-share-a-pct', share.aPct, rawLog));
    out.push(metric('partition', 'net-share-error-pp', errorPp(share.aPct, target), rawLog));
    out.push(metric('iperf3', 'net-a-mbps', runs[0].mbps, runs[0].rawLog));
    out.push(metric('iperf3', 'net-b-mbps', runs[1].mbps, runs[1].rawLog));
    ctx.recordExtra?.('net-share', {
      mechanism: `tc htb on the bench bridge (${bridge}): link ${n.linkMbit} Mbit/s, classes rate ${rateA}/${rateB} Mbit/s, ceil ${n.linkMbit}`,
      targetPct: target,
      achievedPct: round(share.aPct, 3),
      iperfMbps: [round(runs[0].mbps, 2), round(runs[1].mbps, 2)],
      series: share.series.map((s) => ({ ...s, rates: s.rates.map((r) => round((r * 8) / 1e6, 3)) })),
      seriesUnit: 'Mbit/s',
      rawLog,
    });
    await benchTc(ctx, delRootArgv(bridge));
    bridgeShaped = false;

    // Hard cap on A's link.
    let mechanism: string;
    let read: () => Promise<number[]>;
    if (a.benchIf) {
      capDev = a.benchIf;
      await benchTc(ctx, tbfCapArgv(capDev, n.capMbit));
      mechanism = `tc tbf on ${capDev} (A's bench-side link)`;
      const dev = capDev;
      read = async () => {
        const m = parseTcSentBytes(await benchTc(ctx, ['tc', '-s', 'qdisc', 'show', 'dev', dev]));
        return [[...m.values()][0] ?? 0];
      };
    } else {
      bridgeShaped = true;
      for (const argv of htbSplitArgvs(bridge, Math.max(n.capMbit, n.linkMbit), [{ address: addrA, rateMbit: n.capMbit, ceilMbit: n.capMbit }])) await benchTc(ctx, argv);
      mechanism = `tc htb class rate = ceil = ${n.capMbit} Mbit/s on the bench bridge (the backend exposes no bench-side link)`;
      read = () => tcBytes(ctx, 'class', bridge, [htbClassId(0)]);
    }
    ctx.progress(`network: cap ${n.capMbit} Mbit/s on A (${mechanism})`);
    const capped = await sampleWhile(iperfInto(ctx, a, addrA, n.seconds, 'partition-net-cap'), read, p.sampleMs);
    const rate = achievedRate(capped.samples, 1000);
    const capLog = await ctx.saveRaw('partition-net-cap-samples', `${JSON.stringify({ capMbit: n.capMbit, mechanism, samples: capped.samples }, null, 1)}\n`);
    out.push(metric('iperf3', 'net-cap-mbps', capped.result.mbps, capped.result.rawLog));
    out.push(metric('partition', 'net-cap-error-pct', capErrorPct(capped.result.mbps, n.capMbit), capLog));
    ctx.recordExtra?.('net-cap', { mechanism, capMbit: n.capMbit, iperfMbps: round(capped.result.mbps, 2), series: rate.series.map((s) => ({ ...s, rate: round((s.rate * 8) / 1e6, 3) })), seriesUnit: 'Mbit/s', rawLog: capLog });
  } finally {
    if (capDev) await ctx.net.exec(delRootArgv(capDev), { timeoutMs: 15_000 }).catch(() => undefined);
    if (bridgeShaped) await ctx.net.exec(delRootArgv(bridge), { timeoutMs: 15_000 }).catch(() => undefined);
  }
}

export const partitionWorkload: Workload<PartitionParams> = registerWorkload({
  name: 'partition',
  title: 'Partitioning (80:20 shares and hard caps)',
  description: "two instances on one CPU given an A:B split of CPU (weights), disk (bfq weights on isobench's own loop device, with a work-conserving check) and network (HTB on a shaped link), plus a hard cap on one; achieved share vs target over time",
  params: partitionParams,
  extraSchema: partitionExtras,
  needsNetwork: true,
  needsDisk: true,
  metrics: [
    { name: 'cpu-share-a-pct', unit: '%', higherIsBetter: true, description: "A's achieved share of the shared CPU with weights split[0]:split[1] (target: split[0]%)" },
    { name: 'cpu-share-error-pp', unit: 'pp', higherIsBetter: false, description: '|achieved - target| CPU share of A, percentage points' },
    { name: 'cpu-cap-pct', unit: '% of a CPU', higherIsBetter: false, description: 'CPU used by A alone under a hard quota of cpu.capPercent' },
    { name: 'cpu-cap-error-pp', unit: 'pp', higherIsBetter: false, description: '|achieved - cap| CPU percent under the hard quota' },
    { name: 'disk-share-a-pct', unit: '%', higherIsBetter: true, description: "A's share of the I/Os both did with the same fio job under bfq weights split[0]:split[1] on isobench's own device (mechanism in extra.disk-share)" },
    { name: 'disk-share-error-pp', unit: 'pp', higherIsBetter: false, description: '|achieved - target| I/O share of A, percentage points' },
    { name: 'disk-a-iops', unit: 'IOPS', higherIsBetter: true, description: 'fio 4k randread IOPS of A during the split' },
    { name: 'disk-b-iops', unit: 'IOPS', higherIsBetter: true, description: 'fio 4k randread IOPS of B during the split' },
    { name: 'disk-a-alone-iops', unit: 'IOPS', higherIsBetter: true, description: 'fio 4k randread IOPS of A alone with the bfq weights still set (B idle)' },
    { name: 'disk-a-alone-pct', unit: '%', higherIsBetter: true, description: "A alone with the weights set as percent of A alone with default weights: ~100% when B's idle share is lent to A (work-conserving), ~split[0]% under a cap" },
    { name: 'disk-cap-iops', unit: 'IOPS', higherIsBetter: false, description: 'fio 4k randread IOPS of A alone under a hard IOPS cap (disk.capIops)' },
    { name: 'disk-cap-error-pct', unit: '%', higherIsBetter: false, description: '(achieved - cap) / cap, percent (negative: below the cap)' },
    { name: 'net-share-a-pct', unit: '%', higherIsBetter: true, description: "A's share of the bytes both received over one HTB-shaped link" },
    { name: 'net-share-error-pp', unit: 'pp', higherIsBetter: false, description: '|achieved - target| network share of A, percentage points' },
    { name: 'net-a-mbps', unit: 'Mbit/s', higherIsBetter: true, description: 'iperf3 into A during the split (receiver count)' },
    { name: 'net-b-mbps', unit: 'Mbit/s', higherIsBetter: true, description: 'iperf3 into B during the split (receiver count)' },
    { name: 'net-cap-mbps', unit: 'Mbit/s', higherIsBetter: false, description: 'iperf3 into A alone under a hard rate cap (network.capMbit)' },
    { name: 'net-cap-error-pct', unit: '%', higherIsBetter: false, description: '(achieved - cap) / cap, percent (negative: below the cap)' },
  ],
  async run(ctx) {
    const p = ctx.params;
    const want = new Set(p.resources);
    const cpu = sharedCpu(ctx.spec.cpus);
    const network = want.has('network');
    if (network && !ctx.net) throw new Error('partition: network asked for but the run has no bench network');
    // The disk share needs a device isobench owns (bfq on it, never on the host disk): both scratch disks go there.
    let own: OwnedLoopDevice | undefined;
    if (want.has('disk')) {
      ctx.progress('creating isobench\'s own loop device (direct I/O, bfq) for the disk share');
      own = await createOwnedLoopDevice({ sizeMiB: 2 * ctx.spec.disk.sizeMiB + 128, scheduler: 'bfq', strictGuarantees: true, owner: ctx.spec.name });
    }
    const out: MetricValue[] = [];
    try {
      const overrides = { cpus: [cpu], vcpus: 1, network, ...(own ? { disk: { ...ctx.spec.disk, placeUnder: own.mountDir } } : {}) };
      ctx.progress(`starting two instances on CPU ${cpu}`);
      const a = (await ctx.startInstance(overrides)).instance;
      try {
        const b = (await ctx.startInstance(overrides)).instance;
        try {
          // One resource that cannot be partitioned here (e.g. gVisor's gofer does the sandbox's
          // disk I/O outside the instance's cgroup) is recorded against its metrics; the other
          // resources' figures stand. Only when every phase fails does the repetition fail.
          const failures: string[] = [];
          const phases: Array<[string, () => Promise<void>]> = [];
          if (want.has('cpu')) phases.push(['cpu', () => cpuPhase(ctx, a, b, out)]);
          if (own) {
            const disk = own;
            phases.push(['disk', () => diskPhase(ctx, a, b, disk, out)]);
          }
          if (network) phases.push(['net', () => networkPhase(ctx, a, b, out)]);
          for (const [prefix, phase] of phases) {
            try {
              await phase();
            } catch (e) {
              const err = e as Error & { rawLog?: string };
              const metrics = partitionWorkload.metrics.map((m) => m.name).filter((n) => n.startsWith(`${prefix}-`));
              failures.push(err.message);
              ctx.recordExtra?.('metricFailures', { metrics, error: `not measurable: ${err.message}`, ...(err.rawLog ? { rawLog: err.rawLog } : {}) });
              ctx.progress(`${prefix} partition not measurable: ${err.message.split('\n')[0]}`);
            }
          }
          if (failures.length === phases.length && phases.length > 0) throw new Error(failures.join('; '));
        } finally {
          await b.stop().catch(() => undefined);
        }
      } finally {
        await a.stop().catch(() => undefined);
      }
    } finally {
      await own?.release();
    }
    return out;
  },
});
