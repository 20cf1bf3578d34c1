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
 *    Where the host has no weight-based disk shares (host/capabilities.ts: no BFQ, no
 *    io.cost), the share and the work-conserving check are skipped (extra.skippedParts:
 *    reason and fix) and the cap is still measured; throttle caps are never labelled a share.
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
import { createOwnedLoopDevice, ownedDeviceOptions, type OwnedLoopDevice } from '../host/loopdev.js';
import { skipPart } from './common.js';
import { sharedCpu } from './isolation-exec.js';
import { registerWorkload } from './registry.js';
import type { MetricValue, Workload } from './types.js';
import { partitionParams, planPartition, type PartitionParams } from './partition-params.js';
import { cpuPhase } from './partition-cpu.js';
import { diskPhase } from './partition-disk.js';
import { networkPhase } from './partition-network.js';
import { partitionExtras } from './extras/partition.js';

// The phases, parameters and pure arithmetic live in partition-*.ts; tests import them from here.
export { partitionParams, type PartitionParams } from './partition-params.js';
export { PART_FIO_FILE } from './partition-disk.js';
export {
  timeSlicedShare,
  wcPhaseWeighted,
  wcRates,
  workConserving,
  type WcPhase,
  type WcVerdict,
} from './partition-work-conserving.js';
export { cpuBurnArgv, fioLayoutArgv, fioRandreadArgv } from './load-argv.js';

