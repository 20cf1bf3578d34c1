/**
 * Density: how many idle instances fit in a host-memory budget, and what each one
 * costs the host.
 *
 * One repetition starts 1, 2, 3, 4, 8, 16, ... idle instances (fresh, one after
 * another; the levels come from `steps` or from densityLevels up to maxInstances,
 * at least 4 levels so the slope has a CI) and, at each level, after settleSeconds,
 * reads:
 *  - host MemAvailable (/proc/meminfo),
 *  - the summed PSS and RSS of the instances' host processes (Instance.footprint()),
 *  - the summed cgroup charge of the instances,
 *  - the start-to-ready time of the instances started for this level.
 * Marginal memory per instance = least-squares slope of each figure over the measured
 * levels (src/stats/regression.ts), with a Student-t 95% CI of the PSS slope: one noisy
 * level does not decide it, and the CI says how well the levels agree. The empty host
 * is not a point of the fit: the first instance also pays for what later ones share.
 *
 * Budget (memoryBudgetMiB): after every single start the instances' summed PSS is read;
 * once it exceeds the budget, that level is still measured (one more point for the
 * slope) and the sweep stops: `instances-in-budget` is the largest count whose summed
 * PSS fitted, a measured limit. When the sweep ends at maxInstances first, the budget
 * was not reached: the cap is recorded as a cap ("stopped at cap N"), never as a
 * result, and only the projection budget / marginal PSS (with the CI's range) is given.
 *
 * Never runs the host out of memory: before each level the next one is allowed only
 * when MemAvailable minus (new instances x estimated cost per instance) stays above
 * memorySafetyMiB (the estimate is the instance's memory limit plus 256 MiB until a
 * level has been measured, then 1.5x the larger measured marginal figure), and after
 * every single start MemAvailable is checked again. Where the sweep stopped and why
 * (max-instances, memory-safety, start-failed, time) is recorded in extra.
 *
 * KSM (ksm: on): with the last level's instances still running, KSM is turned on
 * (pages_to_scan raised to ksmPagesToScan for the duration), given up to
 * ksmSettleSeconds to settle (pages_sharing stable over 3 reads after 2 full scans),
 * and the same figures are read again: the memory per instance at that density with
 * identical pages merged. The host's KSM settings are restored in `finally`. KSM
 * merges only memory marked mergeable (QEMU marks guest RAM so; containers' memory
 * is not), so for containers the KSM figures show that it makes no difference.
 */
import { z } from 'zod';
import { memAvailableBytes } from '../host/facts.js';
import { Ksm, KSM_ROOT, waitKsmSettled, withKsmOn, type KsmState } from '../host/ksm.js';
import { errorMessage } from '../errors.js';
import type { Instance } from '../backends/types.js';
import { linearFit, type LinearFit } from '../stats/regression.js';
import { isAbortError, sleep, throwIfAborted } from '../util/proc.js';
import { metric } from './common.js';
import { round } from './isolation.js';
import { registerWorkload } from './registry.js';
import type { MetricValue, Workload } from './types.js';
import { densityExtras } from './extras/density.js';

const MIB = 2 ** 20;
/** Levels a sweep needs for a slope with a CI. */
export const MIN_LEVELS = 4;

