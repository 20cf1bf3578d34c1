/**
 * The partition workload's parameters (zod schema, defaults and bounds) and the
 * context type its phases share.
 */
import { z } from 'zod';
import type { WorkloadContext } from './types.js';

const splitSchema = z.tuple([z.number().int().min(1).max(99), z.number().int().min(1).max(99)]);

export const partitionParams = z
  .object({
    /** Which resources to partition in each repetition. */
    resources: z.array(z.enum(['cpu', 'disk', 'network'])).min(1).default(['cpu', 'disk', 'network']),
    /** Target split A:B in percent (weights or budgets in this ratio). */
    split: splitSchema.default([80, 20]),
    /** Counter sampling interval (ms) for the share-over-time series. */
    sampleMs: z.number().int().min(50).max(5000).default(250),
    cpu: z
      .object({
        seconds: z.number().int().min(2).max(600).default(6),
        capPercent: z.number().min(5).max(95).default(50),
        capSeconds: z.number().int().min(2).max(600).default(4),
      })
      .strict()
      .prefault({}),
    disk: z
      .object({
        seconds: z.number().int().min(2).max(600).default(5),
        /** Seconds of A alone with the weights set (the work-conserving check). */
        aloneSeconds: z.number().int().min(2).max(600).default(3),
        capIops: z.number().int().min(10).max(10_000_000).default(400),
        fileMiB: z.number().int().min(4).max(65_536).default(64),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        seconds: z.number().int().min(2).max(300).default(5),
        /** Rate of the shaped link the split divides. */
        linkMbit: z.number().int().min(1).max(100_000).default(200),
        capMbit: z.number().int().min(1).max(100_000).default(100),
        port: z.number().int().min(1024).max(65_535).default(5231),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type PartitionParams = z.infer<typeof partitionParams>;
export type PartitionCtx = WorkloadContext<PartitionParams>;
