/**
 * The partition workload's parameters (zod schema, defaults and bounds) and the
 * context type its phases share.
 */
import { z } from 'zod';
import type { WorkloadContext } from './types.js';
import { hasCapability, type CapabilityId, type HostCapabilities } from '../host/capabilities.js';

const splitSchema = z.tuple([z.number().int().min(1).max(99), z.number().int().min(1).max(99)]);

export const partitionParams = z
  .object({
    /** Which resources to partition in each repetition. */
    resources: z
      .array(z.enum(['cpu', 'disk', 'network']))
      .min(1)
      .default(['cpu', 'disk', 'network']),
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

/** A part the host cannot run: its name, the metric prefix or names it would have produced, the capability it lacks. */
export interface SkippedPart {
  part: string;
  metrics: string[];
  capability: CapabilityId;
}

/** Which parts of the partition this host can run (pure: from the capability model), and what it skips. */
export interface PartitionPlan {
  cpu: boolean;
  network: boolean;
  /** The weighted split and its work-conserving check. */
  diskShare: boolean;
  diskCap: boolean;
  /**
   * Where the disk figures are counted: per cgroup, or on isobench's own device (exact only with one instance doing
   * I/O).
   */
  diskCounters: 'cgroup' | 'device';
  skipped: SkippedPart[];
}

export const DISK_SHARE_METRICS = [
  'disk-share-a-pct',
  'disk-share-error-pp',
  'disk-a-iops',
  'disk-b-iops',
  'disk-a-alone-iops',
  'disk-a-alone-pct',
];
export const DISK_CAP_METRICS = ['disk-cap-iops', 'disk-cap-error-pct'];
export const NET_METRICS = [
  'net-share-a-pct',
  'net-share-error-pp',
  'net-a-mbps',
  'net-b-mbps',
  'net-cap-mbps',
  'net-cap-error-pct',
];

export function planPartition(resources: readonly string[], caps: HostCapabilities): PartitionPlan {
  const want = new Set(resources);
  const has = (id: CapabilityId): boolean => hasCapability(caps, id);
  const skipped: SkippedPart[] = [];
  const network = want.has('network') && has('tc-shaping');
  if (want.has('network') && !network)
    skipped.push({ part: 'network share and cap', metrics: NET_METRICS, capability: 'tc-shaping' });
  const perCgroup = has('block-counters');
  const diskShare = want.has('disk') && has('disk-weights') && perCgroup;
  const diskCap = want.has('disk') && has('disk-caps');
  if (want.has('disk') && !diskShare) {
    const capability: CapabilityId = has('disk-weights') ? 'block-counters' : 'disk-weights';
    skipped.push({ part: 'disk share and work-conserving check', metrics: DISK_SHARE_METRICS, capability });
  }
  if (want.has('disk') && !diskCap)
    skipped.push({ part: 'disk cap', metrics: DISK_CAP_METRICS, capability: 'disk-caps' });
  return { cpu: want.has('cpu'), network, diskShare, diskCap, diskCounters: perCgroup ? 'cgroup' : 'device', skipped };
}
