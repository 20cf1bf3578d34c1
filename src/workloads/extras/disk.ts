import { z } from 'zod';
import { environmentExtra, type ExtraSchemas } from './common.js';

/**
 * `extra.deviceCheck` (disk): which evidence the device check used (the instance
 * cgroup's counters, the device-wide /sys/block stat, or none) and why.
 */
export const deviceCheckExtra = z.looseObject({
  source: z.enum(['cgroup', 'device-stat', 'none']),
  why: z.string(),
  device: z.string().nullable(),
  deviceReadBytes: z.number().nullable(),
  fioReadBytes: z.number(),
  rawLog: z.string(),
});

export const diskExtras = {
  environment: environmentExtra,
  deviceCheck: deviceCheckExtra,
} as const satisfies ExtraSchemas;
