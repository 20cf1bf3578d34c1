/**
 * The one workload image: a rootfs directory that the container backends mount
 * read-only and that the VM backend gets as an ext4 image of the same tree.
 *
 * Contents: busybox-static (with every applet as a symlink), the workload
 * binaries (sysbench, fio, iperf3, stress-ng, sockperf, qemu-ga, and what a workload declares) copied from the
 * host, every shared library they load (resolved with ldd; symlink chains are
 * recreated and the real file copied; the dynamic loader included), a minimal
 * /etc and the empty mount points the backends need.
 *
 * Two hashes:
 *  - the *content hash* (WorkloadImage.hash): sha256 over manifest.txt, a sorted
 *    list of (path, type, mode, sha256 of file | symlink target). It names the
 *    image directory (cacheDir()/images/<hash>/) and goes into every result.
 *  - the *input key*: sha256 over the host input files (path, size, mtime, inode,
 *    symlink target) plus BUILDER_VERSION. It indexes the cache
 *    (cacheDir()/images/by-input/<key>.json -> content hash), so a second call
 *    only re-runs ldd and stats files (well under a second) and builds nothing.
 *
 * Builds go to a temp directory next to the cache and are renamed into place
 * atomically, so a crash never leaves a half-built image under a hash name and
 * two concurrent builders agree on the result.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { throwIfAborted } from '../util/proc.js';
import { cacheDir } from './cache-dir.js';
import { hashTree } from './manifest.js';
import { collectInputs, findBusybox } from './host-inputs.js';
import {
  BUILDER_VERSION,
  canonicalTreePath,
  copyItems,
  ext4SizeMiB,
  installBusybox,
  makeExt4Image,
  makeSkeleton,
  treeDiskBytes,
  writeEtc,
} from './rootfs-tree.js';

// The manifest, host inputs and tree building live in their own modules; importers use this path.
export { cacheDir } from './cache-dir.js';
export { formatManifest, hashTree, manifestHash, scanTree, type ManifestEntry } from './manifest.js';
export { WORKLOAD_BINARIES, parseLdd } from './host-inputs.js';
export { BUILDER_VERSION, EMPTY_DIRS, canonicalTreePath, ext4SizeMiB, makeExt4Image } from './rootfs-tree.js';

export interface WorkloadImage {
  /** Directory holding the rootfs (read-only for containers). */
  rootfsDir: string;
  /** ext4 image of the same rootfs, for the VM (mke2fs -d, no mounting). */
  ext4Path: string;
  /** sha256 over the manifest (sorted path + mode + sha256 of each file). */
  hash: string;
  manifestPath: string;
  /** cacheDir()/images/<hash> */
  imageDir?: string;
  /** Input key the cache was looked up by. */
  inputKey?: string;
  /** Bytes of file content in the tree (what the ext4 image was sized from). */
  treeBytes?: number;
  /** Workload binary name -> absolute path inside the rootfs. */
  binaries?: Record<string, string>;
  /** True when this call found the image in the cache (nothing was built). */
  cached?: boolean;
}

type Log = (s: string) => void;

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fs.rename(tmp, file);
}

interface ImageMeta {
  hash: string;
  inputKey: string;
  builderVersion: string;
  treeBytes: number;
  ext4SizeMiB: number;
  binaries: Record<string, string>;
  builtAt: string;
}

async function imageFromDir(imageDir: string, meta: ImageMeta, cached: boolean): Promise<WorkloadImage> {
  return {
    rootfsDir: path.join(imageDir, 'rootfs'),
    ext4Path: path.join(imageDir, 'rootfs.ext4'),
    hash: meta.hash,
    manifestPath: path.join(imageDir, 'manifest.txt'),
    imageDir,
    inputKey: meta.inputKey,
    treeBytes: meta.treeBytes,
    binaries: meta.binaries,
    cached,
  };
}

async function isComplete(imageDir: string): Promise<ImageMeta | undefined> {
  const meta = await readJson<ImageMeta>(path.join(imageDir, 'image.json'));
  if (!meta) return undefined;
  try {
    await fs.access(path.join(imageDir, 'rootfs.ext4'));
    await fs.access(path.join(imageDir, 'manifest.txt'));
    await fs.access(path.join(imageDir, 'rootfs', 'usr/bin/busybox'));
  } catch {
    return undefined;
  }
  return meta;
}

/**
 * Build (or find in the cache) the workload image. Safe to call from several
 * processes at once; the loser of a build race discards its copy.
 */
/**
 * The content-hashed workload image, built once and cached. An abort
 * (opts.signal: Ctrl-C during a run) ends a build between its steps and kills
 * mke2fs; the half-built folder is removed and the cache keeps nothing of it.
 */
