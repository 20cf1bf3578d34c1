/**
 * `extra` of the startup workload (src/workloads/startup.ts): the start-up
 * definition (one for every backend), how this backend's payload signalled,
 * and each start's stages in ms.
 */
import { z } from 'zod';
import { measured, type ExtraSchemas } from './common.js';

export const startupExtra = z.looseObject({
  definition: z.string().optional(),
  signal: z.string().optional(),
  starts: z
    .array(
      z.looseObject({
        start: z.number().optional(),
        startupMs: measured.optional(),
        stages: z.record(z.string(), measured.optional()).optional(),
      }),
    )
    .optional(),
});

export const startupExtras = { startup: startupExtra } as const satisfies ExtraSchemas;
