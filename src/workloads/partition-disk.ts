/**
 * The partition workload's disk phase: on isobench's own loop device (bfq), the
 * A:B weighted split with the same fio job in both, the paired work-conserving
 * check with A alone, and a hard IOPS cap on A. What it measures is described
 * in partition.ts; the arithmetic is in partition-work-conserving.ts.
 */
import { promises as fs } from 'node:fs';
import type { Instance } from '../backends/types.js';
import { chooseIoMechanism, type CgroupHandle } from '../host/cgroup.js';
import { loopName, type OwnedLoopDevice } from '../host/loopdev.js';
import { deviceReads } from '../host/block-stat.js';
import { metric, timeoutFor } from './common.js';
import { requireCgroup, startBackground, stopBackground } from './isolation-exec.js';
import {
  achievedRate,
  capErrorPct,
  errorPp,
  round,
  sampleWhile,
  splitToWeights,
  targetPct,
  type CumulativeSample,
} from './isolation.js';
import { sleep } from '../util/proc.js';
import type { MetricValue } from './types.js';
import type { PartitionCtx as Ctx, PartitionPlan } from './partition-params.js';
import { fioLayoutArgv, fioRandreadArgv } from './load-argv.js';
import {
  timeSlicedShare,
  wcPhaseWeighted,
  wcRates,
  workConserving,
  type WcPhase,
} from './partition-work-conserving.js';

/** After every fio issued its first I/O, wait this long before sampling (ms). */
const IO_RAMP_MS = 300;
const IO_START_TIMEOUT_MS = 20_000;
export const PART_FIO_FILE = 'isobench-partition.dat';

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
/** Cumulative read I/Os on the owned device, one number per instance measured. */
type Reader = () => Promise<number[]>;

async function whileFioRuns<T>(
  ctx: Ctx,
  insts: Instance[],
  read: Reader,
  files: string[],
  dev: string,
  seconds: number,
  tag: string,
  measure: (read: Reader) => Promise<T>,
): Promise<T> {
  const pids: Array<[Instance, number]> = [];
  try {
    for (const [i, inst] of insts.entries()) {
      const runFor = seconds + IO_START_TIMEOUT_MS / 1000 + 10;
      const argv = [...fioRandreadArgv(files[i] as string, ctx.params.disk.fileMiB, runFor, 'partition'), '--thread'];
      pids.push([inst, await startBackground(ctx, inst, runFor + 10, argv, `${tag}-${i}`)]);
    }
    // Measure once every fio issues I/O (an emulated guest takes a while to start it).
    const first = await read();
    const deadline = performance.now() + IO_START_TIMEOUT_MS;
    for (;;) {
      await sleep(100, ctx.signal);
      const now = await read();
      if (now.every((v, i) => v > (first[i] ?? 0))) break;
      if (performance.now() > deadline)
        throw new Error(
          `partition disk: fio issued no I/O on ${dev} within ${IO_START_TIMEOUT_MS / 1000} s in ${insts
            .filter((_, i) => !((now[i] ?? 0) > (first[i] ?? 0)))
            .map((x) => x.name)
            .join(', ')}`,
        );
    }
    await sleep(IO_RAMP_MS, ctx.signal);
    return await measure(read);
  } finally {
    for (const [inst, pid] of pids) await stopBackground(ctx, inst, pid, 'fio', `${tag}-kill`);
  }
}

/** The cgroups' read counters sampled every sampleMs for `seconds` while fio runs in each instance. */
async function ioAndSample(
  ctx: Ctx,
  insts: Instance[],
  read: Reader,
  files: string[],
  dev: string,
  seconds: number,
  tag: string,
): Promise<CumulativeSample[]> {
  return whileFioRuns(
    ctx,
    insts,
    read,
    files,
    dev,
    seconds,
    tag,
    async (r) => (await sampleWhile(sleep(seconds * 1000, ctx.signal), r, ctx.params.sampleMs)).samples,
  );
}

/** Phase length of the work-conserving check, and the part of each phase left out while a weight change settles. */
const WC_PHASE_MS = 500;
const WC_SETTLE_MS = 100;

/**
 * Work-conserving check, paired: one fio job in A alone (B idle) while the weights are
 * switched between the split and the default every half second. Separate runs of a few
 * seconds each were at the mercy of the host disk under the loop device (run to run
 * ±15% here, enough to fail a 90% threshold by chance); within one run, alternating
 * in ABBA order, the device's drift is common to both arms.
 */
async function aloneAlternating(
  ctx: Ctx,
  a: Instance,
  cga: CgroupHandle,
  cgb: CgroupHandle,
  readA: Reader,
  file: string,
  dev: string,
  seconds: number,
  weights: [number, number],
): Promise<WcPhase[]> {
  // aloneSeconds is per arm (weights set, and not): twice that in all, in whole ABBA blocks, at least two.
  const nPhases = Math.max(8, 4 * Math.round((2 * seconds * 1000) / WC_PHASE_MS / 4));
  return whileFioRuns(
    ctx,
    [a],
    readA,
    [file],
    dev,
    (nPhases * WC_PHASE_MS) / 1000,
    'partition-disk-alone',
    async (read) => {
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
    },
  );
}