export const densityParams = z
  .object({
    /** Upper bound on instances (the scenario's cap: reported as a cap, never as a result). */
    maxInstances: z.number().int().min(4).max(1024).default(8),
    /** Host-memory budget (MiB of summed instance PSS) the sweep fills: how many instances fit in it is the result. */
    memoryBudgetMiB: z.number().int().min(16).max(1_048_576).optional(),
    /** Explicit instance counts per level, ascending; default 1, 2, 4, ... up to maxInstances. */
    steps: z.array(z.number().int().min(1).max(1024)).min(1).optional(),
    /** MemAvailable that must remain after any start (MiB). */
    memorySafetyMiB: z.number().int().min(256).max(1_048_576).default(2048),
    /** Idle time after a level is up, before it is measured (seconds). */
    settleSeconds: z.number().min(0).max(600).default(2),
    /** Memory of each idle instance (MiB); default: the scenario's instance.memoryMiB. */
    instanceMemoryMiB: z.number().int().min(64).max(1_048_576).optional(),
    /** Stop starting new levels after this long (seconds). */
    maxSeconds: z.number().int().min(10).max(86_400).default(600),
    ksm: z.enum(['off', 'on']).default('off'),
    ksmSettleSeconds: z.number().int().min(1).max(3600).default(60),
    /** pages_to_scan while KSM is on for the measurement (host default is 100). */
    ksmPagesToScan: z.number().int().min(1).max(100_000).default(2000),
  })
  .strict()
  .refine((p) => !p.steps || p.steps.every((v, i, a) => i === 0 || v > (a[i - 1] as number)), {
    message: 'steps must be strictly ascending',
    path: ['steps'],
  })
  .refine((p) => densityLevels(p.maxInstances, p.steps).length >= MIN_LEVELS, {
    message: `needs at least ${MIN_LEVELS} levels up to maxInstances (a slope with a CI)`,
    path: ['steps'],
  });

export type DensityParams = z.infer<typeof densityParams>;

/**
 * Instance counts per level: explicit steps capped at max, or 1, 2, 3, 4 (the four
 * levels a CI needs, cheap even for VMs) then doubling, with max as the last.
 */
export function densityLevels(maxInstances: number, steps?: readonly number[]): number[] {
  if (steps) return steps.filter((s) => s <= maxInstances);
  const out: number[] = [];
  for (let n = 1; n < maxInstances; n = n < 4 ? n + 1 : n * 2) out.push(n);
  out.push(maxInstances);
  return out;
}

/** `cap`: the scenario's maxInstances was reached before the budget (a cap, not a result). */
export type StopReason = 'budget' | 'cap' | 'memory-safety' | 'start-failed' | 'time' | 'error';

/**
 * Budget figures of a finished sweep (pure). `overBudgetAt` is the smallest instance
 * count whose summed PSS was seen above the budget (instances are added one at a
 * time, so one fewer fitted): a measured count. Without it only the projection.
 */
export function budgetFigures(
  budgetMiB: number,
  overBudgetAt: number | undefined,
  pss: LinearFit | undefined,
): { instancesInBudget?: number; projected?: number; projectedRange?: [number, number] } {
  const out: { instancesInBudget?: number; projected?: number; projectedRange?: [number, number] } = {};
  if (overBudgetAt !== undefined) out.instancesInBudget = overBudgetAt - 1;
  if (pss && pss.slope > 0) {
    out.projected = Math.floor(budgetMiB / pss.slope);
    const [lo, hi] = pss.slopeCi95 ?? [pss.slope, pss.slope];
    if (lo > 0) out.projectedRange = [Math.floor(budgetMiB / hi), Math.floor(budgetMiB / lo)];
  }
  return out;
}

/** May the sweep go from `current` to `next` instances? (pure) */
export function nextLevelAllowed(o: {
  current: number;
  next: number;
  memAvailableMiB: number;
  perInstanceEstimateMiB: number;
  safetyMiB: number;
}): { ok: true } | { ok: false; reason: 'memory-safety'; detail: string } {
  const need = (o.next - o.current) * o.perInstanceEstimateMiB;
  const left = o.memAvailableMiB - need;
  if (left < o.safetyMiB)
    return {
      ok: false,
      reason: 'memory-safety',
      detail:
        `${o.next - o.current} more instances at ~${Math.round(o.perInstanceEstimateMiB)} MiB each ` +
        `would leave ~${Math.round(left)} MiB available, below the ${o.safetyMiB} MiB safety margin`,
    };
  return { ok: true };
}

/** Cost estimate per instance for the stopping rule (pure). */
export function perInstanceEstimateMiB(
  instanceMemoryMiB: number,
  measured: { memAvailMiB?: number; pssMiB?: number },
): number {
  const m = Math.max(measured.memAvailMiB ?? 0, measured.pssMiB ?? 0);
  if (m > 0) return Math.max(16, 1.5 * m);
  return instanceMemoryMiB + 256;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  return linearFit(xs, ys).slope;
}

