/**
 * Pure pieces the isolation workloads (partition, noisy-neighbor, density,
 * memory-gradient) share: shares from cumulative counters sampled over time,
 * error in percentage points, degradation, and a sampler that reads counters
 * while a measurement runs.
 *
 * Counters are cumulative (cgroup CPU seconds, I/Os serviced, bytes sent by a tc
 * class). A share is computed per sampling interval from the deltas, and the
 * overall figure from the intervals in which *both* parties were active (and, when
 * the capacity is known, the resource was busy): the seconds in which one burn had
 * not started yet or had already ended say nothing about partitioning. The first
 * and last such interval are dropped as well (a burn starting or ending inside it).
 */
import { sleep } from '../util/proc.js';

/** Counter values of every party at one instant. */
export interface CumulativeSample {
  /** Milliseconds since the start of sampling (monotonic). */
  tMs: number;
  values: number[];
}

export interface IntervalRates {
  /** Middle of the interval, seconds since the first sample. */
  tS: number;
  dtS: number;
  /** Per party: counter increase per second over the interval. */
  rates: number[];
}

/** Per-interval rates from cumulative samples (counter resets and zero-length intervals are skipped). */
export function intervalRates(samples: readonly CumulativeSample[]): IntervalRates[] {
  const out: IntervalRates[] = [];
  const t0 = samples[0]?.tMs ?? 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as CumulativeSample;
    const b = samples[i] as CumulativeSample;
    const dtS = (b.tMs - a.tMs) / 1000;
    if (!(dtS > 0)) continue;
    const deltas = b.values.map((v, k) => v - (a.values[k] ?? 0));
    if (deltas.some((d) => d < 0)) continue;
    out.push({ tS: (a.tMs + b.tMs) / 2000 - t0 / 1000, dtS, rates: deltas.map((d) => d / dtS) });
  }
  return out;
}

export interface ShareOptions {
  /**
   * Capacity of the shared resource in counter units per second (1 for one CPU with
   * counters in CPU seconds). When set, an interval counts only if the parties used
   * at least `minBusyFraction` of it together.
   */
  capacityPerS?: number;
  minBusyFraction?: number;
  /** An interval counts only if every party's rate is at least this (units/s). */
  minPartyRate: number;
  /** Drop this many counted intervals at each end (default 1). */
  trimEdges?: number;
}

export interface SharePoint {
  tS: number;
  /** Party A's share of what both got in this interval, percent. */
  aPct: number;
  rates: number[];
  /** Whether the interval counted for the overall figure. */
  counted: boolean;
}

export interface ShareResult {
  /** Party A's share of the total over the counted intervals, percent. */
  aPct: number;
  countedIntervals: number;
  countedSeconds: number;
  /** Mean rate of each party over the counted intervals. */
  meanRates: number[];
  series: SharePoint[];
}

/** Achieved share of party A (index 0) vs party B (index 1) from cumulative samples. */
export function achievedShare(samples: readonly CumulativeSample[], o: ShareOptions): ShareResult {
  const rates = intervalRates(samples);
  const eligible = rates.map((r) => {
    const [a = 0, b = 0] = r.rates;
    if (a < o.minPartyRate || b < o.minPartyRate) return false;
    if (o.capacityPerS !== undefined && a + b < (o.minBusyFraction ?? 0.8) * o.capacityPerS) return false;
    return true;
  });
  const trim = o.trimEdges ?? 1;
  const idx = eligible.flatMap((e, i) => (e ? [i] : []));
  const kept = new Set(idx.length > 2 * trim ? idx.slice(trim, idx.length - trim) : idx);
  let sumA = 0;
  let sumB = 0;
  let secs = 0;
  const series: SharePoint[] = rates.map((r, i) => {
    const [a = 0, b = 0] = r.rates;
    const counted = kept.has(i);
    if (counted) {
      sumA += a * r.dtS;
      sumB += b * r.dtS;
      secs += r.dtS;
    }
    return {
      tS: round(r.tS, 3),
      aPct: a + b > 0 ? round((100 * a) / (a + b), 2) : 0,
      rates: r.rates.map((x) => round(x, 4)),
      counted,
    };
  });
  if (kept.size === 0 || sumA + sumB <= 0) {
    const busy = o.capacityPerS !== undefined ? ' and the resource busy' : '';
    throw new Error(
      `no sampling interval had both parties active${busy} (${rates.length} intervals): ` +
        'nothing to compute a share from',
    );
  }
  return {
    aPct: (100 * sumA) / (sumA + sumB),
    countedIntervals: kept.size,
    countedSeconds: secs,
    meanRates: [sumA / secs, sumB / secs],
    series,
  };
}

