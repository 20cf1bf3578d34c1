/**
 * Noisy neighbour: how much a victim's figures drop when an aggressor of the same
 * kind runs beside it, both on the scenario's CPU set.
 *
 * The victim is the run's long-lived instance; the aggressor is a second instance
 * of the same backend (ctx.startInstance, same spec: same CPUs, same limits). For
 * each kind, the victim figure is measured alone and with the aggressor running;
 * the order alternates between repetitions (odd: alone first) so drift over time
 * does not always count against one side.
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
 * `<kind>-degradation-pct` = (alone - with) / alone x 100 (positive: the neighbour hurt).
 */
import { z } from 'zod';
import type { Instance } from '../backends/types.js';
import { sleep } from '../util/proc.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import { iperfClient, startBackground, stopBackground } from './isolation-exec.js';
import { degradationPct, round } from './isolation.js';
import { iperfServerArgv } from './network.js';
import { cpuBurnArgv, fioLayoutArgv, fioRandreadArgv } from './partition.js';
import { parseFioJson } from './parsers/fio.js';
import { parseIperf3Json } from './parsers/iperf3.js';
import { parseSysbenchCpu, parseSysbenchMemory } from './parsers/sysbench.js';
import { registerWorkload } from './registry.js';
import type { MetricDecl, MetricValue, Workload, WorkloadContext } from './types.js';

export const NEIGHBOR_KINDS = ['cpu', 'memory', 'disk', 'network'] as const;
export type NeighborKind = (typeof NEIGHBOR_KINDS)[number];

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

function decls(kind: NeighborKind): MetricDecl[] {
  return [
    { name: `${kind}-alone`, unit: UNITS[kind], higherIsBetter: true, description: `victim ${WHAT[kind]}, alone` },
    { name: `${kind}-with-neighbor`, unit: UNITS[kind], higherIsBetter: true, description: `victim ${WHAT[kind]}, with an aggressor of the same kind beside it` },
    { name: `${kind}-degradation-pct`, unit: '%', higherIsBetter: false, description: `victim ${kind} figure lost to the neighbour, percent of the figure alone` },
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
      await sleep(p.leadSeconds * 1000);
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
    await sleep(p.leadSeconds * 1000);
    return await measure();
  } finally {
    await stopBackground(ctx, aggr, pid, comm, `neighbor-${kind}-aggressor-kill`);
  }
}

export const noisyNeighborWorkload: Workload<NoisyNeighborParams> = registerWorkload({
  name: 'noisy-neighbor',
  title: 'Noisy neighbour',
  description: "a victim's CPU, memory-bandwidth, disk and network figures alone vs with an aggressor of the same kind in a second instance on the same CPUs; degradation in percent",
  params: noisyNeighborParams,
  needsNetwork: true,
  needsDisk: true,
  metrics: NEIGHBOR_KINDS.flatMap(decls),
  async run(ctx) {
    const p = ctx.params;
    const victim = ctx.instance;
    if (p.kinds.includes('network') && !ctx.net) throw new Error('noisy-neighbor: network asked for but the run has no bench network');
    if (p.kinds.includes('memory') && p.memoryBlockMiB * Math.max(1, ctx.spec.vcpus) + 64 > ctx.spec.memoryMiB)
      throw new Error(`noisy-neighbor: memoryBlockMiB ${p.memoryBlockMiB} per thread does not fit in ${ctx.spec.memoryMiB} MiB instances`);
    if (p.kinds.includes('disk') && p.fileMiB > ctx.spec.disk.sizeMiB * 0.9) throw new Error(`noisy-neighbor: fileMiB ${p.fileMiB} does not fit in the ${ctx.spec.disk.sizeMiB} MiB scratch disk`);
    ctx.progress('starting the aggressor instance');
    const aggr = (await ctx.startInstance()).instance;
    const out: MetricValue[] = [];
    const vFile = `${victim.scratchDir.replace(/\/+$/, '')}/isobench-neighbor.dat`;
    const aFile = `${aggr.scratchDir.replace(/\/+$/, '')}/isobench-neighbor.dat`;
    const aloneFirst = ctx.repetition % 2 === 1 || ctx.repetition === 0;
    try {
      if (p.kinds.includes('disk')) {
        await ctx.exec(victim, fioLayoutArgv(vFile, p.fileMiB), { tag: 'neighbor-disk-layout-victim', timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4) });
        await ctx.exec(aggr, fioLayoutArgv(aFile, p.fileMiB), { tag: 'neighbor-disk-layout-aggressor', timeoutMs: timeoutFor(ctx, 60 + p.fileMiB / 4) });
      }
      for (const kind of p.kinds) {
        ctx.progress(`${kind}: alone and with a neighbour`);
        const alone = (): Promise<Figure> => victimFigure(ctx, kind, victim, vFile, `neighbor-${kind}-alone`);
        const withN = (): Promise<Figure> => withAggressor(ctx, kind, aggr, aFile, () => victimFigure(ctx, kind, victim, vFile, `neighbor-${kind}-with`));
        let a: Figure;
        let w: Figure;
        if (aloneFirst) {
          a = await alone();
          w = await withN();
        } else {
          w = await withN();
          a = await alone();
        }
        out.push(metric(kind, `${kind}-alone`, a.value, a.rawLog));
        out.push(metric(kind, `${kind}-with-neighbor`, w.value, w.rawLog));
        out.push(metric(kind, `${kind}-degradation-pct`, degradationPct(a.value, w.value), w.rawLog));
        ctx.recordExtra?.(`neighbor-${kind}`, { unit: UNITS[kind], alone: round(a.value, 3), withNeighbor: round(w.value, 3), degradationPct: round(degradationPct(a.value, w.value), 2), order: aloneFirst ? 'alone first' : 'with neighbour first', cpus: ctx.spec.cpus });
      }
    } finally {
      if (p.kinds.includes('disk')) {
        await ctx.exec(victim, ['rm', '-f', vFile], { tag: 'neighbor-disk-cleanup-victim', timeoutMs: 30_000, allowFailure: true }).catch(() => undefined);
      }
      await aggr.stop().catch(() => undefined);
    }
    return out;
  },
});
