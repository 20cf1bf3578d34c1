/**
 * Footprint: host memory paid for one idle instance. Each repetition starts a
 * fresh instance, lets it settle (settleSeconds: a VM's guest is still touching
 * memory right after boot), reads Instance.footprint() once and stops it.
 *
 *  - `pss-mib`: proportional set size of the instance's host processes (shared
 *    pages split between their users): the figure comparable across backends;
 *  - `rss-mib`: resident set size of those processes (shared pages counted whole);
 *  - `cgroup-mib`: memory charged to the instance's cgroup (working set). For a
 *    container this depends on which cgroup first touched shared page-cache pages,
 *    so read it beside PSS, not instead of it.
 * MiB = 2^20 bytes. Lower is better.
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { metric } from './common.js';
import { sleep } from '../util/proc.js';
import type { MetricValue, Workload } from './types.js';

export const footprintParams = z
  .object({
    /** Idle time between ready and the measurement, seconds. */
    settleSeconds: z.number().min(0).max(600).default(2),
  })
  .strict();

export type FootprintParams = z.infer<typeof footprintParams>;

const MIB = 1024 * 1024;

export const footprintWorkload: Workload<FootprintParams> = registerWorkload({
  name: 'footprint',
  title: 'Per-instance footprint',
  order: 60,
  judgement: { comparison: 'difference', thresholdByUnit: { MiB: 8 } },
  primary: [/^pss-mib$/, /pss/i],
  phrase: 'per idle instance',
  capacity: [
    {
      resource: 'footprint',
      tiers: [
        { tier: 0, metrics: [/^pss-mib$/] },
        { tier: 1, metrics: [/pss/i] },
        { tier: 3, metrics: [/^rss-mib$/, /^cgroup-mib$/] },
      ],
    },
  ],
  description: 'host memory per idle instance: PSS and RSS of its host processes, and its cgroup charge',
  params: footprintParams,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    {
      name: 'pss-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'PSS of the instance host processes (shared pages split), idle',
    },
    { name: 'rss-mib', unit: 'MiB', higherIsBetter: false, description: 'RSS of the instance host processes, idle' },
    {
      name: 'cgroup-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'memory charged to the instance cgroup (working set), idle',
    },
    {
      name: 'helper-pss-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description:
        "PSS of the container engine's per-container helper (conmon, containerd-shim-runc-v2), " +
        'already included in pss-mib',
    },
  ],
  async run(ctx) {
    const { instance } = await ctx.startInstance();
    try {
      if (ctx.params.settleSeconds > 0) await sleep(ctx.params.settleSeconds * 1000, ctx.signal);
      const fp = await instance.footprint();
      const record = {
        instance: instance.name,
        kind: instance.kind,
        variant: instance.variant,
        settleSeconds: ctx.params.settleSeconds,
        footprint: fp,
      };
      const rawLog = await ctx.saveRaw('footprint', `${JSON.stringify(record, null, 2)}\n`);
      const out: MetricValue[] = [];
      if (fp.hostPssBytes !== undefined) out.push(metric('footprint', 'pss-mib', fp.hostPssBytes / MIB, rawLog));
      out.push(metric('footprint', 'rss-mib', fp.hostRssBytes / MIB, rawLog));
      if (fp.cgroupMemoryBytes !== undefined)
        out.push(metric('footprint', 'cgroup-mib', fp.cgroupMemoryBytes / MIB, rawLog));
      // What the engine adds per container, named apart so it can be attributed (Footprint.parts).
      const helpers = (fp.parts ?? []).filter((p) => p.role.startsWith('engine helper'));
      if (helpers.length)
        out.push(metric('footprint', 'helper-pss-mib', helpers.reduce((a, p) => a + p.pssBytes, 0) / MIB, rawLog));
      return out;
    } finally {
      await instance.stop();
    }
  },
});
