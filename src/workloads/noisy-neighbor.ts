/**
 * Noisy neighbour as isolation: how much of a victim's performance each backend's
 * own mechanisms protect from a neighbour.
 *
 * One repetition starts a fresh victim and a fresh neighbour (aggressor) of the
 * backend, same spec (same CPUs); when disk is measured, both scratch disks sit on a
 * block device isobench owns (host/loopdev.ts: loop, direct I/O, bfq), so io weights
 * can take effect without touching the host disk. For each kind the victim figure is
 * measured (after Sharma et al., Middleware'16):
 *  - alone (the neighbour idle),
 *  - beside an unrestrained neighbour (no limits beyond the shared spec),
 *  - beside the neighbour held by each mechanism the backend has for that resource:
 *      cpu:     cpu-weight (victim:neighbour weights weightSplit, v1 cpu.shares / v2
 *               cpu.weight: soft) and cpu-cap (neighbour quota cpuCapPercent: hard);
 *      memory:  no memory-bandwidth mechanism: cgroups, runc and QEMU have none (Intel
 *               RDT MBA via resctrl is outside them, and recorded as present or
 *               absent); cpu-cap on the neighbour is measured as the indirect one;
 *      disk:    io-weight (bfq weights weightSplit on the cgroups: soft) and
 *               io-throttle (neighbour read/write IOPS capped at diskCapIops: hard);
 *      network: tc (neighbour's bench-side link capped at netCapMbit: TBF, or an HTB
 *               class on the bridge where the backend exposes no link).
 * The order of the conditions alternates between repetitions (odd: alone first), and
 * alone is measured once more at the end: the mean of both is the reference, their
 * spread (aloneSpreadPct) says how much of a difference the host's own noise makes.
 *
 *  - cpu:     victim sysbench cpu (1 thread, events/s); aggressor sysbench cpu (one thread per vCPU).
 *  - memory:  victim sysbench memory sequential read over memoryBlockMiB (MiB/s);
 *             aggressor sysbench memory sequential write (one thread per vCPU).
 *  - disk:    victim fio 4 KiB random read, O_DIRECT (IOPS); aggressor the same job
 *             on its own file (fio --thread, so one pid holds every job).
 *  - network: victim iperf3 from the bench namespace into the victim (Mbit/s);
 *             aggressor iperf3 into the aggressor at the same time.
 * Aggressors run in the background bounded by a KILL timeout, start leadSeconds
 * before the victim's measurement and are killed right after it.
 *
 * Figures: `<kind>-kept-pct-<condition>` = victim figure beside the neighbour / alone
 * x 100 (100%: fully protected), for `unrestrained` and each mechanism; the raw
 * figures as `<kind>-alone`, `<kind>-with-neighbor` (unrestrained) and
 * `<kind>-with-<mechanism>`; `<kind>-degradation-pct` (unrestrained) as before.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { Instance } from '../backends/types.js';
import { createOwnedLoopDevice, type OwnedLoopDevice } from '../host/loopdev.js';
import { delRootArgv, htbSplitArgvs, tbfCapArgv } from '../net/tc.js';
import { sleep } from '../util/proc.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import { benchTc, iperfClient, requireCgroup, startBackground, stopBackground } from './isolation-exec.js';
import { degradationPct, round, splitToWeights } from './isolation.js';
import { iperfServerArgv } from './network.js';
import { cpuBurnArgv, fioLayoutArgv, fioRandreadArgv } from './partition.js';
import { parseFioJson } from './parsers/fio.js';
import { parseIperf3Json } from './parsers/iperf3.js';
import { parseSysbenchCpu, parseSysbenchMemory } from './parsers/sysbench.js';
import { registerWorkload } from './registry.js';
import type { MetricDecl, MetricValue, Workload, WorkloadContext } from './types.js';
import { noisyNeighbourExtras } from './extras/noisy-neighbor.js';

export const NEIGHBOR_KINDS = ['cpu', 'memory', 'disk', 'network'] as const;
export type NeighborKind = (typeof NEIGHBOR_KINDS)[number];

export const MECHANISMS = ['cpu-weight', 'cpu-cap', 'io-weight', 'io-throttle', 'tc'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

/** The mechanisms that can hold a neighbour for each resource (memory bandwidth has none of its own). */
export const MECHANISMS_FOR: Record<NeighborKind, readonly Mechanism[]> = {
  cpu: ['cpu-weight', 'cpu-cap'],
  memory: ['cpu-cap'],
  disk: ['io-weight', 'io-throttle'],
  network: ['tc'],
};

