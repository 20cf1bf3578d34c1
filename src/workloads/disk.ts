/**
 * Disk: fio on the instance's scratch disk with O_DIRECT (--direct=1), so the
 * figures are the I/O path (virtio-blk + QEMU, or the container's bind mount +
 * the host filesystem), not the page cache.
 *
 * One repetition:
 *  1. lay out the test file once (fio --create_only: writes sizeMiB of data, so
 *     the reads below read real blocks, not holes);
 *  2. one fio invocation with four stonewalled jobs in a row on that file:
 *     4 KiB random read, 4 KiB random write (IOPS + completion-latency p50/p99:
 *     the per-I/O cost where virtualization overhead is largest), 1 MiB
 *     sequential read and write (MB/s: the streaming path);
 *  3. remove the file (also when something failed).
 *
 * Cold reads: after the layout (which writes through the page cache) the host's
 * dirty pages are written back and its page cache dropped (ctx.dropHostCaches),
 * so a read that bypasses O_DIRECT cannot be served from a warm cache.
 *
 * Did the reads reach the device? `device-read-bytes-per-fio-byte`: bytes read
 * from the busiest real block device during step 2 (loop devices skipped) per
 * byte fio read. With O_DIRECT honoured every byte fio reads is read from the
 * device once: about 1. Well below 1 when a cache served the reads (gVisor drops
 * O_DIRECT: the sequential job re-reads the file from the page cache; a loop
 * device without direct I/O); well above 1 when the path reads more than asked
 * (readahead on a buffered path). Bytes, not request counts: a request count
 * cannot tell a 1 MiB read split in four from four cached reads plus readahead.
 * The evidence comes from the best source the host has (disk-device-check.ts):
 * the instance cgroup's own counters (v1 with a no-op throttle rule, without
 * which v1 counts nothing; v2 io.stat), else the device-wide /sys/block stat,
 * named in extra.deviceCheck. The results mark a disk figure whose check lies
 * outside [DEVICE_CHECK_MIN, DEVICE_CHECK_MAX] as not comparable
 * (src/stats/plausibility.ts); a check that could not be made is shown as "device
 * reach not checked": missing evidence stays missing, never a 0.
 *
 * CPU cost of the I/O: host CPU seconds charged to the instance (its cgroup: for a
 * VM that includes QEMU's vCPU and I/O threads) between just before and just after
 * step 2, divided by the GB (1e9 bytes) fio moved in step 2. This is what the
 * host pays per GB, idle overhead of the instance during the run included. A
 * delta of 0 means the counter does not count (fio always costs CPU): the metric
 * is then left out, not reported as 0.
 *
 * ioengine: psync by default (one synchronous pread/pwrite per I/O, queue depth
 * 1): present in every fio build and needs no libaio/io_uring support in the
 * guest or sandbox. With psync, iodepth > 1 is capped at 1 by fio.
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { fioJob, parseFioJson, requireLatency } from './parsers/fio.js';
import { metric, parseRaw, timeoutFor } from './common.js';
import { recordEnvironment } from './environment.js';
import { decideDeviceCheck, startDeviceCheck } from './disk-device-check.js';
import type { MetricValue, Workload } from './types.js';
import { diskExtras } from './extras/disk.js';

export const diskParams = z
  .object({
    /** Size of the test file in MiB (must fit in the scratch disk). */
    sizeMiB: z.number().int().min(4).max(1_048_576).default(128),
    /** Runtime of each of the four jobs, whole seconds. */
    runtimeSeconds: z.number().int().min(1).max(600).default(2),
    ioengine: z.enum(['psync', 'sync', 'pvsync', 'libaio', 'io_uring', 'posixaio']).default('psync'),
    iodepth: z.number().int().min(1).max(1024).default(1),
  })
  .strict();

export type DiskParams = z.infer<typeof diskParams>;

export const FIO_FILE = 'isobench-fio.dat';

/** The "did the reads reach the device" check, recorded as a metric of the disk cell. */
export const DEVICE_CHECK_METRIC = 'device-read-bytes-per-fio-byte';
/**
 * An O_DIRECT path reads the bytes fio asks for, plus filesystem metadata after
 * the caches were dropped and block-layer accounting of split requests: 1.14 was
 * measured here natively through a direct-I/O loop device. Below the band part of
 * the reads came from a cache (gVisor here: 0.78); above it the path read ahead.
 * The counts are the instance cgroup's own, so other load on the host does not
 * blur them.
 */
export const DEVICE_CHECK_MIN = 0.9;
export const DEVICE_CHECK_MAX = 1.5;

// The device check's sources and the busiest-device arithmetic live in disk-device-check.ts.
export { deviceReadDelta } from './disk-device-check.js';

/** The four measured jobs: name, fio rw mode, block size. */
export const FIO_JOBS = [
  { name: 'randread', rw: 'randread', bs: '4k' },
  { name: 'randwrite', rw: 'randwrite', bs: '4k' },
  { name: 'seqread', rw: 'read', bs: '1M' },
  { name: 'seqwrite', rw: 'write', bs: '1M' },
] as const;

