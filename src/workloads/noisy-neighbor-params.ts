/**
 * The noisy-neighbour workload's vocabulary: the neighbour kinds, the
 * mechanisms that can hold each, the parameters (zod schema) and the metric
 * declarations they produce, plus the kept-percent arithmetic (pure).
 */
import { z } from 'zod';
import type { MetricDecl, WorkloadContext } from './types.js';
import type { CapabilityId } from '../host/capabilities.js';

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

/**
 * The host capability each mechanism needs (host/capabilities.ts); CPU weights and quotas need only the cpu
 * controller.
 */
export const MECHANISM_NEEDS: Record<Mechanism, CapabilityId | undefined> = {
  'cpu-weight': undefined,
  'cpu-cap': undefined,
  'io-weight': 'disk-weights',
  'io-throttle': 'disk-caps',
  tc: 'tc-shaping',
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
export type NoisyNeighborCtx = WorkloadContext<NoisyNeighborParams>;

/** Unit of each kind's victim figure. */
export const UNITS: Record<NeighborKind, string> = {
  cpu: 'events/s',
  memory: 'MiB/s',
  disk: 'IOPS',
  network: 'Mbit/s',
};
const WHAT: Record<NeighborKind, string> = {
  cpu: 'sysbench cpu events/s (1 thread)',
  memory: 'sysbench memory sequential read MiB/s',
  disk: 'fio 4 KiB random read IOPS, O_DIRECT',
  network: 'iperf3 into the instance, Mbit/s',
};
const MECH_TEXT: Record<Mechanism, string> = {
  'cpu-weight': 'neighbour held by CPU weights (soft)',
  'cpu-cap': 'neighbour held by a CPU quota (hard)',
  'io-weight': 'neighbour held by io weights (soft: bfq or io.cost)',
  'io-throttle': 'neighbour held by an IOPS throttle (hard)',
  tc: 'neighbour held by a tc rate cap on its link (hard)',
};

/** The metrics of one kind: alone, beside the unrestrained neighbour, and beside each mechanism that holds it. */
export function decls(kind: NeighborKind): MetricDecl[] {
  return [
    {
      name: `${kind}-alone`,
      unit: UNITS[kind],
      higherIsBetter: true,
      description: `victim ${WHAT[kind]}, alone (mean of a run before and after the others)`,
    },
    {
      name: `${kind}-alone-spread-pct`,
      unit: '%',
      higherIsBetter: false,
      description:
        'difference between the two alone runs of the victim, percent of their mean ' +
        `(the host's noise floor for the ${kind} figures)`,
    },
    {
      name: `${kind}-with-neighbor`,
      unit: UNITS[kind],
      higherIsBetter: true,
      description: `victim ${WHAT[kind]}, beside an unrestrained neighbour of the same kind`,
    },
    {
      name: `${kind}-degradation-pct`,
      unit: '%',
      higherIsBetter: false,
      description: `victim ${kind} figure lost to the unrestrained neighbour, percent of the figure alone`,
    },
    {
      name: `${kind}-kept-pct-unrestrained`,
      unit: '%',
      higherIsBetter: true,
      description: `victim ${kind} figure beside the unrestrained neighbour, percent of alone`,
    },
    ...MECHANISMS_FOR[kind].flatMap((m): MetricDecl[] => [
      {
        name: `${kind}-with-${m}`,
        unit: UNITS[kind],
        higherIsBetter: true,
        description: `victim ${WHAT[kind]}, ${MECH_TEXT[m]}`,
      },
      {
        name: `${kind}-kept-pct-${m}`,
        unit: '%',
        higherIsBetter: true,
        description: `victim ${kind} figure with the ${MECH_TEXT[m]}, percent of alone (100: fully protected)`,
      },
    ]),
  ];
}