/** Conditions the victim is measured in, per kind. */
export function conditionsFor(kind: NeighborKind): Array<'alone' | 'unrestrained' | Mechanism> {
  return ['alone', 'unrestrained', ...MECHANISMS_FOR[kind]];
}

/** Percent of the victim's alone figure kept beside the neighbour (100: fully protected). */
export function keptPct(alone: number, withNeighbor: number): number {
  if (!(alone > 0)) throw new Error(`figure alone must be positive, got ${alone}`);
  return (100 * withNeighbor) / alone;
}

export const noisyNeighborParams = z
  .object({
    kinds: z.array(z.enum(NEIGHBOR_KINDS)).min(1).default(['cpu', 'memory', 'disk', 'network']),
    /** Length of each victim measurement (whole seconds). */
    seconds: z.number().int().min(1).max(600).default(3),
    /** The aggressor starts this long before the victim measures (seconds). */
    leadSeconds: z.number().min(0).max(60).default(1),
    memoryBlockMiB: z.number().int().min(1).max(65_536).default(64),
    fileMiB: z.number().int().min(4).max(65_536).default(64),
    port: z.number().int().min(1024).max(65_535).default(5241),
    /** Victim:neighbour split for the soft mechanisms (cpu-weight, io-weight). */
    weightSplit: z.tuple([z.number().int().min(1).max(99), z.number().int().min(1).max(99)]).default([90, 10]),
    /** Neighbour's CPU quota for cpu-cap, percent of one CPU. */
    cpuCapPercent: z.number().min(5).max(95).default(20),
    /** Neighbour's read and write IOPS cap for io-throttle. */
    diskCapIops: z.number().int().min(10).max(10_000_000).default(100),
    /** Neighbour's rate cap for tc (Mbit/s). */
    netCapMbit: z.number().int().min(1).max(100_000).default(50),
  })
  .strict();

export type NoisyNeighborParams = z.infer<typeof noisyNeighborParams>;
type Ctx = WorkloadContext<NoisyNeighborParams>;

const UNITS: Record<NeighborKind, string> = { cpu: 'events/s', memory: 'MiB/s', disk: 'IOPS', network: 'Mbit/s' };
const WHAT: Record<NeighborKind, string> = {
  cpu: 'sysbench cpu events/s (1 thread)',
  memory: 'sysbench memory sequential read MiB/s',
  disk: 'fio 4 KiB random read IOPS, O_DIRECT',
  network: 'iperf3 into the instance, Mbit/s',
};
const MECH_TEXT: Record<Mechanism, string> = {
  'cpu-weight': 'neighbour held by CPU weights (soft)',
  'cpu-cap': 'neighbour held by a CPU quota (hard)',
  'io-weight': 'neighbour held by bfq io weights (soft)',
  'io-throttle': 'neighbour held by an IOPS throttle (hard)',
  tc: 'neighbour held by a tc rate cap on its link (hard)',
};