export function fioFile(scratchDir: string): string {
  return `${scratchDir.replace(/\/+$/, '')}/${FIO_FILE}`;
}

export function fioLayoutArgv(p: DiskParams, file: string): string[] {
  return [
    'fio',
    '--name=layout',
    `--filename=${file}`,
    `--size=${p.sizeMiB}M`,
    '--rw=read',
    '--bs=1M',
    '--create_only=1',
  ];
}

/** A warm-up's fio jobs (their values are dropped): long enough to page in fio and wake the device path. */
const WARMUP_FIO_RUNTIME = '250ms';

export function fioRunArgv(p: DiskParams, file: string, runtime = String(p.runtimeSeconds)): string[] {
  const argv = [
    'fio',
    `--filename=${file}`,
    `--size=${p.sizeMiB}M`,
    '--direct=1',
    `--ioengine=${p.ioengine}`,
    `--iodepth=${p.iodepth}`,
    '--time_based',
    `--runtime=${runtime}`,
    '--output-format=json',
  ];
  FIO_JOBS.forEach((j, i) => {
    argv.push(`--name=${j.name}`);
    // Options after --name belong to that job; --stonewall makes each job wait for the previous one.
    if (i > 0) argv.push('--stonewall');
    argv.push(`--rw=${j.rw}`, `--bs=${j.bs}`);
  });
  return argv;
}

