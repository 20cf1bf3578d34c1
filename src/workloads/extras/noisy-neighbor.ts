/**
 * `extra` of the noisy-neighbor workload (src/workloads/noisy-neighbor.ts), one
 * record per resource kind (`neighbor-<kind>`): the victim alone, beside an
 * unrestrained neighbour, and beside the neighbour held by each mechanism.
 */
import { z } from 'zod';
import { measured, type ExtraSchemas } from './common.js';

/**
 * The kinds the workload measures (its NEIGHBOR_KINDS; kept here so the schema does not import the workload
 * module).
 */
export const NEIGHBOUR_KINDS = ['cpu', 'memory', 'disk', 'network'] as const;

export const neighbourExtra = z.looseObject({
  unit: z.string().optional(),
  alone: measured,
  withNeighbor: measured,
  /** The spread of the victim's two alone runs, percent: the host's own noise. */
  aloneSpreadPct: measured.optional(),
  /** Per mechanism (cpu-weight, cpu-cap, io-weight, io-throttle, tc): what the victim kept and the setting used. */
  mechanisms: z
    .record(z.string(), z.looseObject({ keptPct: measured.optional(), setting: z.string().optional() }))
    .optional(),
  /** A resource no mechanism controls (memory bandwidth): why. */
  ownMechanism: z.string().optional(),
  order: z.string().optional(),
});

export const noisyNeighbourExtras = Object.fromEntries(
  NEIGHBOUR_KINDS.map((k) => [`neighbor-${k}`, neighbourExtra]),
) as Readonly<Record<`neighbor-${(typeof NEIGHBOUR_KINDS)[number]}`, typeof neighbourExtra>> satisfies ExtraSchemas;