function decls(kind: NeighborKind): MetricDecl[] {
  return [
    { name: `${kind}-alone`, unit: UNITS[kind], higherIsBetter: true, description: `victim ${WHAT[kind]}, alone (mean of a run before and after the others)` },
    { name: `${kind}-alone-spread-pct`, unit: '%', higherIsBetter: false, description: `difference between the two alone runs of the victim, percent of their mean (the host's noise floor for the ${kind} figures)` },
    { name: `${kind}-with-neighbor`, unit: UNITS[kind], higherIsBetter: true, description: `victim ${WHAT[kind]}, beside an unrestrained neighbour of the same kind` },
    { name: `${kind}-degradation-pct`, unit: '%', higherIsBetter: false, description: `victim ${kind} figure lost to the unrestrained neighbour, percent of the figure alone` },
    { name: `${kind}-kept-pct-unrestrained`, unit: '%', higherIsBetter: true, description: `victim ${kind} figure beside the unrestrained neighbour, percent of alone` },
    ...MECHANISMS_FOR[kind].flatMap((m): MetricDecl[] => [
      { name: `${kind}-with-${m}`, unit: UNITS[kind], higherIsBetter: true, description: `victim ${WHAT[kind]}, ${MECH_TEXT[m]}` },
      { name: `${kind}-kept-pct-${m}`, unit: '%', higherIsBetter: true, description: `victim ${kind} figure with the ${MECH_TEXT[m]}, percent of alone (100: fully protected)` },
    ]),
  ];
}

export function victimCpuArgv(seconds: number): string[] {
  return ['sysbench', 'cpu', '--threads=1', `--time=${seconds}`, '--cpu-max-prime=10000', 'run'];
}

export function memoryArgv(seconds: number, blockMiB: number, oper: 'read' | 'write', threads: number): string[] {
  return ['sysbench', 'memory', `--threads=${threads}`, `--time=${seconds}`, `--memory-block-size=${blockMiB}M`, '--memory-total-size=0', '--memory-scope=local', `--memory-oper=${oper}`, '--memory-access-mode=seq', 'run'];
}

export function aggressorArgv(kind: Exclude<NeighborKind, 'network'>, p: NoisyNeighborParams, threads: number, seconds: number, file: string): { argv: string[]; comm: string } {
  switch (kind) {
    case 'cpu':
      // One process (threads), so killing its pid ends the whole burn.
      return { argv: cpuBurnArgv(seconds, threads), comm: 'sysbench' };
    case 'memory':
      return { argv: memoryArgv(seconds, p.memoryBlockMiB, 'write', threads), comm: 'sysbench' };
    case 'disk':
      return { argv: [...fioRandreadArgv(file, p.fileMiB, seconds, 'aggressor'), '--thread'], comm: 'fio' };
  }
}

interface Figure {
  value: number;
  rawLog: string;
}

async function victimFigure(ctx: Ctx, kind: NeighborKind, victim: Instance, file: string, tag: string): Promise<Figure> {
  const p = ctx.params;
  const t = timeoutFor(ctx, p.seconds + 10);
  switch (kind) {
    case 'cpu': {
      const r = await ctx.exec(victim, victimCpuArgv(p.seconds), { tag, timeoutMs: t });
      return { value: parseRaw(r.rawLog, () => parseSysbenchCpu(r.stdout).eventsPerSecond), rawLog: r.rawLog };
    }
    case 'memory': {
      const r = await ctx.exec(victim, memoryArgv(p.seconds, p.memoryBlockMiB, 'read', 1), { tag, timeoutMs: t });
      return { value: parseRaw(r.rawLog, () => parseSysbenchMemory(r.stdout).mibPerSecond), rawLog: r.rawLog };
    }
    case 'disk': {
      const r = await ctx.exec(victim, fioRandreadArgv(file, p.fileMiB, p.seconds), { tag, timeoutMs: t });
      return { value: parseRaw(r.rawLog, () => parseFioJson(r.stdout).jobs.reduce((s, j) => s + j.read.iops, 0)), rawLog: r.rawLog };
    }
    case 'network': {
      const addr = benchAddress(victim.address, victim.name);
      const pid = await startBackground(ctx, victim, p.seconds + 60, iperfServerArgv(addr, p.port), `${tag}-server`);
      try {
        const r = await iperfClient(ctx, addr, p.port, p.seconds, tag);
        return { value: parseRaw(r.rawLog, () => parseIperf3Json(r.stdout).receivedBitsPerSecond / 1e6), rawLog: r.rawLog };
      } finally {
        await stopBackground(ctx, victim, pid, 'iperf3', `${tag}-server-kill`);
      }
    }
  }
}