export interface DensityLevel {
  instances: number;
  memAvailMiB: number;
  pssSumMiB: number;
  rssSumMiB: number;
  cgroupSumMiB: number;
  /** Start-to-ready of the instances started for this level. */
  readyMs: number[];
  meanReadyMs: number;
}

/**
 * Marginal MiB per instance (pure): least-squares slopes over the measured levels. With
 * one level only, the empty host (level 0) is the second point, as an estimate for the
 * safety rule; the reported figures need MIN_LEVELS levels.
 */
export function marginals(
  baselineMemAvailMiB: number,
  levels: readonly DensityLevel[],
): {
  memAvailMiB: number;
  pssMiB: number;
  cgroupMiB: number;
  rssMiB: number;
  pssFit: LinearFit;
  memAvailFit: LinearFit;
} {
  const withZero = levels.length < 2;
  const xs = [...(withZero ? [0] : []), ...levels.map((l) => l.instances)];
  const ys = (zero: number, f: (l: DensityLevel) => number) => [...(withZero ? [zero] : []), ...levels.map(f)];
  const pssFit = linearFit(
    xs,
    ys(0, (l) => l.pssSumMiB),
  );
  const memFit = linearFit(
    xs,
    ys(0, (l) => baselineMemAvailMiB - l.memAvailMiB),
  );
  return {
    memAvailMiB: memFit.slope,
    pssMiB: pssFit.slope,
    rssMiB: linearFit(
      xs,
      ys(0, (l) => l.rssSumMiB),
    ).slope,
    cgroupMiB: linearFit(
      xs,
      ys(0, (l) => l.cgroupSumMiB),
    ).slope,
    pssFit,
    memAvailFit: memFit,
  };
}

function fitRecord(f: LinearFit): Record<string, unknown> {
  return {
    slope: round(f.slope, 3),
    intercept: round(f.intercept, 2),
    n: f.n,
    r2: round(f.r2, 4),
    ...(f.slopeCi95 ? { ci95: f.slopeCi95.map((x) => round(x, 3)) } : {}),
  };
}

async function measure(
  instances: readonly Instance[],
): Promise<Omit<DensityLevel, 'readyMs' | 'meanReadyMs' | 'instances'>> {
  let pss = 0;
  let rss = 0;
  let cg = 0;
  for (const i of instances) {
    const f = await i.footprint();
    pss += f.hostPssBytes ?? f.hostRssBytes;
    rss += f.hostRssBytes;
    cg += f.cgroupMemoryBytes ?? 0;
  }
  return {
    memAvailMiB: (await memAvailableBytes()) / MIB,
    pssSumMiB: pss / MIB,
    rssSumMiB: rss / MIB,
    cgroupSumMiB: cg / MIB,
  };
}

function roundLevel(l: DensityLevel): DensityLevel {
  return {
    instances: l.instances,
    memAvailMiB: round(l.memAvailMiB, 1),
    pssSumMiB: round(l.pssSumMiB, 2),
    rssSumMiB: round(l.rssSumMiB, 2),
    cgroupSumMiB: round(l.cgroupSumMiB, 2),
    readyMs: l.readyMs.map((x) => round(x, 1)),
    meanReadyMs: round(l.meanReadyMs, 1),
  };
}

