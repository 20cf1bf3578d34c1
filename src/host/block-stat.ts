/**
 * Device-wide block I/O counters (/sys/block/<dev>/stat): the fallback evidence
 * that reads reached a device when a cgroup's own counters are missing or empty,
 * and the host's list of real disks (what a no-op cgroup v1 throttle rule is set
 * on so that the cgroup's counters count). Pure parsers plus readers that take
 * the sysfs root, so tests run them on fixture trees.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface DeviceReads {
  /** "major:minor" */
  majMin: string;
  /** /sys/block name (vda, nvme0n1, loop3). */
  name: string;
  readIos: number;
  readBytes: number;
}

/**
 * One /sys/block/<dev>/stat line (Documentation/block/stat.rst): field 1 is read
 * I/Os, field 3 sectors read, always in 512-byte units whatever the device's
 * sector size. Throws on text that is not a stat line.
 */
export function parseBlockStat(text: string): { readIos: number; readBytes: number } {
  const f = text.trim().split(/\s+/).map(Number);
  if (f.length < 4 || f.slice(0, 4).some((x) => !Number.isFinite(x))) {
    throw new Error(`not a /sys/block/<dev>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { readIos: f[0] as number, readBytes: (f[2] as number) * 512 };
}

/** Devices that are not disks of their own: loop (counted again on the disk below), RAM disks, zram. */
const VIRTUAL = /^(loop|ram|zram)\d+$/;

/** The host's real whole-disk devices with their major:minor (/sys/block minus loop, ram and zram). */
export async function realDisks(sys = '/sys'): Promise<Array<{ name: string; majMin: string }>> {
  const names = await fs.readdir(path.join(sys, 'block')).catch(() => [] as string[]);
  const out: Array<{ name: string; majMin: string }> = [];
  for (const name of names.sort()) {
    if (VIRTUAL.test(name)) continue;
    const dev = await fs.readFile(path.join(sys, 'block', name, 'dev'), 'utf8').catch(() => undefined);
    if (dev && /^\d+:\d+$/.test(dev.trim())) out.push({ name, majMin: dev.trim() });
  }
  return out;
}

/** Read counters of the given devices (a device whose stat cannot be read is left out). */
export async function deviceReads(
  devices: ReadonlyArray<{ name: string; majMin: string }>,
  sys = '/sys',
): Promise<DeviceReads[]> {
  const out: DeviceReads[] = [];
  for (const d of devices) {
    const text = await fs.readFile(path.join(sys, 'block', d.name, 'stat'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      out.push({ ...d, ...parseBlockStat(text) });
    } catch {
      /* a malformed stat file is no evidence */
    }
  }
  return out;
}

/** The device that read the most bytes between two snapshots, or undefined when no device is in both. */
export function busiestDeviceDelta(
  before: readonly DeviceReads[],
  after: readonly DeviceReads[],
): DeviceReads | undefined {
  let best: DeviceReads | undefined;
  for (const a of after) {
    const b = before.find((x) => x.majMin === a.majMin);
    if (!b) continue;
    const d = { ...a, readIos: a.readIos - b.readIos, readBytes: a.readBytes - b.readBytes };
    if (!best || d.readBytes > best.readBytes) best = d;
  }
  return best;
}
