/**
 * A block device isobench owns, for the weighted disk partition: a loop device over
 * a sparse backing file, attached with direct I/O (`losetup --direct-io=on`: the
 * loop driver then reads and writes its backing file with O_DIRECT, so I/O reaches
 * the device below instead of the page cache), switched to the bfq scheduler (its
 * per-cgroup weights are what a work-conserving split needs), with an ext4 on it
 * mounted on a private directory where instances' scratch disks are placed.
 *
 * Only this device's scheduler is changed: never the host disk's. Everything is
 * undone by release() (unmount, detach, delete the file), which never throws.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, runOk } from '../util/proc.js';
import { capability, type HostCapabilities } from './capabilities.js';
import type { CgroupLayout } from './cgroup-layout.js';

export interface OwnedLoopDevice {
  /** /dev/loopN */
  device: string;
  /** "major:minor" as cgroup files name devices. */
  majMin: string;
  /** Where its filesystem is mounted. */
  mountDir: string;
  /** The scheduler active after the switch (from /sys/block/loopN/queue/scheduler). */
  scheduler: string | null;
  /** Whether the loop driver does direct I/O on the backing file (/sys/block/loopN/loop/dio). */
  directIo: boolean;
  /** bfq's strict_guarantees as read back (undefined: not bfq, or the file is missing). */
  strictGuarantees: boolean | undefined;
  backingFile: string;
  release(): Promise<void>;
}

/** The active scheduler from a /sys/block/X/queue/scheduler text ("none [bfq] kyber"), or null. */
export function activeScheduler(text: string): string | null {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? null;
}

/** The loop device's sysfs name from its /dev path (/dev/loop7 -> loop7). */
export function loopName(device: string): string {
  const m = /^\/dev\/(loop\d+)$/.exec(device.trim());
  if (!m?.[1]) throw new Error(`losetup returned ${JSON.stringify(device)}, not a /dev/loopN path`);
  return m[1];
}

/**
 * Create, attach (direct I/O), switch to `scheduler`, format and mount. The caller
 * must call release() (in finally). Throws with the failing step's message; what
 * was created up to then is released first.
 */