export async function diskPhase(
  ctx: Ctx,
  a: Instance,
  b: Instance,
  own: OwnedLoopDevice,
  plan: PartitionPlan,
  out: MetricValue[],
): Promise<void> {
  const p = ctx.params;
  const d = p.disk;
  const cga = requireCgroup(a, 'partition disk');
  const cgb = requireCgroup(b, 'partition disk');
  if (d.fileMiB > ctx.spec.disk.sizeMiB * 0.9)
    throw new Error(
      `partition disk: fileMiB ${d.fileMiB} does not fit in the ${ctx.spec.disk.sizeMiB} MiB scratch disk`,
    );
  const fa = `${a.scratchDir.replace(/\/+$/, '')}/${PART_FIO_FILE}`;
  const fb = `${b.scratchDir.replace(/\/+$/, '')}/${PART_FIO_FILE}`;
  const dev = own.majMin;
  const device = {
    path: own.device,
    majMin: dev,
    scheduler: own.scheduler,
    strictGuarantees: own.strictGuarantees,
    loopDirectIo: own.directIo,
  };
  let weightsUsed = false;
  const caps = ctx.capabilities;
  // Per-cgroup counters tell A's I/Os from B's; without them only isobench's own device counts, exact
  // only while one instance does I/O on it (the probe and the cap, not the share).
  const perCgroup = plan.diskCounters === 'cgroup';
  const canShare = plan.diskShare;
  const canCap = plan.diskCap;
  if (!canShare && !canCap) return;
  const cgRead =
    (cgs: CgroupHandle[]): Reader =>
    async () =>
      (await Promise.all(cgs.map((c) => c.ioStats()))).map((m) => m.get(dev)?.readIos ?? 0);
  const devRead: Reader = async () => [
    (await deviceReads([{ name: loopName(own.device), majMin: dev }], caps.sysRoot))[0]?.readIos ?? 0,
  ];
  const readA = perCgroup ? cgRead([cga]) : devRead;
  // cgroup v1 counts a cgroup's I/O on a device only while it has a throttle rule there: a no-op one.
  const countOn = async (cg: CgroupHandle): Promise<void> => {
    if (perCgroup && cg.layout.version === 1) await cg.setIoThrottle({ device: dev, readIops: 1e12, writeIops: 1e12 });
  };
  try {
    await Promise.all([
      ctx.exec(a, fioLayoutArgv(fa, d.fileMiB), {
        tag: 'partition-disk-layout-a',
        timeoutMs: timeoutFor(ctx, 60 + d.fileMiB / 4),
      }),
      ctx.exec(b, fioLayoutArgv(fb, d.fileMiB), {
        tag: 'partition-disk-layout-b',
        timeoutMs: timeoutFor(ctx, 60 + d.fileMiB / 4),
      }),
    ]);
    await countOn(cga);
    await countOn(cgb);
    // Does A's I/O reach the owned device (charged to A's cgroup, where that can be told)? A short direct-read probe.
    const [s0 = 0] = await readA();
    await ctx.exec(a, fioRandreadArgv(fa, d.fileMiB, 1, 'probe'), {
      tag: 'partition-disk-probe',
      timeoutMs: timeoutFor(ctx, 1),
    });
    const [s1 = 0] = await readA();
    const probeIos = s1 - s0;
    if (!(probeIos > 0)) {
      const where = perCgroup
        ? " charged to its cgroup (I/O done outside the instance's cgroup, or served from a cache)"
        : ' (served from a cache)';
      throw new Error(
        `partition disk: a direct-read probe in ${a.name} issued no block I/O ` +
          `on isobench's device ${own.device} (${dev})${where}: the disk share is not measurable here`,
      );
    }
    const weightFile = canShare && (await cga.ioWeightFileExists());
    const choice = chooseIoMechanism({
      version: cga.layout.version,
      weightFileExists: weightFile,
      scheduler: own.scheduler,
      ioCostEnabled: await ioCostEnabled(cga),
    });
    const target = targetPct(p.split);
    const [wa, wb] = splitToWeights(p.split);
    if (!canShare) {
      // Recorded in skippedParts above.
    } else if (choice.mechanism !== 'weight') {
      ctx.recordExtra?.('disk-share', {
        notMeasured:
          `no weighted split possible: ${choice.reason}; ` +
          'a throttle would only cap each side (see disk-cap), it is not a share',
        device,
      });
    } else {
      weightsUsed = true;
      const file = await cga.setIoWeight(wa);
      await cgb.setIoWeight(wb);
      const readBack = [await cga.readIoWeight(), await cgb.readIoWeight()];
      ctx.progress(`disk: bfq weights ${wa}:${wb} (${file}) on ${own.device}, fio in both for ${d.seconds} s`);
      const samples = await ioAndSample(
        ctx,
        [a, b],
        cgRead([cga, cgb]),
        [fa, fb],
        dev,
        d.seconds,
        'partition-disk-fio',
      );
      const share = timeSlicedShare(samples);
      const [iopsA = 0, iopsB = 0] = share.meanRates;
      // Does an idle B lend its share? A alone, the weights switched on and off within one fio run.
      ctx.progress(
        `disk: A alone for ${d.aloneSeconds} s, B idle, weights switched on and off every ${WC_PHASE_MS} ms ` +
          "(does B's idle share go to A?)",
      );
      const phases = await aloneAlternating(ctx, a, cga, cgb, cgRead([cga]), fa, dev, d.aloneSeconds, [wa, wb]);
      const rates = wcRates(phases);
      const wc = workConserving(
        phases.filter((ph) => ph.weighted).map((ph) => ph.iops),
        phases.filter((ph) => !ph.weighted).map((ph) => ph.iops),
        target,
      );
      const directIo = own.directIo ? 'on' : 'OFF';
      const strict = own.strictGuarantees === undefined ? 'n/a' : own.strictGuarantees ? 'on, low_latency off' : 'off';
      const mechanism =
        `bfq weights ${wa}:${wb} (${file}, cgroup v${cga.layout.version}) on isobench's own ${own.device} ` +
        `(loop, direct I/O ${directIo}, bfq strict_guarantees ${strict})`;
      const rawLog = await ctx.saveRaw(
        'partition-disk-samples',
        `${JSON.stringify({ device, mechanism, readBack, samples, workConservingPhases: phases }, null, 1)}\n`,
      );
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
          design:
            `one fio run in A alone (B idle), weights ${wa}:${wb} and 100:100 alternating every ${WC_PHASE_MS} ms ` +
            `in ABBA order (first ${WC_SETTLE_MS} ms of each phase left out)`,
          bothIops: round(iopsA + iopsB, 1),
          alonePct: round(wc.alonePct, 2),
          ci95Pct: wc.ci95Pct?.map((x) => round(x, 2)) ?? null,
          thresholdPct: wc.thresholdPct,
          verdict: wc.verdict,
          pass: wc.pass,
          series: phases.map((ph, i) => ({
            tS: round(((i + 1) * WC_PHASE_MS) / 1000, 3),
            rate: ph.iops,
            counted: ph.weighted,
          })),
        },
        rawLog,
      });
      await cga.setIoWeight(100);
      await cgb.setIoWeight(100);
      weightsUsed = false;
    }

    // Hard cap on A alone: a cap test, not a partition.
    if (canCap) {
      await cga.setIoThrottle({ device: dev, readIops: d.capIops, writeIops: d.capIops });
      ctx.progress(`disk: cap ${d.capIops} IOPS on A alone for ${d.seconds} s`);
      const capSamples = await ioAndSample(ctx, [a], readA, [fa], dev, d.seconds, 'partition-disk-cap');
      const rate = achievedRate(capSamples, 0.5, 0);
      const counter = perCgroup ? "A's cgroup counters" : `${own.device}'s own /sys/block stat (only A does I/O on it)`;
      const capLog = await ctx.saveRaw(
        'partition-disk-cap-samples',
        `${JSON.stringify({ device, capIops: d.capIops, counter, samples: capSamples }, null, 1)}\n`,
      );
      out.push(metric('partition', 'disk-cap-iops', rate.meanRate, capLog));
      out.push(metric('partition', 'disk-cap-error-pct', capErrorPct(rate.meanRate, d.capIops), capLog));
      ctx.recordExtra?.('disk-cap', {
        mechanism: cga.layout.version === 2 ? 'io.max' : 'blkio.throttle.read_iops_device',
        device: dev,
        capIops: d.capIops,
        counter,
        iops: round(rate.meanRate, 1),
        series: rate.series,
        seriesUnit: 'IOPS',
        rawLog: capLog,
      });
    }
  } finally {
    if (canCap || perCgroup) {
      await cga.clearIoThrottle(dev).catch(() => undefined);
      await cgb.clearIoThrottle(dev).catch(() => undefined);
    }
    if (weightsUsed) {
      await cga.setIoWeight(100).catch(() => undefined);
      await cgb.setIoWeight(100).catch(() => undefined);
    }
    await ctx
      .exec(a, ['rm', '-f', fa], { tag: 'partition-disk-cleanup-a', timeoutMs: 30_000, allowFailure: true })
      .catch(() => undefined);
    await ctx
      .exec(b, ['rm', '-f', fb], { tag: 'partition-disk-cleanup-b', timeoutMs: 30_000, allowFailure: true })
      .catch(() => undefined);
  }
}
