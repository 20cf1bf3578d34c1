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
import type { Instance } from '../backends/types.js';
import { createOwnedLoopDevice, ownedDeviceOptions, type OwnedLoopDevice } from '../host/loopdev.js';
import { hasCapability } from '../host/capabilities.js';
import { metric, skipPart, timeoutFor } from './common.js';
import { degradationPct, round } from './isolation.js';
import { fioLayoutArgv } from './load-argv.js';
import { registerWorkload } from './registry.js';
import type { MetricValue, Workload } from './types.js';
import {
  MECHANISMS_FOR,
  MECHANISM_NEEDS,
  NEIGHBOR_KINDS,
  UNITS,
  conditionsFor,
  decls,
  keptPct,
  noisyNeighborParams,
  type Mechanism,
  type NoisyNeighborParams,
} from './noisy-neighbor-params.js';
import { victimFigure, withAggressor, type Figure } from './noisy-neighbor-loads.js';
import { applyMechanism, memoryBandwidthControl } from './noisy-neighbor-mechanisms.js';
import { noisyNeighbourExtras } from './extras/noisy-neighbor.js';

// The vocabulary, loads and mechanisms live in noisy-neighbor-*.ts; tests import them from here.
export {
  MECHANISMS,
  MECHANISMS_FOR,
  NEIGHBOR_KINDS,
  conditionsFor,
  keptPct,
  noisyNeighborParams,
  type Mechanism,
  type NeighborKind,
  type NoisyNeighborParams,
} from './noisy-neighbor-params.js';
export { aggressorArgv, memoryArgv, victimCpuArgv } from './noisy-neighbor-loads.js';

export const noisyNeighborWorkload: Workload<NoisyNeighborParams> = registerWorkload({
  name: 'noisy-neighbor',
  title: 'Noisy neighbour',
  order: 100,
  judgement: { comparison: 'ratio', thresholdByUnit: { '%': 5 } },
  isolation: { view: 'noisy-neighbor', headline: true, replacesBarChart: true },
  description:
    "a victim's CPU, memory-bandwidth, disk and network figures alone, beside an unrestrained neighbour, " +
    'and beside the neighbour held by each mechanism the backend has ' +
    '(CPU weight and cap, bfq io weight and IOPS throttle, tc); percent of the alone figure kept',
  params: noisyNeighborParams,
  extraSchema: noisyNeighbourExtras,
  needsNetwork: true,
  needsDisk: true,
  metrics: NEIGHBOR_KINDS.flatMap(decls),
  async run(ctx) {
    const p = ctx.params;
    if (p.kinds.includes('network') && !ctx.net)
      throw new Error('noisy-neighbor: network asked for but the run has no bench network');
    if (p.kinds.includes('memory') && p.memoryBlockMiB * Math.max(1, ctx.spec.vcpus) + 64 > ctx.spec.memoryMiB)
      throw new Error(
        `noisy-neighbor: memoryBlockMiB ${p.memoryBlockMiB} per thread ` +
          `does not fit in ${ctx.spec.memoryMiB} MiB instances`,
      );
    if (p.kinds.includes('disk') && p.fileMiB > ctx.spec.disk.sizeMiB * 0.9)
      throw new Error(
        `noisy-neighbor: fileMiB ${p.fileMiB} does not fit in the ${ctx.spec.disk.sizeMiB} MiB scratch disk`,
      );
    const network = p.kinds.includes('network');
    let own: OwnedLoopDevice | undefined;
    // A mechanism the host lacks is skipped (reason and fix in extra.skippedParts); the others are measured.
    const runnable = (m: Mechanism): boolean => {
      const need = MECHANISM_NEEDS[m];
      return need === undefined || hasCapability(ctx.capabilities, need);
    };
    if (p.kinds.includes('disk')) {
      const opts = ownedDeviceOptions(ctx.capabilities, ctx.instance.cgroup?.layout);
      const control = opts.scheduler ?? (opts.ioCostRoot ? 'io.cost' : 'its own scheduler');
      ctx.progress(`creating isobench's own loop device (direct I/O, ${control}) for the disk mechanisms`);
      own = await createOwnedLoopDevice({ sizeMiB: 2 * ctx.spec.disk.sizeMiB + 128, ...opts, owner: ctx.spec.name });
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
        await ctx.exec(victim, fioLayoutArgv(vFile, p.fileMiB), {
          tag: 'neighbor-disk-layout-victim',
          timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4),
        });
        await ctx.exec(aggr, fioLayoutArgv(aFile, p.fileMiB), {
          tag: 'neighbor-disk-layout-aggressor',
          timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4),
        });
      }
      const memoryMechanism = await memoryBandwidthControl();
      for (const kind of p.kinds) {
        for (const m of MECHANISMS_FOR[kind]) {
          const need = MECHANISM_NEEDS[m];
          if (need && !runnable(m))
            skipPart(ctx, `${kind} held by ${m}`, [`${kind}-with-${m}`, `${kind}-kept-pct-${m}`], need);
        }
        const conditions = conditionsFor(kind).filter((c) => c === 'alone' || c === 'unrestrained' || runnable(c));
        const order = aloneFirst ? conditions : [...conditions].reverse();
        const figures = new Map<string, Figure>();
        const mechText: Record<string, string> = {};
        // Alone is measured again at the end: the mean is the reference, the spread shows the host's noise.
        for (const cond of [...order, 'alone-again' as const]) {
          const beside = cond === 'unrestrained' ? 'an unrestrained neighbour' : `the neighbour held by ${cond}`;
          ctx.progress(`${kind}: victim ${cond.startsWith('alone') ? 'alone' : `beside ${beside}`}`);
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
          const fig = figures.get(m);
          if (!fig) continue;
          out.push(metric(kind, `${kind}-with-${m}`, fig.value, fig.rawLog));
          out.push(metric(kind, `${kind}-kept-pct-${m}`, keptPct(a.value, fig.value), fig.rawLog));
          held[m] = {
            value: round(fig.value, 3),
            keptPct: round(keptPct(a.value, fig.value), 2),
            setting: mechText[m] ?? '',
          };
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
          ...(own && kind === 'disk'
            ? {
                device: {
                  path: own.device,
                  scheduler: own.scheduler,
                  strictGuarantees: own.strictGuarantees,
                  loopDirectIo: own.directIo,
                },
              }
            : {}),
        });
      }
    } finally {
      for (const i of started.reverse()) await i.stop().catch(() => undefined);
      await own?.release();
    }
    return out;
  },
});
