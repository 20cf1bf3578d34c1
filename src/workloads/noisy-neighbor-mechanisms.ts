/**
 * The mechanisms that hold a noisy neighbour (CPU weight and quota, bfq io
 * weight and IOPS throttle, a tc rate cap), each applied with its undo, and
 * whether the host has any memory-bandwidth control.
 */
import { promises as fs } from 'node:fs';
import type { Instance } from '../backends/types.js';
import type { OwnedLoopDevice } from '../host/loopdev.js';
import { delRootArgv, htbSplitArgvs, tbfCapArgv } from '../net/tc.js';
import { benchAddress } from './common.js';
import { benchTc, requireCgroup } from './isolation-exec.js';
import { splitToWeights } from './isolation.js';
import type { NoisyNeighborCtx as Ctx, Mechanism } from './noisy-neighbor-params.js';

/**
 * Hold the neighbour (and, for weights, favour the victim) by one mechanism; returns
 * the undo and a description of what was set. Never leaves a limit behind on failure.
 */
export async function applyMechanism(
  ctx: Ctx,
  m: Mechanism,
  victim: Instance,
  aggr: Instance,
  own: OwnedLoopDevice | undefined,
): Promise<{ undo: () => Promise<void>; text: string }> {
  const p = ctx.params;
  const [wv, wa] = splitToWeights(p.weightSplit);
  const cgv = requireCgroup(victim, `noisy-neighbor ${m}`);
  const cga = requireCgroup(aggr, `noisy-neighbor ${m}`);
  switch (m) {
    case 'cpu-weight': {
      const before = [await cgv.readLimits(), await cga.readLimits()];
      const undo = async (): Promise<void> => {
        await cgv.setLimits({ cpuWeight: before[0]?.cpuWeight ?? 100 }).catch(() => undefined);
        await cga.setLimits({ cpuWeight: before[1]?.cpuWeight ?? 100 }).catch(() => undefined);
      };
      try {
        await cgv.setLimits({ cpuWeight: wv });
        await cga.setLimits({ cpuWeight: wa });
      } catch (e) {
        await undo();
        throw e;
      }
      return {
        undo,
        text: `CPU weights victim:neighbour ${wv}:${wa} (${cgv.layout.version === 2 ? 'cpu.weight' : 'cpu.shares'})`,
      };
    }
    case 'cpu-cap': {
      const undo = async (): Promise<void> => void (await cga.clearCpuQuota().catch(() => undefined));
      try {
        await cga.setLimits({ cpuQuotaPercent: p.cpuCapPercent });
      } catch (e) {
        await undo();
        throw e;
      }
      const quotaFile = cga.layout.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us';
      return {
        undo,
        text: `neighbour CPU quota ${p.cpuCapPercent}% of a CPU (${quotaFile})`,
      };
    }
    case 'io-weight': {
      if (!own) throw new Error('noisy-neighbor io-weight: no owned device');
      const undo = async (): Promise<void> => {
        await cgv.setIoWeight(100).catch(() => undefined);
        await cga.setIoWeight(100).catch(() => undefined);
      };
      let file: string;
      try {
        file = await cgv.setIoWeight(wv);
        await cga.setIoWeight(wa);
      } catch (e) {
        await undo();
        throw e;
      }
      return {
        undo,
        text:
          `io weights victim:neighbour ${wv}:${wa} (${file}, scheduler ${own.scheduler ?? '?'}) ` +
          `on isobench's own ${own.device}`,
      };
    }
    case 'io-throttle': {
      if (!own) throw new Error('noisy-neighbor io-throttle: no owned device');
      const dev = own.majMin;
      const undo = async (): Promise<void> => void (await cga.clearIoThrottle(dev).catch(() => undefined));
      try {
        await cga.setIoThrottle({ device: dev, readIops: p.diskCapIops, writeIops: p.diskCapIops });
      } catch (e) {
        await undo();
        throw e;
      }
      const throttleFile = cga.layout.version === 2 ? 'io.max' : 'blkio.throttle.*_iops_device';
      return {
        undo,
        text: `neighbour IOPS cap ${p.diskCapIops} (${throttleFile}) on ${own.device}`,
      };
    }
    case 'tc': {
      if (!ctx.net) throw new Error('noisy-neighbor tc: the run has no bench network');
      const net = ctx.net;
      if (aggr.benchIf) {
        const dev = aggr.benchIf;
        await benchTc(ctx, tbfCapArgv(dev, p.netCapMbit));
        return {
          undo: async () => void (await net.exec(delRootArgv(dev), { timeoutMs: 15_000 }).catch(() => undefined)),
          text: `tc tbf ${p.netCapMbit} Mbit/s on the neighbour's bench-side link ${dev}`,
        };
      }
      const bridge = 'br0';
      const addr = benchAddress(aggr.address, aggr.name);
      const undo = async (): Promise<void> =>
        void (await net.exec(delRootArgv(bridge), { timeoutMs: 15_000 }).catch(() => undefined));
      try {
        // A link far above both: the neighbour's class is capped, the victim's may use the rest.
        const link = 100_000;
        const parties = [
          { address: addr, rateMbit: p.netCapMbit, ceilMbit: p.netCapMbit },
          { address: benchAddress(victim.address, victim.name), rateMbit: link - p.netCapMbit },
        ];
        for (const argv of htbSplitArgvs(bridge, link, parties)) await benchTc(ctx, argv);
      } catch (e) {
        await undo();
        throw e;
      }
      return {
        undo,
        text:
          `tc htb class rate = ceil = ${p.netCapMbit} Mbit/s for the neighbour on the bench bridge ` +
          '(the backend exposes no bench-side link)',
      };
    }
  }
}

/** Whether the host has a memory-bandwidth control at all (Intel RDT MBA through resctrl). */
export async function memoryBandwidthControl(): Promise<string> {
  const mba = await fs.stat('/sys/fs/resctrl/info/MB').then(
    () => true,
    () => false,
  );
  return mba
    ? 'none used: cgroups, runc and QEMU have no memory-bandwidth control; ' +
        'this host has Intel RDT MBA (resctrl), which isobench does not drive'
    : 'none: cgroups, runc and QEMU have no memory-bandwidth control, ' +
        'and this host has no Intel RDT MBA (no /sys/fs/resctrl/info/MB)';
}
