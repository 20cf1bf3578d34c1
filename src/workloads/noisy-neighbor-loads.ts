/**
 * What the noisy-neighbour workload runs: the victim's measurement of each
 * kind (sysbench cpu and memory, fio, iperf3) and the aggressor of the same
 * kind in the neighbour, started before and stopped after the measurement.
 */
import type { Instance } from '../backends/types.js';
import { sleep } from '../util/proc.js';
import { benchAddress, parseRaw, timeoutFor } from './common.js';
import { iperfClient, startBackground, stopBackground } from './isolation-exec.js';
import { iperfServerArgv } from './network.js';
import { cpuBurnArgv, fioRandreadArgv } from './load-argv.js';
import { parseFioJson } from './parsers/fio.js';
import { parseIperf3Json } from './parsers/iperf3.js';
import { parseSysbenchCpu, parseSysbenchMemory } from './parsers/sysbench.js';
import type { NoisyNeighborCtx as Ctx, NoisyNeighborParams, NeighborKind } from './noisy-neighbor-params.js';

export function victimCpuArgv(seconds: number): string[] {
  return ['sysbench', 'cpu', '--threads=1', `--time=${seconds}`, '--cpu-max-prime=10000', 'run'];
}

export function memoryArgv(seconds: number, blockMiB: number, oper: 'read' | 'write', threads: number): string[] {
  return [
    'sysbench',
    'memory',
    `--threads=${threads}`,
    `--time=${seconds}`,
    `--memory-block-size=${blockMiB}M`,
    '--memory-total-size=0',
    '--memory-scope=local',
    `--memory-oper=${oper}`,
    '--memory-access-mode=seq',
    'run',
  ];
}

export function aggressorArgv(
  kind: Exclude<NeighborKind, 'network'>,
  p: NoisyNeighborParams,
  threads: number,
  seconds: number,
  file: string,
): { argv: string[]; comm: string } {
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

export interface Figure {
  value: number;
  rawLog: string;
}

export async function victimFigure(
  ctx: Ctx,
  kind: NeighborKind,
  victim: Instance,
  file: string,
  tag: string,
): Promise<Figure> {
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
      return {
        value: parseRaw(r.rawLog, () => parseFioJson(r.stdout).jobs.reduce((s, j) => s + j.read.iops, 0)),
        rawLog: r.rawLog,
      };
    }
    case 'network': {
      const addr = benchAddress(victim.address, victim.name);
      const pid = await startBackground(ctx, victim, p.seconds + 60, iperfServerArgv(addr, p.port), `${tag}-server`);
      try {
        const r = await iperfClient(ctx, addr, p.port, p.seconds, tag);
        return {
          value: parseRaw(r.rawLog, () => parseIperf3Json(r.stdout).receivedBitsPerSecond / 1e6),
          rawLog: r.rawLog,
        };
      } finally {
        await stopBackground(ctx, victim, pid, 'iperf3', `${tag}-server-kill`);
      }
    }
  }
}

/** Run `measure` with the aggressor of `kind` running in `aggr`; the aggressor is stopped in finally. */
export async function withAggressor(
  ctx: Ctx,
  kind: NeighborKind,
  aggr: Instance,
  file: string,
  measure: () => Promise<Figure>,
): Promise<Figure> {
  const p = ctx.params;
  const lifetime = Math.ceil(p.leadSeconds + p.seconds + 30);
  if (kind === 'network') {
    const addr = benchAddress(aggr.address, aggr.name);
    const pid = await startBackground(
      ctx,
      aggr,
      lifetime + 30,
      iperfServerArgv(addr, p.port),
      'neighbor-network-aggressor-server',
    );
    let serverStopped = false;
    const stopServer = async (): Promise<void> => {
      if (serverStopped) return;
      serverStopped = true;
      await stopBackground(ctx, aggr, pid, 'iperf3', 'neighbor-network-aggressor-server-kill');
    };
    try {
      // The aggressor's client outlasts the victim's measurement by its lead and a second.
      const secs = Math.ceil(p.leadSeconds + p.seconds + 1);
      const client = iperfClient(ctx, addr, p.port, secs, 'neighbor-network-aggressor');
      client.catch(() => undefined);
      await sleep(p.leadSeconds * 1000, ctx.signal);
      try {
        return await measure();
      } finally {
        // Stopping the server ends the client's transfer at once (its error is expected and dropped), rather
        // than waiting out the second it was given beyond the measurement.
        await stopServer();
        await client.catch(() => undefined);
      }
    } finally {
      await stopServer();
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