export const densityWorkload: Workload<DensityParams> = registerWorkload({
  name: 'density',
  title: 'Density',
  order: 70,
  judgement: { comparison: 'difference', thresholdByUnit: { MiB: 8, ms: 50, instances: 1 } },
  primary: [/^marginal-pss-mib$/, /marginal.*pss/i],
  phrase: 'per extra instance',
  // After the idle footprint's PSS, before its RSS: the marginal PSS of one more instance.
  capacity: [{ resource: 'footprint', tiers: [{ tier: 2, metrics: [/^marginal-pss-mib$/, /marginal.*pss/i] }] }],
  isolation: { view: 'density' },
  description:
    'idle instances started 1, 2, 4, ... within a host-memory safety margin: marginal host memory per instance ' +
    '(MemAvailable, PSS, cgroup), start time as density grows, where it stopped and why; ' +
    'optionally the same with KSM on',
  params: densityParams,
  extraSchema: densityExtras,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    {
      name: 'marginal-memavail-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'host MemAvailable consumed per extra idle instance (slope over the levels)',
    },
    {
      name: 'marginal-pss-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description:
        'summed PSS of the instances host processes per extra instance (least-squares slope over at least 4 levels)',
    },
    {
      name: 'marginal-pss-ci95-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'half-width of the 95% CI of the marginal PSS slope (Student t, levels - 2 df)',
    },
    {
      name: 'marginal-rss-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'summed RSS of the instances host processes per extra instance (slope; shared pages counted whole)',
    },
    {
      name: 'marginal-cgroup-mib',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'summed cgroup charge (working set) per extra instance (slope)',
    },
    {
      name: 'start-ms-first',
      unit: 'ms',
      higherIsBetter: false,
      description: 'start-to-ready of the first instance (empty host)',
    },
    {
      name: 'start-ms-at-max',
      unit: 'ms',
      higherIsBetter: false,
      description: 'mean start-to-ready of the instances started for the last level',
    },
    {
      name: 'instances-in-budget',
      unit: 'instances',
      higherIsBetter: true,
      description:
        'largest number of idle instances whose summed PSS fitted in memoryBudgetMiB ' +
        '(measured: only when the sweep reached the budget)',
    },
    {
      name: 'instances-per-budget-projected',
      unit: 'instances',
      higherIsBetter: true,
      description:
        'memoryBudgetMiB / marginal PSS per instance (a projection from the slope; range in extra.density.budget)',
    },
    {
      name: 'marginal-memavail-mib-ksm',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'host MemAvailable consumed per instance at the last level once KSM settled ((baseline - now) / n)',
    },
    {
      name: 'marginal-pss-mib-ksm',
      unit: 'MiB',
      higherIsBetter: false,
      description: 'summed PSS per instance at the last level once KSM settled',
    },
    {
      name: 'ksm-saved-mib',
      unit: 'MiB',
      higherIsBetter: true,
      description: 'memory KSM saved at the last level (pages_sharing x page size)',
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const memMiB = p.instanceMemoryMiB ?? ctx.spec.memoryMiB;
    const levels = densityLevels(p.maxInstances, p.steps);
    const ksm = new Ksm(KSM_ROOT);
    const ksmAvailable = await ksm.available();
    const ksmAtStart: KsmState | undefined = ksmAvailable ? await ksm.read() : undefined;
    const t0 = performance.now();
    const running: Instance[] = [];
    const measured: DensityLevel[] = [];
    const startLog: Array<{ instance: string; readyMs: number; memAvailAfterMiB: number; pssSumMiB?: number }> = [];
    let stop: { reason: StopReason; detail: string } | undefined;
    let ksmResult: Record<string, unknown> | undefined;
    /** Smallest instance count seen with summed PSS above the budget. */
    let overBudgetAt: number | undefined;
    const baselineMemAvailMiB = (await memAvailableBytes()) / MIB;
    const out: MetricValue[] = [];
    try {
      sweep: for (const target of levels) {
        const last = measured[measured.length - 1];
        const marg = last ? marginals(baselineMemAvailMiB, measured) : undefined;
        const estimate = perInstanceEstimateMiB(
          memMiB,
          marg ? { memAvailMiB: marg.memAvailMiB, pssMiB: marg.pssMiB } : {},
        );
        const allowed = nextLevelAllowed({
          current: running.length,
          next: target,
          memAvailableMiB: (await memAvailableBytes()) / MIB,
          perInstanceEstimateMiB: estimate,
          safetyMiB: p.memorySafetyMiB,
        });
        if (!allowed.ok) {
          stop = { reason: 'memory-safety', detail: `before ${target} instances: ${allowed.detail}` };
          break;
        }
        if ((performance.now() - t0) / 1000 > p.maxSeconds) {
          stop = { reason: 'time', detail: `maxSeconds ${p.maxSeconds} s reached before ${target} instances` };
          break;
        }
        ctx.progress(`starting up to ${target} instances (${running.length} running)`);
        const readyMs: number[] = [];
        while (running.length < target) {
          throwIfAborted(ctx.signal);
          let started;
          try {
            started = await ctx.startInstance({ network: false, memoryMiB: memMiB });
          } catch (e) {
            // Cancelled (timeout, Ctrl-C): not a finding of the sweep; nothing more is started.
            if (ctx.signal.aborted || isAbortError(e)) throw e;
            stop = {
              reason: 'start-failed',
              detail: `instance ${running.length + 1}: ${errorMessage(e).split('\n')[0]}`,
            };
            break sweep;
          }
          running.push(started.instance);
          readyMs.push(started.readyMs);
          const availMiB = (await memAvailableBytes()) / MIB;
          startLog.push({
            instance: started.instance.name,
            readyMs: round(started.readyMs, 1),
            memAvailAfterMiB: round(availMiB, 1),
          });
          if (availMiB < p.memorySafetyMiB) {
            stop = {
              reason: 'memory-safety',
              detail:
                `MemAvailable ${Math.round(availMiB)} MiB fell below the ${p.memorySafetyMiB} MiB safety margin ` +
                `after instance ${running.length}`,
            };
            break sweep;
          }
          // Budget: checked after every start, so the level that crosses it ends where it crossed.
          if (p.memoryBudgetMiB !== undefined) {
            const pssNow = (await measure(running)).pssSumMiB;
            const last = startLog[startLog.length - 1];
            if (last) last.pssSumMiB = round(pssNow, 2);
            if (pssNow > p.memoryBudgetMiB) {
              overBudgetAt = running.length;
              break;
            }
          }
        }
        if (p.settleSeconds > 0) await sleep(p.settleSeconds * 1000, ctx.signal);
        const m = await measure(running);
        measured.push({
          instances: running.length,
          ...m,
          readyMs,
          meanReadyMs: readyMs.reduce((s, x) => s + x, 0) / readyMs.length,
        });
        if (p.memoryBudgetMiB !== undefined && m.pssSumMiB > p.memoryBudgetMiB) overBudgetAt ??= running.length;
        if (overBudgetAt !== undefined) {
          stop = {
            reason: 'budget',
            detail:
              `summed PSS ${Math.round(m.pssSumMiB)} MiB of ${running.length} instances ` +
              `exceeds the ${p.memoryBudgetMiB} MiB budget`,
          };
          break;
        }
      }
      const notReached = p.memoryBudgetMiB !== undefined ? `: the ${p.memoryBudgetMiB} MiB budget was not reached` : '';
      stop ??= {
        reason: 'cap',
        detail: `stopped at cap ${running.length} (the scenario's maxInstances ${p.maxInstances})${notReached}`,
      };

      // KSM: same figures at the last level with identical pages merged.
      const top = measured[measured.length - 1];
      if (p.ksm === 'on' && top && ksmAvailable && running.length === top.instances) {
        ctx.progress(`KSM on at ${running.length} instances, waiting up to ${p.ksmSettleSeconds} s for it to settle`);
        const k = await withKsmOn(ksm, { pagesToScan: p.ksmPagesToScan }, async () => {
          const w = await waitKsmSettled(ksm, { timeoutMs: p.ksmSettleSeconds * 1000, signal: ctx.signal });
          const m = await measure(running);
          return { wait: w, m };
        });
        const n = running.length;
        const pageSize = 4096;
        ksmResult = {
          settled: k.result.wait.settled,
          waitedMs: round(k.result.wait.waitedMs, 0),
          state: k.result.wait.state,
          pagesSharingHistory: k.result.wait.history,
          memAvailMiB: round(k.result.m.memAvailMiB, 1),
          pssSumMiB: round(k.result.m.pssSumMiB, 2),
          restored: k.restored,
          after: await ksm.read(),
        };
        const log = await ctx.saveRaw('density-ksm', `${JSON.stringify(ksmResult, null, 1)}\n`);
        out.push(
          metric('density', 'marginal-memavail-mib-ksm', (baselineMemAvailMiB - k.result.m.memAvailMiB) / n, log),
        );
        out.push(metric('density', 'marginal-pss-mib-ksm', k.result.m.pssSumMiB / n, log));
        out.push(metric('density', 'ksm-saved-mib', (k.result.wait.state.pagesSharing * pageSize) / MIB, log));
      } else if (p.ksm === 'on' && !ksmAvailable) {
        ksmResult = { skipped: 'KSM is not available on this host' };
      }
    } finally {
      const fits = measured.length >= 2 ? marginals(baselineMemAvailMiB, measured) : undefined;
      const budget =
        p.memoryBudgetMiB !== undefined ? budgetFigures(p.memoryBudgetMiB, overBudgetAt, fits?.pssFit) : undefined;
      ctx.recordExtra?.('density', {
        instanceMemoryMiB: memMiB,
        levelsPlanned: levels,
        cap: p.maxInstances,
        baselineMemAvailMiB: round(baselineMemAvailMiB, 1),
        levels: measured.map(roundLevel),
        ...(fits
          ? {
              fit: {
                pss: fitRecord(fits.pssFit),
                memAvail: fitRecord(fits.memAvailFit),
                unit: 'MiB per instance',
                enoughLevels: measured.length >= MIN_LEVELS,
              },
            }
          : {}),
        ...(p.memoryBudgetMiB !== undefined
          ? {
              budget: {
                budgetMiB: p.memoryBudgetMiB,
                reached: overBudgetAt !== undefined,
                ...(overBudgetAt !== undefined ? { overBudgetAt } : {}),
                ...budget,
              },
            }
          : {}),
        starts: startLog,
        stopped: stop ?? { reason: 'error', detail: 'the sweep ended with an error (see the cell error)' },
        ksm: { atStart: ksmAtStart ?? null, ...(ksmResult ? { measurement: ksmResult } : {}) },
      });
      for (const i of running.reverse()) await i.stop().catch(() => undefined);
    }
    if (measured.length < 2)
      throw new Error(
        `density: ${measured.length} level(s) measured, a slope needs at least 2 (${stop?.reason}: ${stop?.detail})`,
      );
    const log = await ctx.saveRaw(
      'density-levels',
      `${JSON.stringify({ baselineMemAvailMiB, levels: measured, starts: startLog, stop }, null, 1)}\n`,
    );
    const top = measured[measured.length - 1] as DensityLevel;
    const first = measured[0] as DensityLevel;
    const marg = marginals(baselineMemAvailMiB, measured);
    const ci = marg.pssFit.slopeCi95;
    const budget = p.memoryBudgetMiB !== undefined ? budgetFigures(p.memoryBudgetMiB, overBudgetAt, marg.pssFit) : {};
    out.unshift(
      metric('density', 'marginal-memavail-mib', marg.memAvailMiB, log),
      metric('density', 'marginal-pss-mib', marg.pssMiB, log),
      ...(ci && measured.length >= MIN_LEVELS
        ? [metric('density', 'marginal-pss-ci95-mib', (ci[1] - ci[0]) / 2, log)]
        : []),
      metric('density', 'marginal-rss-mib', marg.rssMiB, log),
      metric('density', 'marginal-cgroup-mib', marg.cgroupMiB, log),
      metric('density', 'start-ms-first', first.readyMs[0] ?? first.meanReadyMs, log),
      metric('density', 'start-ms-at-max', top.meanReadyMs, log),
      ...(budget.instancesInBudget !== undefined
        ? [metric('density', 'instances-in-budget', budget.instancesInBudget, log)]
        : []),
      ...(budget.projected !== undefined
        ? [metric('density', 'instances-per-budget-projected', budget.projected, log)]
        : []),
    );
    return out;
  },
});
