/**
 * Memory: bandwidth and the cost of a random access.
 *
 * Bandwidth: sysbench memory, 1 thread, sequential 8-byte loads (read) or stores
 * (write) over one buffer of bandwidthBlockMiB per event (default 64 MiB: larger
 * than any last-level cache, so the figure is DRAM bandwidth, not cache
 * bandwidth; sysbench's default 1 KiB block measures L1). Reported in MiB/s.
 *
 * Random-access cost: none of the installed tools has a dependent pointer chase
 * (stress-ng's vm/memrate/stream stressors report rates, not latency; a Lua chase
 * through sysbench would need a script file in a read-only rootfs). sysbench
 * memory --memory-access-mode=rnd does, per event, blockSize/8 loads of one
 * 8-byte word at a uniformly random offset inside a buffer of blockSize bytes
 * (sysbench 1.0 event_rnd_read). With a working set (default 64 MiB, 16384 pages
 * of 4 KiB) far beyond the TLB reach (a few MiB) and the caches, almost every
 * access misses the TLB and the caches: the time per access then includes a page
 * walk, which is a two-dimensional walk (guest and host tables) under nested
 * paging (EPT/NPT) and a software walk under TCG. So
 *
 *     ns per access = 1e9 / (MiB/s * 2^20 / 8)
 *
 * is a per-access figure that exposes nested-paging/TLB cost. The metric is
 * recorded as its reciprocal, the access RATE (`rnd-access-mops`, millions per
 * second): repetitions of equal length are averaged correctly as rates (the
 * arithmetic mean of ns per access, a reciprocal, was biased upwards by about
 * CV^2); 1000 / rate is ns per access. It is not a pure
 * load-to-use latency: the loads are independent, so the CPU overlaps several
 * misses, and the figure includes sysbench's random-number generation (about
 * 1-2 ns, measurable by running with a small working set). Compare it across
 * backends, not with published DRAM latencies. Transparent huge pages change
 * it a lot (one TLB entry covers 2 MiB): sysbench allocates with plain
 * malloc/memalign, so THP applies only in `always` mode; the host facts record
 * the THP setting of the host (the guest kernel's is its own default).
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { parseSysbenchMemory } from './parsers/sysbench.js';
import { metric, parseRaw, timeoutFor, toolSecondsFor } from './common.js';
import { recordEnvironment } from './environment.js';
import { runProbesInTurn, type MetricValue, type Workload, type WorkloadContext } from './types.js';
import { environmentExtras } from './extras/common.js';

/** sysbench 1.0 moves size_t words: 8 bytes on x86_64 (the only architecture isobench targets). */
export const WORD_BYTES = 8;

export const memoryParams = z
  .object({
    /** Length of each sysbench run in whole seconds. */
    seconds: z.number().int().min(1).max(600).default(3),
    /** Buffer swept per event for the bandwidth figures (MiB). */
    bandwidthBlockMiB: z.number().int().min(1).max(65_536).default(64),
    /** Working set of the random-access figure (MiB). */
    latencyWorkingSetMiB: z.number().int().min(1).max(65_536).default(64),
  })
  .strict();

export type MemoryParams = z.infer<typeof memoryParams>;

/** Head-room left for the tool, its libraries and (in a VM) the guest kernel. */
const HEADROOM_MIB = 64;

export function memoryArgv(
  p: MemoryParams,
  oper: 'read' | 'write',
  mode: 'seq' | 'rnd',
  seconds = p.seconds,
): string[] {
  const blockMiB = mode === 'seq' ? p.bandwidthBlockMiB : p.latencyWorkingSetMiB;
  return [
    'sysbench',
    'memory',
    '--threads=1',
    `--time=${seconds}`,
    `--memory-block-size=${blockMiB}M`,
    // 0 = no total-size limit: the run is bounded by --time only.
    '--memory-total-size=0',
    '--memory-scope=global',
    `--memory-oper=${oper}`,
    `--memory-access-mode=${mode}`,
    'run',
  ];
}