/** Run `measure` with the aggressor of `kind` running in `aggr`; the aggressor is stopped in finally. */
async function withAggressor(ctx: Ctx, kind: NeighborKind, aggr: Instance, file: string, measure: () => Promise<Figure>): Promise<Figure> {
  const p = ctx.params;
  const lifetime = Math.ceil(p.leadSeconds + p.seconds + 30);
  if (kind === 'network') {
    const addr = benchAddress(aggr.address, aggr.name);
    const pid = await startBackground(ctx, aggr, lifetime + 30, iperfServerArgv(addr, p.port), 'neighbor-network-aggressor-server');
    try {
      // The aggressor's client outlasts the victim's measurement by its lead and a second.
      const secs = Math.ceil(p.leadSeconds + p.seconds + 1);
      const client = iperfClient(ctx, addr, p.port, secs, 'neighbor-network-aggressor');
      client.catch(() => undefined);
      await sleep(p.leadSeconds * 1000, ctx.signal);
      try {
        return await measure();
      } finally {
        await client.catch(() => undefined);
      }
    } finally {
      await stopBackground(ctx, aggr, pid, 'iperf3', 'neighbor-network-aggressor-server-kill');
    }
  }
  const { argv, comm } = aggressorArgv(kind, p, ctx.spec.vcpus, lifetime, file);
  const pid = await startBackground(ctx, aggr, lifetime + 5, argv, `neighbor-${kind}-aggressor`);
  try {
    await sleep(p.leadSeconds * 1000, ctx.signal);
    return await measure();
  } finally {
    await stopBackground(ctx, aggr, pid, comm, `neighbor-${kind}-aggressor-kill`);
  }
}

/**
 * Hold the neighbour (and, for weights, favour the victim) by one mechanism; returns
 * the undo and a description of what was set. Never leaves a limit behind on failure.
 */
async function applyMechanism(ctx: Ctx, m: Mechanism, victim: Instance, aggr: Instance, own: OwnedLoopDevice | undefined): Promise<{ undo: () => Promise<void>; text: string }> {
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
      return { undo, text: `CPU weights victim:neighbour ${wv}:${wa} (${cgv.layout.version === 2 ? 'cpu.weight' : 'cpu.shares'})` };
    }
    case 'cpu-cap': {
      const undo = async (): Promise<void> => void (await cga.clearCpuQuota().catch(() => undefined));
      try {
        await cga.setLimits({ cpuQuotaPercent: p.cpuCapPercent });
      } catch (e) {
        await undo();
        throw e;
      }
      return { undo, text: `neighbour CPU quota ${p.cpuCapPercent}% of a CPU (${cga.layout.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us'})` };
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
      return { undo, text: `bfq io weights victim:neighbour ${wv}:${wa} (${file}) on isobench's own ${own.device}` };
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
      return { undo, text: `neighbour IOPS cap ${p.diskCapIops} (${cga.layout.version === 2 ? 'io.max' : 'blkio.throttle.*_iops_device'}) on ${own.device}` };
    }
    case 'tc': {
      if (!ctx.net) throw new Error('noisy-neighbor tc: the run has no bench network');
      const net = ctx.net;
      if (aggr.benchIf) {
        const dev = aggr.benchIf;
        await benchTc(ctx, tbfCapArgv(dev, p.netCapMbit));
        return { undo: async () => void (await net.exec(delRootArgv(dev), { timeoutMs: 15_000 }).catch(() => undefined)), text: `tc tbf ${p.netCapMbit} Mbit/s on the neighbour's bench-side link ${dev}` };
      }
      const bridge = 'br0';
      const addr = benchAddress(aggr.address, aggr.name);
      const undo = async (): Promise<void> => void (await net.exec(delRootArgv(bridge), { timeoutMs: 15_000 }).catch(() => undefined));
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
      return { undo, text: `tc htb class rate = ceil = ${p.netCapMbit} Mbit/s for the neighbour on the bench bridge (the backend exposes no bench-side link)` };
    }
  }
}

