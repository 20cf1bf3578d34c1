/**
 * `extra` of the density workload (src/workloads/density.ts): host memory at
 * each level of idle instances, the fitted marginal cost, the budget, where
 * the sweep stopped and KSM. Recorded even when the sweep ends in an error, so
 * only the baseline and the levels (possibly none) are always there.
 */
import { z } from 'zod';
import { measured, type ExtraSchemas } from './common.js';

export const densityLevelExtra = z.looseObject({ instances: z.number(), memAvailMiB: measured, pssSumMiB: measured });

const fit = z.looseObject({
  slope: measured.optional(),
  ci95: z.array(measured).nullable().optional(),
  n: measured.optional(),
});

/** KSM counters (/sys/kernel/mm/ksm): run 1 on, 0 off; pages_sharing merged pages. */
const ksmState = z.looseObject({ run: measured.optional(), pagesSharing: measured.optional() });

export const densityExtra = z.looseObject({
  baselineMemAvailMiB: measured,
  levels: z.array(densityLevelExtra),
  fit: z.looseObject({ pss: fit.optional(), memAvail: fit.optional() }).optional(),
  budget: z
    .looseObject({
      budgetMiB: measured.optional(),
      instancesInBudget: measured.optional(),
      projected: measured.optional(),
      projectedRange: z.array(measured).nullable().optional(),
    })
    .optional(),
  stopped: z.looseObject({ reason: z.string().optional(), detail: z.string().optional() }).optional(),
  ksm: z
    .looseObject({
      atStart: ksmState.nullable().optional(),
      measurement: z
        .looseObject({
          skipped: z.string().optional(),
          after: ksmState.optional(),
          memAvailMiB: measured.optional(),
          pssSumMiB: measured.optional(),
          settled: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
});

export const densityExtras = { density: densityExtra } as const satisfies ExtraSchemas;