/** Random 8-byte accesses per second from sysbench's MiB/s (see the header comment). */
export function accessesPerSecond(mibPerSecond: number): number {
  return (mibPerSecond * 1024 * 1024) / WORD_BYTES;
}

/** Nanoseconds per random 8-byte access: the reciprocal, for reading one value (never averaged). */
export function nsPerAccess(mibPerSecond: number): number {
  return 1e9 / accessesPerSecond(mibPerSecond);
}

function bandwidth(name: string, r: { parsed: { mibPerSecond: number }; rawLog: string }): MetricValue {
  return metric('sysbench', name, r.parsed.mibPerSecond, r.rawLog);
}

async function sysbenchMemory(ctx: WorkloadContext<MemoryParams>, oper: 'read' | 'write', mode: 'seq' | 'rnd') {
  const seconds = toolSecondsFor(ctx, ctx.params.seconds);
  const r = await ctx.exec(ctx.instance, memoryArgv(ctx.params, oper, mode, seconds), {
    tag: `memory-${mode}-${oper}`,
    timeoutMs: timeoutFor(ctx, seconds),
  });
  const parsed = parseRaw(r.rawLog, () => parseSysbenchMemory(r.stdout));
  if (parsed.operation !== oper)
    throw new Error(`sysbench memory ran operation ${parsed.operation}, asked for ${oper}`);
  return { parsed, rawLog: r.rawLog };
}

export const memoryWorkload: Workload<MemoryParams> = registerWorkload({
  name: 'memory',
  title: 'Memory',
  order: 20,
  judgement: { comparison: 'ratio', thresholdPct: 3, cannotBeatNative: true },
  description:
    'sysbench memory: sequential read/write bandwidth and the time per random access in a working set beyond TLB reach',
  params: memoryParams,
  extraSchema: environmentExtras,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    {
      name: 'seq-read-mibps',
      unit: 'MiB/s',
      higherIsBetter: true,
      description: 'sequential read bandwidth, 1 thread, sysbench memory',
    },
    {
      name: 'seq-write-mibps',
      unit: 'MiB/s',
      higherIsBetter: true,
      description: 'sequential write bandwidth, 1 thread, sysbench memory',
    },
    {
      name: 'rnd-access-mops',
      unit: 'M accesses/s',
      higherIsBetter: true,
      description:
        'independent random 8-byte loads per second in the working set, millions ' +
        '(TLB and cache misses; nested-paging cost shows here); 1000 / value = ns per access',
    },
  ],
  setup: async (ctx) => {
    const p = ctx.params;
    const need = Math.max(p.bandwidthBlockMiB, p.latencyWorkingSetMiB) + HEADROOM_MIB;
    if (need > ctx.spec.memoryMiB) {
      throw new Error(
        `memory workload needs about ${need} MiB (buffer + ${HEADROOM_MIB} MiB head-room) ` +
          `but the instance has ${ctx.spec.memoryMiB} MiB: ` +
          'lower bandwidthBlockMiB/latencyWorkingSetMiB or raise memoryMiB',
      );
    }
    await recordEnvironment(ctx, 'memory');
  },
  probes: () => [
    {
      name: 'seq-read',
      metrics: ['seq-read-mibps'],
      run: async (ctx) => [bandwidth('seq-read-mibps', await sysbenchMemory(ctx, 'read', 'seq'))],
    },
    {
      name: 'seq-write',
      metrics: ['seq-write-mibps'],
      run: async (ctx) => [bandwidth('seq-write-mibps', await sysbenchMemory(ctx, 'write', 'seq'))],
    },
    {
      name: 'rnd-read',
      metrics: ['rnd-access-mops'],
      run: async (ctx) => {
        const rnd = await sysbenchMemory(ctx, 'read', 'rnd');
        return [metric('sysbench', 'rnd-access-mops', accessesPerSecond(rnd.parsed.mibPerSecond) / 1e6, rnd.rawLog)];
      },
    },
  ],
  run: (ctx) => runProbesInTurn(memoryWorkload, ctx),
});
