/**
 * The partition workload's network phase: an HTB split of one shaped link with
 * iperf3 into both instances, then a hard rate cap on A (TBF on its link, or an
 * HTB class). What it measures is described in partition.ts.
 */
import type { Instance } from '../backends/types.js';
import { delRootArgv, htbClassId, htbSplitArgvs, parseTcSentBytes, tbfCapArgv } from '../net/tc.js';
import { benchAddress, metric, parseRaw } from './common.js';
import { benchTc, iperfClient, startBackground, stopBackground } from './isolation-exec.js';
import {
  achievedRate,
  achievedShare,
  capErrorPct,
  errorPp,
  round,
  sampleWhile,
  splitBudget,
  targetPct,
} from './isolation.js';
import { iperfServerArgv } from './network.js';
import { parseIperf3Json } from './parsers/iperf3.js';
import type { MetricValue } from './types.js';
import type { PartitionCtx as Ctx } from './partition-params.js';

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
    const parsed = parseRaw(
      r.rawLog,
      () => parseIperf3Json(r.stdout),
      r.code !== 0 ? `client exit ${r.code}` : undefined,
    );
    return { mbps: parsed.receivedBitsPerSecond / 1e6, rawLog: r.rawLog };
  } finally {
    await stopBackground(ctx, inst, pid, 'iperf3', `${tag}-server-kill`);
  }
}

export async function networkPhase(ctx: Ctx, a: Instance, b: Instance, out: MetricValue[]): Promise<void> {
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
    ctx.progress(
      `network: HTB ${rateA}:${rateB} Mbit/s of a ${n.linkMbit} Mbit/s link, iperf3 into both for ${n.seconds} s`,
    );
    const ids = [htbClassId(0), htbClassId(1)];
    const work = Promise.all([
      iperfInto(ctx, a, addrA, n.seconds, 'partition-net-a'),
      iperfInto(ctx, b, addrB, n.seconds, 'partition-net-b'),
    ]);
    const { result: runs, samples } = await sampleWhile(work, () => tcBytes(ctx, 'class', bridge, ids), p.sampleMs);
    const linkBytesPerS = (n.linkMbit * 1e6) / 8;
    const share = achievedShare(samples, {
      capacityPerS: linkBytesPerS,
      minBusyFraction: 0.5,
      minPartyRate: linkBytesPerS * 0.01,
    });
    const rawLog = await ctx.saveRaw(
      'partition-net-samples',
      `${JSON.stringify({ linkMbit: n.linkMbit, ratesMbit: [rateA, rateB], samples }, null, 1)}\n`,
    );
    out.push(metric('partition', 'net-share-a-pct', share.aPct, rawLog));
    out.push(metric('partition', 'net-share-error-pp', errorPp(share.aPct, target), rawLog));
    out.push(metric('iperf3', 'net-a-mbps', runs[0].mbps, runs[0].rawLog));
    out.push(metric('iperf3', 'net-b-mbps', runs[1].mbps, runs[1].rawLog));
    ctx.recordExtra?.('net-share', {
      mechanism:
        `tc htb on the bench bridge (${bridge}): link ${n.linkMbit} Mbit/s, ` +
        `classes rate ${rateA}/${rateB} Mbit/s, ceil ${n.linkMbit}`,
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
      for (const argv of htbSplitArgvs(bridge, Math.max(n.capMbit, n.linkMbit), [
        { address: addrA, rateMbit: n.capMbit, ceilMbit: n.capMbit },
      ]))
        await benchTc(ctx, argv);
      mechanism =
        `tc htb class rate = ceil = ${n.capMbit} Mbit/s on the bench bridge ` +
        '(the backend exposes no bench-side link)';
      read = () => tcBytes(ctx, 'class', bridge, [htbClassId(0)]);
    }
    ctx.progress(`network: cap ${n.capMbit} Mbit/s on A (${mechanism})`);
    const capped = await sampleWhile(iperfInto(ctx, a, addrA, n.seconds, 'partition-net-cap'), read, p.sampleMs);
    const rate = achievedRate(capped.samples, 1000);
    const capLog = await ctx.saveRaw(
      'partition-net-cap-samples',
      `${JSON.stringify({ capMbit: n.capMbit, mechanism, samples: capped.samples }, null, 1)}\n`,
    );
    out.push(metric('iperf3', 'net-cap-mbps', capped.result.mbps, capped.result.rawLog));
    out.push(metric('partition', 'net-cap-error-pct', capErrorPct(capped.result.mbps, n.capMbit), capLog));
    ctx.recordExtra?.('net-cap', {
      mechanism,
      capMbit: n.capMbit,
      iperfMbps: round(capped.result.mbps, 2),
      series: rate.series.map((s) => ({ ...s, rate: round((s.rate * 8) / 1e6, 3) })),
      seriesUnit: 'Mbit/s',
      rawLog: capLog,
    });
  } finally {
    if (capDev) await ctx.net.exec(delRootArgv(capDev), { timeoutMs: 15_000 }).catch(() => undefined);
    if (bridgeShaped) await ctx.net.exec(delRootArgv(bridge), { timeoutMs: 15_000 }).catch(() => undefined);
  }
}
