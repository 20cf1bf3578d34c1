/**
 * The disk workload's "did the reads reach the device" evidence, from the best
 * source this host has, and never a zero for a check that could not be made.
 *
 * Sources, in order:
 *  1. the instance cgroup's own per-device counters (v1 blkio.throttle.io_service_bytes,
 *     v2 io.stat). On cgroup v1 they count only on devices that have a throttle rule
 *     in that cgroup (measured on kernel 6.18: `[]` before and after a fio run without
 *     one), so a no-op rule (an IOPS limit no device reaches) is set on every real disk
 *     for the measurement, the same on every backend, and removed after it. Counters
 *     that still show no real device are missing evidence, not a zero.
 *  2. the device-wide /sys/block/<dev>/stat of the busiest real disk across the run:
 *     other host I/O is included (so a figure can only read high, never falsely low
 *     because of it), and the source is named next to the figure.
 *  3. none: the figure reads "device reach not checked".
 */
import type { Instance } from '../backends/types.js';
import { busiestDeviceDelta, deviceReads, realDisks, type DeviceReads } from '../host/block-stat.js';
import { hasCapability, type HostCapabilities } from '../host/capabilities.js';
import type { IoCounters } from '../host/cgroup.js';

export type DeviceCheckSource = 'cgroup' | 'device-stat' | 'none';

export interface DeviceCheckSnapshots {
  /** The instance cgroup's counters, or undefined with the reason they were not read. */
  cgroupBefore?: Map<string, IoCounters>;
  cgroupAfter?: Map<string, IoCounters>;
  cgroupWhyNot?: string;
  statBefore: DeviceReads[];
  statAfter: DeviceReads[];
}

export interface DeviceCheckDecision {
  source: DeviceCheckSource;
  /** Why this source (and not a better one). */
  why: string;
  /** The busiest device and the bytes it read (absent with source none). */
  device?: string;
  bytes?: number;
  reads?: number;
}

/** Block major number of loop devices (Documentation/admin-guide/devices.txt). */
const LOOP_MAJOR = '7';

/**
 * Read requests on the busiest real device between two snapshots of a cgroup's
 * per-device counters. Loop devices are skipped: a read of a loop device counts
 * again on the disk below only when it reaches that disk (a loop device without
 * direct I/O serves it from the backing file's page cache instead).
 */
export function deviceReadDelta(
  before: Map<string, IoCounters>,
  after: Map<string, IoCounters>,
): { device: string; reads: number; bytes: number } | undefined {
  let best: { device: string; reads: number; bytes: number } | undefined;
  for (const [device, a] of after) {
    if (device.split(':')[0] === LOOP_MAJOR) continue;
    const b = before.get(device);
    const bytes = a.readBytes - (b?.readBytes ?? 0);
    const reads = a.readIos - (b?.readIos ?? 0);
    if (!best || bytes > best.bytes) best = { device, reads, bytes };
  }
  return best;
}

/** Pick the evidence (pure): the cgroup's counters when they saw a real device, else the device-wide ones. */
export function decideDeviceCheck(s: DeviceCheckSnapshots): DeviceCheckDecision {
  let cgroupWhy = s.cgroupWhyNot ?? 'the cgroup counters were not read';
  if (s.cgroupBefore && s.cgroupAfter) {
    const d = deviceReadDelta(s.cgroupBefore, s.cgroupAfter);
    if (d)
      return {
        source: 'cgroup',
        why: "the instance cgroup's own counters",
        device: d.device,
        bytes: d.bytes,
        reads: d.reads,
      };
    cgroupWhy =
      `the instance cgroup's counters listed no real block device ` +
      `(before: ${s.cgroupBefore.size} entries, after: ${s.cgroupAfter.size}): missing evidence, not zero reads`;
  }
  const dev = busiestDeviceDelta(s.statBefore, s.statAfter);
  if (dev) {
    return {
      source: 'device-stat',
      why: `${cgroupWhy}; used the device-wide /sys/block/${dev.name}/stat instead (other host I/O included)`,
      device: dev.majMin,
      bytes: dev.readBytes,
      reads: dev.readIos,
    };
  }
  return { source: 'none', why: `${cgroupWhy}; and no /sys/block/<dev>/stat could be read` };
}

/**
 * Start collecting the evidence for one fio run: no-op throttle rules on a v1 cgroup
 * (so its counters count), then the first snapshots. `finish()` takes the second
 * snapshots and removes the rules; call it in finally as well (idempotent).
 */
export async function startDeviceCheck(
  instance: Instance,
  caps: HostCapabilities,
  sys = '/sys',
): Promise<{ finish(): Promise<DeviceCheckSnapshots>; notes: string[] }> {
  const cg = instance.cgroup;
  const disks = await realDisks(sys);
  const notes: string[] = [];
  let cgroupWhyNot: string | undefined;
  if (!hasCapability(caps, 'block-counters'))
    cgroupWhyNot = 'this host has no per-cgroup block counters (see host capabilities)';
  else if (!cg) cgroupWhyNot = 'the instance has no cgroup';
  else if (cg.layout.version === 1 && !cg.dir('blkio')) cgroupWhyNot = 'the blkio controller is not mounted';
  const useCgroup = cgroupWhyNot === undefined && cg !== undefined;
  const ruled: string[] = [];
  if (useCgroup && cg.layout.version === 1) {
    for (const d of disks) {
      try {
        await cg.setIoThrottle({ device: d.majMin, readIops: 1e12, writeIops: 1e12 });
        ruled.push(d.majMin);
      } catch (e) {
        notes.push(`no-op throttle rule on ${d.name} (${d.majMin}) not set: ${(e as Error).message}`);
      }
    }
    if (ruled.length)
      notes.push(`no-op throttle rules (1e12 IOPS) set on ${ruled.join(', ')} so the v1 counters count`);
  }
  const cgroupBefore = useCgroup ? await cg.ioStats() : undefined;
  const statBefore = await deviceReads(disks, sys);
  let done: DeviceCheckSnapshots | undefined;
  return {
    notes,
    async finish() {
      if (done) return done;
      const cgroupAfter = useCgroup ? await cg.ioStats().catch(() => undefined) : undefined;
      const statAfter = await deviceReads(disks, sys);
      for (const dev of ruled) await cg?.clearIoThrottle(dev).catch(() => undefined);
      done = {
        ...(cgroupBefore && cgroupAfter ? { cgroupBefore, cgroupAfter } : {}),
        ...(cgroupWhyNot ? { cgroupWhyNot } : {}),
        statBefore,
        statAfter,
      };
      return done;
    },
  };
}
