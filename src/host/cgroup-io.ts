/**
 * Block I/O control of a cgroup: hard caps (v1 blkio.throttle.*, v2 io.max),
 * proportional weights (bfq or io.cost), the per-device counters and their
 * parsers, and which mechanism works on this host. CgroupHandle's I/O methods
 * call these.
 */
import path from 'node:path';
import type { CgroupController, CgroupLayout } from './cgroup-layout.js';
import { readText, writeText } from './cgroup-fs.js';

/** Where a cgroup's files are: what the I/O functions need of a CgroupHandle. */
export interface CgroupPaths {
  readonly layout: CgroupLayout;
  readonly relPath: string;
  dir(controller: CgroupController): string | undefined;
}

export interface IoThrottle {
  /** Block device as "major:minor" (the whole disk, not a partition). */
  device: string;
  readIops?: number;
  writeIops?: number;
  readBps?: number;
  writeBps?: number;
}

export interface IoCounters {
  readIos: number;
  writeIos: number;
  readBytes: number;
  writeBytes: number;
}

function counters(m: Map<string, IoCounters>, dev: string): IoCounters {
  let c = m.get(dev);
  if (!c) {
    c = { readIos: 0, writeIos: 0, readBytes: 0, writeBytes: 0 };
    m.set(dev, c);
  }
  return c;
}