export interface CapResult {
  /** Mean rate over the counted intervals (counter units/s). */
  meanRate: number;
  countedIntervals: number;
  series: Array<{ tS: number; rate: number; counted: boolean }>;
}

/** Mean rate of one party over the intervals it was active in (edges trimmed), for hard caps. */
export function achievedRate(samples: readonly CumulativeSample[], minRate: number, trimEdges = 1): CapResult {
  const rates = intervalRates(samples);
  const idx = rates.flatMap((r, i) => ((r.rates[0] ?? 0) >= minRate ? [i] : []));
  const kept = new Set(idx.length > 2 * trimEdges ? idx.slice(trimEdges, idx.length - trimEdges) : idx);
  let sum = 0;
  let secs = 0;
  const series = rates.map((r, i) => {
    const v = r.rates[0] ?? 0;
    if (kept.has(i)) {
      sum += v * r.dtS;
      secs += r.dtS;
    }
    return { tS: round(r.tS, 3), rate: round(v, 4), counted: kept.has(i) };
  });
  if (secs <= 0) throw new Error(`the capped party was never active (${rates.length} intervals)`);
  return { meanRate: sum / secs, countedIntervals: kept.size, series };
}

/** Absolute difference between achieved and target, in percentage points. */
export function errorPp(achievedPct: number, targetPct: number): number {
  return Math.abs(achievedPct - targetPct);
}

/** Relative error of a rate against a cap, percent of the cap (positive: above the cap). */
export function capErrorPct(achieved: number, cap: number): number {
  if (!(cap > 0)) throw new Error(`cap must be positive, got ${cap}`);
  return (100 * (achieved - cap)) / cap;
}

/**
 * A percentage split (e.g. [80, 20]) as cgroup v2 CPU weights (1..10000) with the
 * same ratio, scaled so the smaller one stays well above the minimum.
 */
export function splitToWeights(split: readonly [number, number]): [number, number] {
  const [a, b] = split;
  if (!(a > 0 && b > 0)) throw new Error(`split parts must be positive: ${a}:${b}`);
  const scale = 1000 / Math.max(a, b);
  return [Math.max(1, Math.round(a * scale)), Math.max(1, Math.round(b * scale))];
}

/** A budget divided by a percentage split, rounded, each part at least 1. */
export function splitBudget(budget: number, split: readonly [number, number]): [number, number] {
  const [a, b] = split;
  const sum = a + b;
  return [Math.max(1, Math.round((budget * a) / sum)), Math.max(1, Math.round((budget * b) / sum))];
}

/** Target share of party A, percent. */
export function targetPct(split: readonly [number, number]): number {
  return (100 * split[0]) / (split[0] + split[1]);
}

/**
 * How much worse a figure got with a neighbour, percent of the figure alone
 * (positive = worse), for higher-is-better and lower-is-better figures.
 */
export function degradationPct(alone: number, withNeighbor: number, higherIsBetter = true): number {
  if (!(alone > 0)) throw new Error(`figure alone must be positive, got ${alone}`);
  return higherIsBetter ? (100 * (alone - withNeighbor)) / alone : (100 * (withNeighbor - alone)) / alone;
}

/**
 * Read counters every intervalMs while `work` runs (and once before and after).
 * A read that fails is skipped; the samples carry monotonic timestamps.
 */
export async function sampleWhile<T>(
  work: Promise<T>,
  read: () => Promise<number[]>,
  intervalMs: number,
): Promise<{ result: T; samples: CumulativeSample[] }> {
  const t0 = performance.now();
  const samples: CumulativeSample[] = [];
  const take = async (): Promise<void> => {
    try {
      const values = await read();
      samples.push({ tMs: performance.now() - t0, values });
    } catch {
      /* a missed sample only widens one interval */
    }
  };
  let done = false;
  const settled = work.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  settled.catch(() => undefined);
  await take();
  const loop = (async () => {
    let next = performance.now() + intervalMs;
    while (!done) {
      const wait = next - performance.now();
      if (wait > 0) await Promise.race([sleep(wait), settled.catch(() => undefined)]);
      if (done) break;
      await take();
      next += intervalMs;
    }
  })();
  try {
    const result = await settled;
    return { result, samples };
  } finally {
    await loop;
    await take();
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
