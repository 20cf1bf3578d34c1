/**
 * Building the rootfs tree and its ext4 image: the merged-/usr links, busybox
 * with its applets, a minimal /etc, the empty mount points, the host files
 * copied in, and the ext4 image made from the tree (mke2fs -d, no mounting).
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { runOk } from '../util/proc.js';

/** Bump when the layout of the tree changes so cached images are rebuilt. */
export const BUILDER_VERSION = 'rootfs-v1';

/**
 * Every host path that must exist in the tree, as a chain: for a path whose last
 * component is a symlink, the link and then what it points to. Directory symlinks
 * on the way (merged /usr: /lib -> usr/lib) are resolved, so files land at their
 * canonical place and the tree gets the same top-level links as the host.
 */
export interface HostItem {
  /** Absolute path inside the tree (same as on the host, directories canonicalised). */
  treePath: string;
  kind: 'file' | 'symlink';
  /** For files: host file to copy. */
  source?: string;
  /** For symlinks: the link text. */
  target?: string;
  stat: Stats;
}

/** Mount points and scratch dirs every backend expects (a read-only rootfs cannot grow them). */
export const EMPTY_DIRS = [
  'proc',
  'sys',
  'dev',
  'tmp',
  'scratch',
  'run',
  'mnt',
  'root',
  'var/tmp',
  'etc',
  'usr/bin',
  'usr/sbin',
  'usr/lib',
  'usr/lib64',
];

/** Top-level links of a merged-/usr system, recreated in the tree. */
const MERGED_USR_LINKS: Array<[string, string]> = [
  ['bin', 'usr/bin'],
  ['sbin', 'usr/sbin'],
  ['lib', 'usr/lib'],
  ['lib64', 'usr/lib64'],
];

/** Map a path from `busybox --list-full` (or a host path) into the tree's canonical /usr layout. */
export function canonicalTreePath(p: string): string {
  const rel = p.replace(/^\/+/, '');
  for (const [link, target] of MERGED_USR_LINKS) {
    if (rel === link) return target;
    if (rel.startsWith(`${link}/`)) return `${target}/${rel.slice(link.length + 1)}`;
  }
  return rel;
}

export async function writeFileMode(file: string, content: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  await fs.chmod(file, mode);
}

export async function installBusybox(root: string, busybox: string): Promise<void> {
  const bbTree = path.join(root, 'usr/bin/busybox');
  await fs.mkdir(path.dirname(bbTree), { recursive: true });
  await fs.copyFile(busybox, bbTree);
  await fs.chmod(bbTree, 0o755);
  // `busybox --install -s` inside the tree, done from the applet list so the host is never touched.
  const list = await runOk([busybox, '--list-full'], { timeoutMs: 10_000 });
  for (const line of list.split('\n')) {
    const applet = line.trim();
    if (!applet.includes('/') || applet.endsWith('/')) continue; // e.g. "linuxrc"
    const rel = canonicalTreePath(applet);
    if (rel === 'usr/bin/busybox') continue;
    const dest = path.join(root, rel);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    try {
      await fs.lstat(dest);
      continue; // a real binary (a workload tool) wins over the applet
    } catch {
      /* free */
    }
    await fs.symlink('/usr/bin/busybox', dest);
  }
}

export async function writeEtc(root: string): Promise<void> {
  await writeFileMode(
    path.join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    0o644,
  );
  await writeFileMode(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n', 0o644);
  await writeFileMode(path.join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n', 0o644);
  await writeFileMode(path.join(root, 'etc/hostname'), 'isobench\n', 0o644);
  await writeFileMode(path.join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\n', 0o644);
  await writeFileMode(path.join(root, 'etc/resolv.conf'), '', 0o644);
  await writeFileMode(path.join(root, 'etc/isobench-image'), `${BUILDER_VERSION}\n`, 0o644);
}

export async function makeSkeleton(root: string): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  await fs.chmod(root, 0o755);
  for (const d of EMPTY_DIRS) await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  for (const d of ['tmp', 'var/tmp']) await fs.chmod(path.join(root, d), 0o1777);
  await fs.chmod(path.join(root, 'root'), 0o700);
  for (const [link, target] of MERGED_USR_LINKS) await fs.symlink(target, path.join(root, link));
}

export async function copyItems(root: string, items: readonly HostItem[]): Promise<void> {
  for (const it of items) {
    const dest = path.join(root, canonicalTreePath(it.treePath));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.rm(dest, { force: true });
    if (it.kind === 'symlink') await fs.symlink(it.target ?? '', dest);
    else {
      await fs.copyFile(it.source ?? it.treePath, dest);
      await fs.chmod(dest, it.stat.mode & 0o7777);
    }
  }
}

export async function treeDiskBytes(root: string): Promise<number> {
  const out = await runOk(['du', '-s', '-B1', '--apparent-size', root], { timeoutMs: 60_000 });
  return Number(out.trim().split(/\s+/)[0]);
}

/** Size of the ext4 image for a tree: content + 25% + 64 MiB for metadata/journal, MiB-aligned. */
export function ext4SizeMiB(treeBytes: number): number {
  const mib = Math.ceil((treeBytes * 1.25) / 2 ** 20) + 64;
  return Math.ceil(mib / 4) * 4;
}

/** mke2fs -d: an ext4 image of a directory, without mounting anything. */
export async function makeExt4Image(
  dir: string,
  img: string,
  sizeMiB: number,
  label = 'isobench',
  signal?: AbortSignal,
): Promise<void> {
  await fs.rm(img, { force: true });
  await runOk(
    ['mke2fs', '-q', '-t', 'ext4', '-L', label, '-E', 'root_owner=0:0', '-d', dir, '-F', img, `${sizeMiB}M`],
    { timeoutMs: 300_000, ...(signal ? { signal } : {}) },
  );
}