export const diskWorkload: Workload<DiskParams> = registerWorkload({
  name: 'disk',
  title: 'Disk I/O',
  order: 30,
  judgement: { comparison: 'ratio', thresholdPct: 10 },
  check: { metric: DEVICE_CHECK_METRIC, min: DEVICE_CHECK_MIN, max: DEVICE_CHECK_MAX },
  capacity: [
    {
      resource: 'disk',
      tiers: [
        { tier: 0, metrics: [/-iops$/i] },
        { tier: 1, metrics: [/iops/i] },
      ],
    },
  ],
  description:
    'fio O_DIRECT on the scratch disk: 4k random read/write IOPS with clat p50/p99, ' +
    '1M sequential read/write MB/s, host CPU seconds per GB',
  params: diskParams,
  extraSchema: diskExtras,
  needsNetwork: false,
  needsDisk: true,
  metrics: [
    { name: 'randread-iops', unit: 'IOPS', higherIsBetter: true, description: '4 KiB random read, O_DIRECT, fio' },
    {
      name: 'randread-clat-p50-us',
      unit: 'µs',
      higherIsBetter: false,
      description: '4 KiB random read completion latency, median',
    },
    {
      name: 'randread-clat-p99-us',
      unit: 'µs',
      higherIsBetter: false,
      description: '4 KiB random read completion latency, 99th percentile',
    },
    { name: 'randwrite-iops', unit: 'IOPS', higherIsBetter: true, description: '4 KiB random write, O_DIRECT, fio' },
    {
      name: 'randwrite-clat-p50-us',
      unit: 'µs',
      higherIsBetter: false,
      description: '4 KiB random write completion latency, median',
    },
    {
      name: 'randwrite-clat-p99-us',
      unit: 'µs',
      higherIsBetter: false,
      description: '4 KiB random write completion latency, 99th percentile',
    },
    {
      name: 'seqread-mbps',
      unit: 'MB/s',
      higherIsBetter: true,
      description: '1 MiB sequential read, O_DIRECT (MB = 1e6 bytes)',
    },
    {
      name: 'seqwrite-mbps',
      unit: 'MB/s',
      higherIsBetter: true,
      description: '1 MiB sequential write, O_DIRECT (MB = 1e6 bytes)',
    },
    {
      name: 'host-cpu-s-per-gb',
      unit: 'CPU s/GB',
      higherIsBetter: false,
      description: 'host CPU seconds charged to the instance per GB (1e9 bytes) fio moved',
    },
    {
      name: DEVICE_CHECK_METRIC,
      unit: 'device bytes/fio byte',
      higherIsBetter: true,
      description:
        "check, not a performance figure: bytes read from the block device by the instance's cgroup " +
        'per byte fio read (about 1 when the reads reached the device; near 0 when a cache served them; ' +
        'above 2 with readahead)',
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const disk = ctx.spec.disk.sizeMiB;
    if (p.sizeMiB > disk * 0.9)
      throw new Error(
        `disk workload file ${p.sizeMiB} MiB does not fit in the ${disk} MiB scratch disk (keep it under 90%): ` +
          'lower sizeMiB or raise disk.sizeMiB',
      );
    const file = fioFile(ctx.instance.scratchDir);
    const jobsSeconds = p.runtimeSeconds * FIO_JOBS.length;
    await recordEnvironment(ctx, 'disk');
    try {
      // Laying out writes sizeMiB at whatever speed the disk has: bound it generously.
      await ctx.exec(ctx.instance, fioLayoutArgv(p, file), {
        tag: 'disk-fio-layout',
        timeoutMs: timeoutFor(ctx, 60 + p.sizeMiB / 4),
      });
      const cold = ctx.dropHostCaches
        ? await ctx.dropHostCaches()
        : 'host page cache NOT dropped (this context has no host access)';
      const check = await startDeviceCheck(ctx.instance, ctx.capabilities, ctx.capabilities.sysRoot);
      const cpu0 = await ctx.instance.hostCpuSeconds();
      let r: Awaited<ReturnType<typeof ctx.exec>>;
      try {
        r = await ctx.exec(ctx.instance, fioRunArgv(p, file, ctx.repetition === 0 ? WARMUP_FIO_RUNTIME : undefined), {
          tag: 'disk-fio',
          timeoutMs: timeoutFor(ctx, jobsSeconds + 30),
        });
      } finally {
        await check.finish();
      }
      const cpu1 = await ctx.instance.hostCpuSeconds();
      const snaps = await check.finish();
      const parsed = parseRaw(r.rawLog, () => parseFioJson(r.stdout));
      const jobs = parseRaw(r.rawLog, () => Object.fromEntries(FIO_JOBS.map((j) => [j.name, fioJob(parsed, j.name)])));
      const rr = jobs.randread!.read;
      const rw = jobs.randwrite!.write;
      const out: MetricValue[] = parseRaw(r.rawLog, () => [
        metric('fio', 'randread-iops', rr.iops, r.rawLog),
        metric('fio', 'randread-clat-p50-us', requireLatency('randread', 'clat p50', rr.clatP50Us), r.rawLog),
        metric('fio', 'randread-clat-p99-us', requireLatency('randread', 'clat p99', rr.clatP99Us), r.rawLog),
        metric('fio', 'randwrite-iops', rw.iops, r.rawLog),
        metric('fio', 'randwrite-clat-p50-us', requireLatency('randwrite', 'clat p50', rw.clatP50Us), r.rawLog),
        metric('fio', 'randwrite-clat-p99-us', requireLatency('randwrite', 'clat p99', rw.clatP99Us), r.rawLog),
        metric('fio', 'seqread-mbps', jobs.seqread!.read.bwBytesPerSec / 1e6, r.rawLog),
        metric('fio', 'seqwrite-mbps', jobs.seqwrite!.write.bwBytesPerSec / 1e6, r.rawLog),
      ]);
      const bytes = parsed.jobs.reduce((s, j) => s + j.read.ioBytes + j.write.ioBytes, 0);
      const cpuS = cpu1 - cpu0;
      if (bytes > 0 && cpuS > 0) {
        const rawLog = await ctx.saveRaw(
          'disk-host-cpu',
          `host CPU seconds before fio: ${cpu0}\nafter: ${cpu1}\ndelta: ${cpuS}\n` +
            `bytes moved (read+write, all jobs): ${bytes}\n`,
        );
        out.push(metric('fio', 'host-cpu-s-per-gb', cpuS / (bytes / 1e9), rawLog));
      } else {
        ctx.progress(
          `disk: host-cpu-s-per-gb not reported (cpu delta ${cpuS} s, ${bytes} bytes moved: ` +
            'a counter that did not count is missing, not 0)',
        );
      }
      const fioReads = parsed.jobs.reduce((s, j) => s + j.read.totalIos, 0);
      const fioReadBytes = parsed.jobs.reduce((s, j) => s + j.read.ioBytes, 0);
      const decision = decideDeviceCheck(snaps);
      const checkLog = await ctx.saveRaw(
        'disk-device-check',
        [
          `cache: ${cold}`,
          `fio reads (all jobs): ${fioReads} I/Os, ${fioReadBytes} bytes`,
          ...check.notes,
          snaps.cgroupBefore && snaps.cgroupAfter
            ? `cgroup block-device counters before: ${JSON.stringify([...snaps.cgroupBefore])}\n` +
              `after: ${JSON.stringify([...snaps.cgroupAfter])}`
            : `cgroup block-device counters: not read (${snaps.cgroupWhyNot ?? '?'})`,
          `/sys/block stat before: ${JSON.stringify(snaps.statBefore)}`,
          `after: ${JSON.stringify(snaps.statAfter)}`,
          `source: ${decision.source}: ${decision.why}`,
          decision.device
            ? `busiest device ${decision.device}: ${decision.reads} read requests, ${decision.bytes} bytes`
            : '',
          '',
        ].join('\n'),
      );
      const reached = decision.bytes !== undefined && fioReadBytes > 0;
      ctx.recordExtra?.('deviceCheck', {
        source: decision.source,
        why: decision.why,
        device: decision.device ?? null,
        deviceReadBytes: decision.bytes ?? null,
        fioReadBytes,
        rawLog: checkLog,
      });
      if (reached) out.push(metric('fio', DEVICE_CHECK_METRIC, (decision.bytes as number) / fioReadBytes, checkLog));
      else {
        const why = fioReadBytes > 0 ? decision.why : 'fio did no reads';
        ctx.progress(
          `disk: device reach not checked (${why}); the disk figures are shown as unchecked, not as implausible`,
        );
      }
      return out;
    } finally {
      // fio leaves its file; remove it even when a step above failed.
      await ctx
        .exec(ctx.instance, ['rm', '-f', file], { tag: 'disk-cleanup', timeoutMs: 30_000, allowFailure: true })
        .catch(() => undefined);
    }
  },
});
