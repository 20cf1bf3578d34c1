/**
 * `disk.mode: image` for the host-kernel backends (native, containers): a raw
 * ext4 image file attached to a loop device with direct I/O
 * (`losetup --direct-io=on`), mounted on the host. Without direct I/O a loop
 * device reads and writes its backing file through the host page cache, so an
 * O_DIRECT read inside the instance would be served from memory, not the disk.
 * The VM's disk takes the same "a file on the host disk holds a filesystem"
 * path with `cache=none`.
 *
 * Each step is registered with the cleanup registry as soon as it exists; the
 * returned release undoes them newest first (umount, detach, the file goes with
 * its directory).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run, runOk } from '../util/proc.js';
import type { CleanupRegistry } from '../core/cleanup.js';

export interface ScratchImage {
  image: string;
  /** /dev/loopN */
  loopDevice: string;
  /** Where the filesystem is mounted on the host. */
  mountPoint: string;
  /** Whether the kernel enabled direct I/O on the loop device (/sys/block/loopN/loop/dio). */
  directIo: boolean;
  release: () => Promise<void>;
}

export async function createScratchImage(
  dir: string,
  sizeMiB: number,
  cleanup: CleanupRegistry,
): Promise<ScratchImage> {
  const image = path.join(dir, 'scratch.img');
  const mountPoint = path.join(dir, 'scratch-mnt');
  await fs.mkdir(mountPoint, { recursive: true });
  await runOk(['truncate', '-s', `${sizeMiB}M`, image]);
  await runOk(['mke2fs', '-q', '-t', 'ext4', '-F', '-L', 'scratch', image], { timeoutMs: 120_000 });
  const releases: Array<() => Promise<void>> = [];
  try {
    const loopDevice = (
      await runOk(['losetup', '--find', '--show', '--direct-io=on', image], { timeoutMs: 30_000 })
    ).trim();
    if (!/^\/dev\/loop\d+$/.test(loopDevice))
      throw new Error(`losetup printed ${JSON.stringify(loopDevice)}, not a loop device`);
    releases.push(cleanup.add(`loop device ${loopDevice} (${image})`, () => detachLoop(loopDevice)));
    await runOk(['mount', loopDevice, mountPoint], { timeoutMs: 30_000 });
    releases.push(cleanup.add(`mount ${mountPoint}`, () => unmount(mountPoint)));
    const dio =
      (await fs.readFile(`/sys/block/${path.basename(loopDevice)}/loop/dio`, 'utf8').catch(() => '0')).trim() === '1';
    const release = async (): Promise<void> => {
      for (const r of releases.reverse().splice(0)) await r();
    };
    return { image, loopDevice, mountPoint, directIo: dio, release };
  } catch (e) {
    for (const r of releases.reverse()) await r().catch(() => undefined);
    throw e;
  }
}

async function detachLoop(dev: string): Promise<void> {
  const r = await run(['losetup', '--detach', dev], { timeoutMs: 30_000 });
  if (r.code !== 0 && !/No such device|not a block device|failed to use device/i.test(r.stderr))
    throw new Error(`losetup --detach ${dev}: ${r.stderr.trim()}`);
}

export async function unmount(dir: string): Promise<void> {
  const r = await run(['umount', dir], { timeoutMs: 30_000 });
  if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) {
    const lazy = await run(['umount', '-l', dir], { timeoutMs: 30_000 });
    if (lazy.code !== 0 && !/not mounted|no mount point/i.test(lazy.stderr))
      throw new Error(`umount ${dir}: ${lazy.stderr.trim()}`);
  }
}