/** Whether the host has a memory-bandwidth control at all (Intel RDT MBA through resctrl). */
async function memoryBandwidthControl(): Promise<string> {
  const mba = await fs.stat('/sys/fs/resctrl/info/MB').then(
    () => true,
    () => false,
  );
  return mba
    ? 'none used: cgroups, runc and QEMU have no memory-bandwidth control; this host has Intel RDT MBA (resctrl), which isobench does not drive'
    : 'none: cgroups, runc and QEMU have no memory-bandwidth control, and this host has no Intel RDT MBA (no /sys/fs/resctrl/info/MB)';
}

export const noisyNeighborWorkload: Workload<NoisyNeighborParams> = registerWorkload({
  name: 'noisy-neighbor',
  title: 'Noisy neighbour',
  description: "a victim's CPU, memory-bandwidth, disk and network figures alone, beside an unrestrained neighbour, and beside the neighbour held by each mechanism the backend has (CPU weight and cap, bfq io weight and IOPS throttle, tc); percent of the alone figure kept",
  params: noisyNeighborParams,
  extraSchema: noisyNeighbourExtras,
  needsNetwork: true,
  needsDisk: true,
  metrics: NEIGHBOR_KINDS.flatMap(decls),
  async run(ctx) {
    const p = ctx.params;
    if (p.kinds.includes('network') && !ctx.net) throw new Error('noisy-neighbor: network asked for but the run has no bench network');
    if (p.kinds.includes('memory') && p.memoryBlockMiB * Math.max(1, ctx.spec.vcpus) + 64 > ctx.spec.memoryMiB)
      throw new Error(`noisy-neighbor: memoryBlockMiB ${p.memoryBlockMiB} per thread does not fit in ${ctx.spec.memoryMiB} MiB instances`);
    if (p.kinds.includes('disk') && p.fileMiB > ctx.spec.disk.sizeMiB * 0.9) throw new Error(`noisy-neighbor: fileMiB ${p.fileMiB} does not fit in the ${ctx.spec.disk.sizeMiB} MiB scratch disk`);
    const network = p.kinds.includes('network');
    let own: OwnedLoopDevice | undefined;
    if (p.kinds.includes('disk')) {
      ctx.progress("creating isobench's own loop device (direct I/O, bfq) for the disk mechanisms");
      own = await createOwnedLoopDevice({ sizeMiB: 2 * ctx.spec.disk.sizeMiB + 128, scheduler: 'bfq', strictGuarantees: true, owner: ctx.spec.name });
    }
    const out: MetricValue[] = [];
    const started: Instance[] = [];
    const aloneFirst = ctx.repetition % 2 === 1 || ctx.repetition === 0;
    try {
      const overrides = { network, ...(own ? { disk: { ...ctx.spec.disk, placeUnder: own.mountDir } } : {}) };
      ctx.progress('starting the victim and the neighbour');
      const victim = (await ctx.startInstance(overrides)).instance;
      started.push(victim);
      const aggr = (await ctx.startInstance(overrides)).instance;
      started.push(aggr);
      const vFile = `${victim.scratchDir.replace(/\/+$/, '')}/isobench-neighbor.dat`;
      const aFile = `${aggr.scratchDir.replace(/\/+$/, '')}/isobench-neighbor.dat`;
      if (own) {
        await ctx.exec(victim, fioLayoutArgv(vFile, p.fileMiB), { tag: 'neighbor-disk-layout-victim', timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4) });
        await ctx.exec(aggr, fioLayoutArgv(aFile, p.fileMiB), { tag: 'neighbor-disk-layout-aggressor', timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4) });
      }
      const memoryMechanism = await memoryBandwidthControl();
      for (const kind of p.kinds) {
        const conditions = conditionsFor(kind);
        const order = aloneFirst ? conditions : [...conditions].reverse();
        const figures = new Map<string, Figure>();
        const mechText: Record<string, string> = {};
        // Alone is measured again at the end: the mean is the reference, the spread shows the host's noise.
        for (const cond of [...order, 'alone-again' as const]) {
          ctx.progress(`${kind}: victim ${cond.startsWith('alone') ? 'alone' : cond === 'unrestrained' ? 'beside an unrestrained neighbour' : `beside the neighbour held by ${cond}`}`);
          const measure = (): Promise<Figure> => victimFigure(ctx, kind, victim, vFile, `neighbor-${kind}-${cond}`);
          if (cond === 'alone' || cond === 'alone-again') figures.set(cond, await measure());
          else if (cond === 'unrestrained') figures.set(cond, await withAggressor(ctx, kind, aggr, aFile, measure));
          else {
            const held = await applyMechanism(ctx, cond, victim, aggr, own);
            mechText[cond] = held.text;
            try {
              figures.set(cond, await withAggressor(ctx, kind, aggr, aFile, measure));
            } finally {
              await held.undo();
            }
          }
        }
        const a1 = figures.get('alone') as Figure;
        const a2 = figures.get('alone-again') as Figure;
        const aloneSpreadPct = (100 * Math.abs(a1.value - a2.value)) / ((a1.value + a2.value) / 2);
        const a: Figure = { value: (a1.value + a2.value) / 2, rawLog: a1.rawLog };
        const w = figures.get('unrestrained') as Figure;
        out.push(metric(kind, `${kind}-alone`, a.value, a.rawLog));
        out.push(metric(kind, `${kind}-alone-spread-pct`, aloneSpreadPct, a2.rawLog));
        out.push(metric(kind, `${kind}-with-neighbor`, w.value, w.rawLog));
        out.push(metric(kind, `${kind}-degradation-pct`, degradationPct(a.value, w.value), w.rawLog));
        out.push(metric(kind, `${kind}-kept-pct-unrestrained`, keptPct(a.value, w.value), w.rawLog));
        const held: Record<string, { value: number; keptPct: number; setting: string }> = {};
        for (const m of MECHANISMS_FOR[kind]) {
          const fig = figures.get(m) as Figure;
          out.push(metric(kind, `${kind}-with-${m}`, fig.value, fig.rawLog));
          out.push(metric(kind, `${kind}-kept-pct-${m}`, keptPct(a.value, fig.value), fig.rawLog));
          held[m] = { value: round(fig.value, 3), keptPct: round(keptPct(a.value, fig.value), 2), setting: mechText[m] ?? '' };
        }
        ctx.recordExtra?.(`neighbor-${kind}`, {
          unit: UNITS[kind],
          alone: round(a.value, 3),
          aloneRuns: [round(a1.value, 3), round(a2.value, 3)],
          aloneSpreadPct: round(aloneSpreadPct, 2),
          withNeighbor: round(w.value, 3),
          degradationPct: round(degradationPct(a.value, w.value), 2),
          keptPctUnrestrained: round(keptPct(a.value, w.value), 2),
          mechanisms: held,
          ...(kind === 'memory' ? { ownMechanism: memoryMechanism } : {}),
          order: order.join(' → '),
          cpus: ctx.spec.cpus,
          ...(own && kind === 'disk' ? { device: { path: own.device, scheduler: own.scheduler, strictGuarantees: own.strictGuarantees, loopDirectIo: own.directIo } } : {}),
        });
      }
    } finally {
      for (const i of started.reverse()) await i.stop().catch(() => undefined);
      await own?.release();
    }
    return out;
  },
});