/** A weight file's default weight: "100", "default 100" (v2, with per-device lines after) -> 100. */
export function parseIoWeight(text: string): number | undefined {
  const m = /^(?:default\s+)?(\d+)\s*$/m.exec(text.trim().split('\n')[0] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** v1 blkio.throttle.io_serviced / io_service_bytes ("254:0 Read 12" lines). */
export function parseBlkioV1(serviced: string, bytes: string): Map<string, IoCounters> {
  const m = new Map<string, IoCounters>();
  for (const [text, unit] of [
    [serviced, 'ios'],
    [bytes, 'bytes'],
  ] as const) {
    for (const line of text.split('\n')) {
      const [dev, op, v] = line.trim().split(/\s+/);
      if (!dev || !/^\d+:\d+$/.test(dev) || !v || !/^\d+$/.test(v)) continue;
      const c = counters(m, dev);
      if (op === 'Read') c[unit === 'ios' ? 'readIos' : 'readBytes'] = Number(v);
      if (op === 'Write') c[unit === 'ios' ? 'writeIos' : 'writeBytes'] = Number(v);
    }
  }
  return m;
}

/** v2 io.stat ("254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" lines). */
export function parseIoStatV2(text: string): Map<string, IoCounters> {
  const m = new Map<string, IoCounters>();
  for (const line of text.split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev || !/^\d+:\d+$/.test(dev)) continue;
    const c = counters(m, dev);
    for (const item of kv) {
      const [k, v] = item.split('=');
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      if (k === 'rios') c.readIos = n;
      if (k === 'wios') c.writeIos = n;
      if (k === 'rbytes') c.readBytes = n;
      if (k === 'wbytes') c.writeBytes = n;
    }
  }
  return m;
}

/**
 * Which I/O partitioning mechanism works here. Proportional weights need a weight
 * file *and* a scheduler (or controller) that honours it: BFQ selected on the disk,
 * or io.cost enabled on cgroup v2. Otherwise only hard caps (throttle) work.
 */
export function chooseIoMechanism(o: {
  version: 1 | 2;
  weightFileExists: boolean;
  scheduler: string | null;
  ioCostEnabled: boolean;
}): { mechanism: 'weight' | 'throttle'; reason: string } {
  if (!o.weightFileExists)
    return {
      mechanism: 'throttle',
      reason:
        `no ${o.version === 2 ? 'io.weight' : 'blkio weight'} file in the cgroup: ` +
        `only hard caps (throttle) are available`,
    };
  if (o.scheduler === 'bfq')
    return { mechanism: 'weight', reason: 'BFQ is the disk scheduler: proportional weights take effect' };
  if (o.version === 2 && o.ioCostEnabled)
    return { mechanism: 'weight', reason: 'io.cost is enabled: io.weight takes effect' };
  return {
    mechanism: 'throttle',
    reason:
      `the disk scheduler is ${o.scheduler ?? 'unknown'}${o.version === 2 ? ' and io.cost is off' : ''}: ` +
      `weight files exist but would be ignored; using hard caps (throttle)`,
  };
}

/**
 * Hard I/O caps on one block device ("major:minor"): v1 `blkio.throttle.*_device`,
 * v2 `io.max`. A value of 0 (or undefined) removes that cap, so clearIoThrottle()
 * restores the default. Throttling sees the I/O a cgroup issues to the device
 * (O_DIRECT I/O; on v1 not buffered writeback).
 */
export async function setIoThrottle(cg: CgroupPaths, t: IoThrottle): Promise<void> {
  if (!/^\d+:\d+$/.test(t.device))
    throw new Error(`bad block device ${JSON.stringify(t.device)}: expected major:minor`);
  const n = (v: number | undefined): number => (v === undefined || !Number.isFinite(v) || v <= 0 ? 0 : Math.round(v));
  if (cg.layout.version === 2) {
    const dir = path.join(cg.layout.root, cg.relPath);
    const v = (x: number | undefined): string => (n(x) === 0 ? 'max' : String(n(x)));
    await writeText(
      path.join(dir, 'io.max'),
      `${t.device} riops=${v(t.readIops)} wiops=${v(t.writeIops)} rbps=${v(t.readBps)} wbps=${v(t.writeBps)}`,
    );
    return;
  }
  const dir = cg.dir('blkio');
  if (!dir) throw new Error('the blkio controller is not mounted: no I/O throttling on this host');
  const files: Array<[string, number | undefined]> = [
    ['blkio.throttle.read_iops_device', t.readIops],
    ['blkio.throttle.write_iops_device', t.writeIops],
    ['blkio.throttle.read_bps_device', t.readBps],
    ['blkio.throttle.write_bps_device', t.writeBps],
  ];
  for (const [f, v] of files) await writeText(path.join(dir, f), `${t.device} ${n(v)}`);
}

/** Remove every cap setIoThrottle() put on the device. */
export function clearIoThrottle(cg: CgroupPaths, device: string): Promise<void> {
  return setIoThrottle(cg, { device });
}

/** Caps currently set on each device (only devices with a cap appear). */
export async function readIoThrottle(cg: CgroupPaths): Promise<IoThrottle[]> {
  const by = new Map<string, IoThrottle>();
  const get = (d: string): IoThrottle => by.get(d) ?? (by.set(d, { device: d }).get(d) as IoThrottle);
  if (cg.layout.version === 2) {
    const text = await readText(path.join(cg.layout.root, cg.relPath, 'io.max'));
    for (const line of (text ?? '').split('\n')) {
      const [dev, ...kv] = line.trim().split(/\s+/);
      if (!dev || !/^\d+:\d+$/.test(dev)) continue;
      for (const item of kv) {
        const [k, v] = item.split('=');
        if (!v || v === 'max') continue;
        const key = ({ riops: 'readIops', wiops: 'writeIops', rbps: 'readBps', wbps: 'writeBps' } as const)[
          k as 'riops'
        ];
        if (key) get(dev)[key] = Number(v);
      }
    }
    return [...by.values()];
  }
  const dir = cg.dir('blkio');
  if (!dir) return [];
  const files = [
    ['blkio.throttle.read_iops_device', 'readIops'],
    ['blkio.throttle.write_iops_device', 'writeIops'],
    ['blkio.throttle.read_bps_device', 'readBps'],
    ['blkio.throttle.write_bps_device', 'writeBps'],
  ] as const;
  for (const [f, key] of files) {
    for (const line of ((await readText(path.join(dir, f))) ?? '').split('\n')) {
      const [dev, v] = line.trim().split(/\s+/);
      if (dev && v && /^\d+:\d+$/.test(dev) && Number(v) > 0) get(dev)[key] = Number(v);
    }
  }
  return [...by.values()];
}

/**
 * I/O this cgroup issued per block device ("major:minor"), cumulative: v1
 * `blkio.throttle.io_serviced` + `io_service_bytes`, v2 `io.stat`.
 */
export async function ioStats(cg: CgroupPaths): Promise<Map<string, IoCounters>> {
  if (cg.layout.version === 2)
    return parseIoStatV2((await readText(path.join(cg.layout.root, cg.relPath, 'io.stat'))) ?? '');
  const dir = cg.dir('blkio');
  if (!dir) return new Map();
  return parseBlkioV1(
    (await readText(path.join(dir, 'blkio.throttle.io_serviced'))) ?? '',
    (await readText(path.join(dir, 'blkio.throttle.io_service_bytes'))) ?? '',
  );
}

/**
 * Set a proportional I/O weight and return the file written: v1 `blkio.bfq.weight`
 * (1..1000, bfq); v2 `io.bfq.weight` (1..1000) when bfq's file exists, else
 * `io.weight` (1..10000, io.cost).
 */
export async function setIoWeight(cg: CgroupPaths, weight: number): Promise<string> {
  const bfq = String(Math.max(1, Math.min(1000, Math.round(weight))));
  if (cg.layout.version === 2) {
    const dir = path.join(cg.layout.root, cg.relPath);
    if ((await readText(path.join(dir, 'io.bfq.weight'))) !== undefined) {
      await writeText(path.join(dir, 'io.bfq.weight'), bfq);
      return 'io.bfq.weight';
    }
    await writeText(path.join(dir, 'io.weight'), `default ${Math.max(1, Math.min(10_000, Math.round(weight)))}`);
    return 'io.weight';
  }
  const dir = cg.dir('blkio');
  if (!dir) throw new Error('the blkio controller is not mounted');
  await writeText(path.join(dir, 'blkio.bfq.weight'), bfq);
  return 'blkio.bfq.weight';
}

/** The default proportional I/O weight as read back (bfq's file first), or undefined. */
export async function readIoWeight(cg: CgroupPaths): Promise<number | undefined> {
  const files =
    cg.layout.version === 2
      ? [path.join(cg.layout.root, cg.relPath, 'io.bfq.weight'), path.join(cg.layout.root, cg.relPath, 'io.weight')]
      : [path.join(cg.dir('blkio') ?? '/nonexistent', 'blkio.bfq.weight')];
  for (const f of files) {
    const t = await readText(f);
    if (t !== undefined) return parseIoWeight(t);
  }
  return undefined;
}

/** Whether a weight file exists for this cgroup (it takes effect only with BFQ or io.cost: see chooseIoMechanism). */
export async function ioWeightFileExists(cg: CgroupPaths): Promise<boolean> {
  const files =
    cg.layout.version === 2
      ? [path.join(cg.layout.root, cg.relPath, 'io.bfq.weight'), path.join(cg.layout.root, cg.relPath, 'io.weight')]
      : [path.join(cg.dir('blkio') ?? '/nonexistent', 'blkio.bfq.weight')];
  for (const f of files) if ((await readText(f)) !== undefined) return true;
  return false;
}