export const partitionWorkload: Workload<PartitionParams> = registerWorkload({
  name: 'partition',
  title: 'Partitioning over time',
  order: 80,
  judgement: { comparison: 'ratio', thresholdByUnit: { pp: 5, '%': 5 } },
  isolation: { view: 'partition', headline: true, replacesBarChart: true },
  description:
    'two instances on one CPU given an A:B split of CPU (weights), ' +
    "disk (bfq weights on isobench's own loop device, with a work-conserving check) " +
    'and network (HTB on a shaped link), plus a hard cap on one; achieved share vs target over time',
  params: partitionParams,
  extraSchema: partitionExtras,
  needsNetwork: true,
  needsDisk: true,
  metrics: [
    {
      name: 'cpu-share-a-pct',
      unit: '%',
      higherIsBetter: true,
      description: "A's achieved share of the shared CPU with weights split[0]:split[1] (target: split[0]%)",
    },
    {
      name: 'cpu-share-error-pp',
      unit: 'pp',
      higherIsBetter: false,
      description: '|achieved - target| CPU share of A, percentage points',
    },
    {
      name: 'cpu-cap-pct',
      unit: '% of a CPU',
      higherIsBetter: false,
      description: 'CPU used by A alone under a hard quota of cpu.capPercent',
    },
    {
      name: 'cpu-cap-error-pp',
      unit: 'pp',
      higherIsBetter: false,
      description: '|achieved - cap| CPU percent under the hard quota',
    },
    {
      name: 'disk-share-a-pct',
      unit: '%',
      higherIsBetter: true,
      description:
        "A's share of the I/Os both did with the same fio job under bfq weights split[0]:split[1] " +
        "on isobench's own device (mechanism in extra.disk-share)",
    },
    {
      name: 'disk-share-error-pp',
      unit: 'pp',
      higherIsBetter: false,
      description: '|achieved - target| I/O share of A, percentage points',
    },
    {
      name: 'disk-a-iops',
      unit: 'IOPS',
      higherIsBetter: true,
      description: 'fio 4k randread IOPS of A during the split',
    },
    {
      name: 'disk-b-iops',
      unit: 'IOPS',
      higherIsBetter: true,
      description: 'fio 4k randread IOPS of B during the split',
    },
    {
      name: 'disk-a-alone-iops',
      unit: 'IOPS',
      higherIsBetter: true,
      description: 'fio 4k randread IOPS of A alone with the bfq weights still set (B idle)',
    },
    {
      name: 'disk-a-alone-pct',
      unit: '%',
      higherIsBetter: true,
      description:
        'A alone with the weights set as percent of A alone with default weights: ' +
        "~100% when B's idle share is lent to A (work-conserving), ~split[0]% under a cap",
    },
    {
      name: 'disk-cap-iops',
      unit: 'IOPS',
      higherIsBetter: false,
      description: 'fio 4k randread IOPS of A alone under a hard IOPS cap (disk.capIops)',
    },
    {
      name: 'disk-cap-error-pct',
      unit: '%',
      higherIsBetter: false,
      description: '(achieved - cap) / cap, percent (negative: below the cap)',
    },
    {
      name: 'net-share-a-pct',
      unit: '%',
      higherIsBetter: true,
      description: "A's share of the bytes both received over one HTB-shaped link",
    },
    {
      name: 'net-share-error-pp',
      unit: 'pp',
      higherIsBetter: false,
      description: '|achieved - target| network share of A, percentage points',
    },
    {
      name: 'net-a-mbps',
      unit: 'Mbit/s',
      higherIsBetter: true,
      description: 'iperf3 into A during the split (receiver count)',
    },
    {
      name: 'net-b-mbps',
      unit: 'Mbit/s',
      higherIsBetter: true,
      description: 'iperf3 into B during the split (receiver count)',
    },
    {
      name: 'net-cap-mbps',
      unit: 'Mbit/s',
      higherIsBetter: false,
      description: 'iperf3 into A alone under a hard rate cap (network.capMbit)',
    },
    {
      name: 'net-cap-error-pct',
      unit: '%',
      higherIsBetter: false,
      description: '(achieved - cap) / cap, percent (negative: below the cap)',
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const cpu = sharedCpu(ctx.spec.cpus);
    const caps = ctx.capabilities;
    const metricsOf = (prefix: string): string[] =>
      partitionWorkload.metrics.map((m) => m.name).filter((n) => n.startsWith(`${prefix}-`));
    // A part the host cannot run is skipped with its reason; the others are measured (degrade per part, not per cell).
    const plan = planPartition(p.resources, caps);
    for (const s of plan.skipped) skipPart(ctx, s.part, s.metrics, s.capability);
    const network = plan.network;
    if (network && !ctx.net) throw new Error('partition: network asked for but the run has no bench network');
    // The disk parts need a device isobench owns (its scheduler set there, never on the host disk): both scratch
    // disks go there.
    let own: OwnedLoopDevice | undefined;
    if (plan.diskShare || plan.diskCap) {
      const opts = ownedDeviceOptions(caps, ctx.instance.cgroup?.layout);
      const control = opts.scheduler ?? (opts.ioCostRoot ? 'io.cost' : 'its own scheduler: caps only');
      ctx.progress(`creating isobench's own loop device (direct I/O, ${control}) for the disk parts`);
      own = await createOwnedLoopDevice({ sizeMiB: 2 * ctx.spec.disk.sizeMiB + 128, ...opts, owner: ctx.spec.name });
    }
    const out: MetricValue[] = [];
    try {
      const overrides = {
        cpus: [cpu],
        vcpus: 1,
        network,
        ...(own ? { disk: { ...ctx.spec.disk, placeUnder: own.mountDir } } : {}),
      };
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
          if (plan.cpu) phases.push(['cpu', () => cpuPhase(ctx, a, b, out)]);
          if (own) {
            const disk = own;
            phases.push(['disk', () => diskPhase(ctx, a, b, disk, plan, out)]);
          }
          if (network) phases.push(['net', () => networkPhase(ctx, a, b, out)]);
          for (const [prefix, phase] of phases) {
            try {
              await phase();
            } catch (e) {
              const err = e as Error & { rawLog?: string };
              const metrics = metricsOf(prefix);
              failures.push(err.message);
              ctx.recordExtra?.('metricFailures', {
                metrics,
                error: `not measurable: ${err.message}`,
                ...(err.rawLog ? { rawLog: err.rawLog } : {}),
              });
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