export async function ensureWorkloadImage(
  opts: { log?: Log; force?: boolean; signal?: AbortSignal } = {},
): Promise<WorkloadImage> {
  const signal = opts.signal;
  const log = opts.log ?? (() => undefined);
  const imagesDir = path.join(cacheDir(), 'images');
  const inputs = await collectInputs();
  const indexFile = path.join(imagesDir, 'by-input', `${inputs.key}.json`);
  if (!opts.force) {
    const idx = await readJson<{ hash: string }>(indexFile);
    if (idx?.hash && /^[0-9a-f]{64}$/.test(idx.hash)) {
      const meta = await isComplete(path.join(imagesDir, idx.hash));
      if (meta) return imageFromDir(path.join(imagesDir, idx.hash), meta, true);
    }
  }

  log(`building workload image (inputs ${inputs.key.slice(0, 12)}, ${inputs.items.length} host files)`);
  await fs.mkdir(imagesDir, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(imagesDir, '.build-'));
  try {
    await fs.chmod(tmp, 0o755); // mkdtemp makes it 0700; sandboxed runtimes' helpers must reach the rootfs
    const root = path.join(tmp, 'rootfs');
    await makeSkeleton(root);
    throwIfAborted(signal);
    await copyItems(root, inputs.items);
    throwIfAborted(signal);
    await installBusybox(root, inputs.busybox);
    await writeEtc(root);
    throwIfAborted(signal);
    const { manifest, hash, treeBytes } = await hashTree(root);
    throwIfAborted(signal);
    await fs.writeFile(path.join(tmp, 'manifest.txt'), manifest);
    const sizeMiB = ext4SizeMiB(await treeDiskBytes(root));
    log(`rootfs ${hash.slice(0, 12)}: ${(treeBytes / 2 ** 20).toFixed(1)} MiB of files; mke2fs ${sizeMiB} MiB`);
    await makeExt4Image(root, path.join(tmp, 'rootfs.ext4'), sizeMiB, 'isobench', signal);
    throwIfAborted(signal);
    const binaries: Record<string, string> = { busybox: '/usr/bin/busybox' };
    for (const [n, p] of Object.entries(inputs.binaries)) binaries[n] = `/${canonicalTreePath(p)}`;
    const meta: ImageMeta = {
      hash,
      inputKey: inputs.key,
      builderVersion: BUILDER_VERSION,
      treeBytes,
      ext4SizeMiB: sizeMiB,
      binaries,
      builtAt: new Date().toISOString(),
    };
    await fs.writeFile(path.join(tmp, 'image.json'), JSON.stringify(meta, null, 2) + '\n');
    const finalDir = path.join(imagesDir, hash);
    try {
      await fs.rename(tmp, finalDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      // Same content already there (another builder, or the same tree from other inputs).
      if (!(await isComplete(finalDir))) {
        await fs.rm(finalDir, { recursive: true, force: true });
        await fs.rename(tmp, finalDir);
      }
    }
    await writeJsonAtomic(indexFile, { hash });
    const finalMeta = (await isComplete(finalDir)) ?? meta;
    return imageFromDir(finalDir, finalMeta, false);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A busybox-only rootfs (the smallest useful bundle): the baseline for the
 * bare `runc run /bin/true` comparison. Cached by the busybox binary's size+mtime.
 */
export async function buildMinimalBundleRootfs(opts: { log?: Log } = {}): Promise<{ rootfsDir: string; hash: string }> {
  const busybox = await findBusybox();
  const st = await fs.stat(busybox);
  const key = createHash('sha256')
    .update(`${BUILDER_VERSION}-minimal\t${busybox}\t${st.size}\t${st.mtimeMs}\t${st.ino}`)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cacheDir(), 'images', `minimal-${key}`);
  const meta = await readJson<{ hash: string }>(path.join(dir, 'image.json'));
  if (meta?.hash) return { rootfsDir: path.join(dir, 'rootfs'), hash: meta.hash };
  opts.log?.('building minimal busybox rootfs');
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const tmp = await fs.mkdtemp(path.join(cacheDir(), 'images', '.build-min-'));
  try {
    await fs.chmod(tmp, 0o755);
    const root = path.join(tmp, 'rootfs');
    await makeSkeleton(root);
    await installBusybox(root, busybox);
    await writeEtc(root);
    const { manifest, hash } = await hashTree(root);
    await fs.writeFile(path.join(tmp, 'manifest.txt'), manifest);
    await fs.writeFile(path.join(tmp, 'image.json'), JSON.stringify({ hash }) + '\n');
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
    }
    const final = await readJson<{ hash: string }>(path.join(dir, 'image.json'));
    return { rootfsDir: path.join(dir, 'rootfs'), hash: final?.hash ?? hash };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