export async function createOwnedLoopDevice(o: {
  sizeMiB: number;
  /** Switch the device to this scheduler (bfq for weights); undefined: keep the device's own. */
  scheduler?: string;
  strictGuarantees?: boolean;
  /** cgroup v2 root: enable io.cost on this device only (its io.weight then takes effect), undone by release(). */
  ioCostRoot?: string;
  parentDir?: string;
  owner?: string;
}): Promise<OwnedLoopDevice> {
  // The owner (an instance name, which carries the run's short id) is in the folder's name, so
  // `doctor --cleanup` knows whose it is: a live run's device is never taken for a leftover.
  const owner = (o.owner ?? '').replace(/[^A-Za-z0-9-]/g, '').slice(0, 40);
  const dir = await fs.mkdtemp(path.join(o.parentDir ?? os.tmpdir(), `isobench-${owner ? `${owner}-` : ''}partdisk-`));
  const backingFile = path.join(dir, 'device.img');
  const mountDir = path.join(dir, 'mnt');
  let device: string | undefined;
  let mounted = false;
  let originalScheduler: string | undefined;
  let ioCostOn: string | undefined;
  const release = async (): Promise<void> => {
    if (mounted) await run(['umount', mountDir], { timeoutMs: 60_000 }).catch(() => undefined);
    mounted = false;
    if (ioCostOn && o.ioCostRoot)
      await fs.writeFile(path.join(o.ioCostRoot, 'io.cost.qos'), `${ioCostOn} enable=0`).catch(() => undefined);
    ioCostOn = undefined;
    if (device && originalScheduler) {
      await fs.writeFile(`/sys/block/${loopName(device)}/queue/scheduler`, 'none').catch(() => undefined);
      await fs.writeFile(`/sys/block/${loopName(device)}/queue/scheduler`, originalScheduler).catch(() => undefined);
    }
    originalScheduler = undefined;
    if (device) await run(['losetup', '-d', device], { timeoutMs: 30_000 }).catch(() => undefined);
    device = undefined;
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await fs.mkdir(mountDir);
    await runOk(['truncate', '-s', `${o.sizeMiB}M`, backingFile]);
    device = (
      await runOk(['losetup', '--direct-io=on', '--find', '--show', backingFile], { timeoutMs: 30_000 })
    ).trim();
    const name = loopName(device);
    const sys = `/sys/block/${name}`;
    const majMin = (await fs.readFile(`${sys}/dev`, 'utf8')).trim();
    const directIo = (await fs.readFile(`${sys}/loop/dio`, 'utf8').catch(() => '0')).trim() === '1';
    const want = o.scheduler;
    // Loop devices outlive their attachment, and so do a scheduler's tunables: a previous user's
    // slice_idle=0 (say) would silently turn bfq's weights off. Switching through `none` gives the
    // scheduler fresh defaults; release() puts the device's own scheduler back.
    const schedulerFile = `${sys}/queue/scheduler`;
    if (want !== undefined) {
      originalScheduler = activeScheduler(await fs.readFile(schedulerFile, 'utf8')) ?? undefined;
      await fs.writeFile(schedulerFile, 'none').catch(() => undefined);
      await fs.writeFile(schedulerFile, want).catch((e: unknown) => {
        throw new Error(
          `cannot switch ${device} to the ${want} scheduler (${String(e)}); available: see ${schedulerFile}`,
        );
      });
    }
    if (o.ioCostRoot) {
      await fs.writeFile(path.join(o.ioCostRoot, 'io.cost.qos'), `${majMin} enable=1`);
      ioCostOn = majMin;
    }
    const scheduler = activeScheduler(await fs.readFile(`${sys}/queue/scheduler`, 'utf8'));
    // bfq lets several queues' requests be in flight at once when the device is not saturated, and then
    // weights do not show; strict_guarantees makes it serve one queue at a time (only this device).
    const sg = `${sys}/queue/iosched/strict_guarantees`;
    if (o.strictGuarantees !== undefined && scheduler === 'bfq') await fs.writeFile(sg, o.strictGuarantees ? '1' : '0');
    // low_latency weight-raises new queues for a while (interactive heuristics): off, so weights mean weights.
    if (o.strictGuarantees !== undefined && scheduler === 'bfq')
      await fs.writeFile(`${sys}/queue/iosched/low_latency`, o.strictGuarantees ? '0' : '1').catch(() => undefined);
    const sgText = scheduler === 'bfq' ? (await fs.readFile(sg, 'utf8').catch(() => '')).trim() : '';
    const strictGuarantees = sgText === '1' ? true : sgText === '0' ? false : undefined;
    await runOk(
      [
        'mke2fs',
        '-q',
        '-t',
        'ext4',
        '-F',
        '-E',
        'lazy_itable_init=0,lazy_journal_init=0',
        '-L',
        'isobench-part',
        device,
      ],
      { timeoutMs: 120_000 },
    );
    await runOk(['mount', '-t', 'ext4', device, mountDir], { timeoutMs: 30_000 });
    mounted = true;
    // Instances (containers run as root in their namespace, QEMU as root) write here.
    await fs.chmod(mountDir, 0o777);
    return { device, majMin, mountDir, scheduler, directIo, strictGuarantees, backingFile, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * How to set up isobench's own device for the host's disk-weight mechanism
 * (host/capabilities.ts): bfq (strict guarantees) where the host has BFQ, io.cost
 * enabled on the device where cgroup v2 has it, else the device's own scheduler
 * (caps only).
 */
export function ownedDeviceOptions(
  caps: HostCapabilities,
  layout: CgroupLayout | undefined,
): { scheduler?: string; strictGuarantees?: boolean; ioCostRoot?: string } {
  const w = capability(caps, 'disk-weights');
  if (!w.available) return {};
  if (w.mechanism?.startsWith('bfq')) return { scheduler: 'bfq', strictGuarantees: true };
  if (w.mechanism?.startsWith('io.cost') && layout?.version === 2) return { ioCostRoot: layout.root };
  return {};
}
