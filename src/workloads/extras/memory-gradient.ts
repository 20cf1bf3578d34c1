/**
 * `extra` of the memory-gradient workload (src/workloads/memory-gradient.ts):
 * each step's working set, how the limited run ended and its throughput, and
 * the same step in the control instance (no effective limit).
 */
import { z } from 'zod';
import { measured, type ExtraSchemas } from './common.js';

export const gradientStepExtra = z.looseObject({
  /** Working set in % of the limit. */
  pct: z.number(),
  /** ok, oom-killed, killed, alloc-failed, timeout, error. */
  outcome: z.string(),
  mibPerS: measured.optional(),
  /** limited / control throughput, percent (both completed; absent in runs without a control). */
  ratioPct: measured.optional(),
  /** The working set in % of the usable memory measured inside the limited instance. */
  pctOfUsable: measured.optional(),
  control: z.looseObject({ outcome: z.string().optional(), mibPerS: measured.optional() }).optional(),
});

export const memoryGradientExtra = z.looseObject({
  limitMiB: z.number().optional(),
  /** Memory the limited instance can use, measured inside it. */
  usableMiB: measured.optional(),
  steps: z.array(gradientStepExtra),
});

export const memoryGradientExtras = { 'memory-gradient': memoryGradientExtra } as const satisfies ExtraSchemas;
