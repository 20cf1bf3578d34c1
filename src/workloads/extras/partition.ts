/**
 * `extra` of the partition workload (src/workloads/partition.ts): per resource
 * the share of A against its target (A and B busy) and the hard cap on A alone,
 * each with its time series, as the report draws them.
 */
import { z } from 'zod';
import { measured, metricFailuresExtra, type ExtraSchemas } from './common.js';

/** One sampling interval of a share: A's part of A + B, percent; `counted` false outside the counted window. */
const sharePoint = z.looseObject({ tS: measured, aPct: measured, counted: z.boolean().optional() });
/** One sampling interval of a capped rate, in the record's seriesUnit. */
const ratePoint = z.looseObject({ tS: measured, rate: measured, counted: z.boolean().optional() });

const shareFields = {
  mechanism: z.string().optional(),
  targetPct: z.number(),
  achievedPct: measured,
  weights: z.array(z.number()).optional(),
  series: z.array(sharePoint),
  rawLog: z.string().optional(),
};

export const cpuShareExtra = z.looseObject(shareFields);
export const netShareExtra = z.looseObject(shareFields);

/** A disk share the workload could not measure (no weights that take effect here), and why. */
const diskShareNotMeasured = z.looseObject({ notMeasured: z.string(), device: z.string().optional() });
const diskShareMeasured = z.looseObject({
  ...shareFields,
  /** Why this mechanism (e.g. the scheduler ignores weights). */
  mechanismReason: z.string().optional(),
  /** Throttle "shares" (older runs): the IOPS caps of A and B. */
  capsIops: z.array(z.number()).optional(),
  /** Does an idle B lend its share to A? Older files carry only `pass`. */
  workConserving: z
    .looseObject({
      alonePct: measured.optional(),
      thresholdPct: measured.optional(),
      verdict: z.string().optional(),
      pass: z.boolean().optional(),
    })
    .optional(),
});
export const diskShareExtra = z.union([diskShareNotMeasured, diskShareMeasured]);

const capFields = {
  mechanism: z.string().optional(),
  series: z.array(ratePoint),
  seriesUnit: z.string().optional(),
  rawLog: z.string().optional(),
};
export const cpuCapExtra = z.looseObject({ ...capFields, capPct: z.number(), achievedPct: measured.optional() });
export const diskCapExtra = z.looseObject({ ...capFields, capIops: z.number(), iops: measured.optional() });
export const netCapExtra = z.looseObject({ ...capFields, capMbit: z.number(), iperfMbps: measured.optional() });

export const partitionExtras = {
  'cpu-share': cpuShareExtra,
  'cpu-cap': cpuCapExtra,
  'disk-share': diskShareExtra,
  'disk-cap': diskCapExtra,
  'net-share': netShareExtra,
  'net-cap': netCapExtra,
  metricFailures: metricFailuresExtra,
} as const satisfies ExtraSchemas;
