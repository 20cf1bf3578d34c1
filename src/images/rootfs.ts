/**
 * The one workload image: a rootfs directory that the container backends mount
 * read-only and that the VM backend gets as an ext4 image of the same tree.
 *
 * Contents: busybox-static (with every applet as a symlink), the workload
 * binaries (sysbench, fio, iperf3, stress-ng, sockperf, qemu-ga) copied from the
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
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import { run, runOk, throwIfAborted } from '../util/proc.js';

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

export function cacheDir(): string {
  return process.env.ISOBENCH_CACHE ?? '/var/cache/isobench';
}

/** Bump when the layout of the tree changes so cached images are rebuilt. */
export const BUILDER_VERSION = 'rootfs-v1';

/** Workload binaries copied from the host, by name (searched in this order). */
export const WORKLOAD_BINARIES = ['sysbench', 'fio', 'iperf3', 'stress-ng', 'sockperf', 'qemu-ga'] as const;
const SEARCH_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** Mount points and scratch dirs every backend expects (a read-only rootfs cannot grow them). */
export const EMPTY_DIRS = ['proc', 'sys', 'dev', 'tmp', 'scratch', 'run', 'mnt', 'root', 'var/tmp', 'etc', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64'];

type Log = (s: string) => void;

// ---------------------------------------------------------------------------
// Manifest (pure, unit-tested)

export type ManifestEntry =
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'file'; mode: number; sha256: string; size: number }
  | { path: string; type: 'symlink'; target: string };

/** One line per entry, sorted by path (byte order), paths relative to the rootfs root. */
export function formatManifest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((e) => {
    switch (e.type) {
      case 'dir':
        return `${e.path}\tdir\t${octal(e.mode)}`;
      case 'file':
        return `${e.path}\tfile\t${octal(e.mode)}\t${e.sha256}\t${e.size}`;
      case 'symlink':
        return `${e.path}\tsymlink\t->\t${e.target}`;
    }
  });
  return lines.join('\n') + '\n';
}

export function manifestHash(manifestText: string): string {
  return createHash('sha256').update(manifestText).digest('hex');
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Walk a tree and describe every entry (the root itself excluded). */
export async function scanTree(root: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const abs = path.join(root, rel);
    const entries = await fs.readdir(abs, { withFileTypes: true });
    for (const d of entries) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const a = path.join(root, r);
      const st = await fs.lstat(a);
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', target: await fs.readlink(a) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode });
        await walk(r);
      } else if (st.isFile()) out.push({ path: r, type: 'file', mode: st.mode, sha256: await sha256File(a), size: st.size });
      else throw new Error(`unexpected file type in rootfs: ${a}`);
    }
  }
  await walk('');
  return out;
}

/** Content hash of a tree: returns the manifest text and its sha256. */
export async function hashTree(root: string): Promise<{ manifest: string; hash: string; treeBytes: number; entries: ManifestEntry[] }> {
  const entries = await scanTree(root);
  const manifest = formatManifest(entries);
  const treeBytes = entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
  return { manifest, hash: manifestHash(manifest), treeBytes, entries };
}

// ---------------------------------------------------------------------------
// Inputs

/** Parse `ldd` output into the absolute paths it names (loader included, vdso skipped). */
export function parseLdd(output: string, binary = '?'): string[] {
  const out: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || /^statically linked|not a dynamic executable/.test(line)) continue;
    if (line.includes('=> not found')) throw new IsobenchError('MISSING_DEPENDENCY', `${binary}: shared library ${line.split(/\s/)[0]} not found (ldd)`);
    const arrow = /=>\s+(\/\S+)/.exec(line);
    if (arrow?.[1]) {
      out.push(arrow[1]);
      continue;
    }
    const direct = /^(\/\S+)\s+\(/.exec(line);
    if (direct?.[1]) out.push(direct[1]);
  }
  return out;
}

async function findBinary(name: string): Promise<string> {
  for (const d of SEARCH_DIRS) {
    const p = path.join(d, name);
    try {
      const st = await fs.stat(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      /* try next */
    }
  }
  throw new IsobenchError('MISSING_DEPENDENCY', `workload binary ${name} not found in ${SEARCH_DIRS.join(', ')}; install it (see scripts/setup.sh)`);
}

async function findBusybox(): Promise<string> {
  for (const p of BUSYBOX_CANDIDATES) {
    try {
      await fs.access(p);
      const r = await run(['ldd', p], { timeoutMs: 10_000 });
      if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return p;
    } catch {
      /* next */
    }
  }
  throw new IsobenchError('MISSING_DEPENDENCY', 'a static busybox was not found (/bin/busybox): apt-get install busybox-static');
}

/**
 * Every host path that must exist in the tree, as a chain: for a path whose last
 * component is a symlink, the link and then what it points to. Directory symlinks
 * on the way (merged /usr: /lib -> usr/lib) are resolved, so files land at their
 * canonical place and the tree gets the same top-level links as the host.
 */
interface HostItem {
  /** Absolute path inside the tree (same as on the host, directories canonicalised). */
  treePath: string;
  kind: 'file' | 'symlink';
  /** For files: host file to copy. */
  source?: string;
  /** For symlinks: the link text. */
  target?: string;
  stat: Stats;
}

async function resolveChain(hostPath: string, seen: Map<string, HostItem>): Promise<void> {
  let cur = hostPath;
  for (let hops = 0; hops < 40; hops++) {
    const dir = await fs.realpath(path.dirname(cur));
    const p = path.join(dir, path.basename(cur));
    if (seen.has(p)) return;
    const st = await fs.lstat(p);
    if (st.isSymbolicLink()) {
      const target = await fs.readlink(p);
      seen.set(p, { treePath: p, kind: 'symlink', target, stat: st });
      cur = path.resolve(dir, target);
      continue;
    }
    if (!st.isFile()) throw new Error(`${p} is not a regular file`);
    seen.set(p, { treePath: p, kind: 'file', source: p, stat: st });
    return;
  }
  throw new Error(`symlink loop at ${hostPath}`);
}

interface Inputs {
  busybox: string;
  binaries: Record<string, string>;
  items: HostItem[];
  key: string;
}

async function collectInputs(): Promise<Inputs> {
  const busybox = await findBusybox();
  const binaries: Record<string, string> = {};
  const seen = new Map<string, HostItem>();
  for (const name of WORKLOAD_BINARIES) {
    const bin = await findBinary(name);
    binaries[name] = bin;
    await resolveChain(bin, seen);
    const r = await run(['ldd', bin], { timeoutMs: 20_000 });
    if (r.code !== 0 && !/not a dynamic executable/.test(r.stdout + r.stderr)) throw new IsobenchError('RUN_FAILED', `ldd ${bin} failed: ${r.stderr.trim()}`);
    for (const lib of parseLdd(r.stdout, bin)) await resolveChain(lib, seen);
  }
  const bbStat = await fs.stat(busybox);
  const items = [...seen.values()].sort((a, b) => (a.treePath < b.treePath ? -1 : 1));
  const h = createHash('sha256').update(`${BUILDER_VERSION}\n`);
  h.update(`busybox\t${busybox}\t${bbStat.size}\t${bbStat.mtimeMs}\t${bbStat.ino}\n`);
  for (const [n, p] of Object.entries(binaries)) h.update(`bin\t${n}\t${p}\n`);
  for (const it of items) h.update(`${it.treePath}\t${it.kind}\t${it.target ?? ''}\t${it.stat.size}\t${it.stat.mtimeMs}\t${it.stat.ino}\t${it.stat.mode}\n`);
  return { busybox, binaries, items, key: h.digest('hex').slice(0, 32) };
}

// ---------------------------------------------------------------------------
// Building

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

async function writeFileMode(file: string, content: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  await fs.chmod(file, mode);
}

async function installBusybox(root: string, busybox: string): Promise<void> {
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

async function writeEtc(root: string): Promise<void> {
  await writeFileMode(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n', 0o644);
  await writeFileMode(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n', 0o644);
  await writeFileMode(path.join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n', 0o644);
  await writeFileMode(path.join(root, 'etc/hostname'), 'isobench\n', 0o644);
  await writeFileMode(path.join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\n', 0o644);
  await writeFileMode(path.join(root, 'etc/resolv.conf'), '', 0o644);
  await writeFileMode(path.join(root, 'etc/isobench-image'), `${BUILDER_VERSION}\n`, 0o644);
}

async function makeSkeleton(root: string): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  await fs.chmod(root, 0o755);
  for (const d of EMPTY_DIRS) await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  for (const d of ['tmp', 'var/tmp']) await fs.chmod(path.join(root, d), 0o1777);
  await fs.chmod(path.join(root, 'root'), 0o700);
  for (const [link, target] of MERGED_USR_LINKS) await fs.symlink(target, path.join(root, link));
}

async function copyItems(root: string, items: readonly HostItem[]): Promise<void> {
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

async function treeDiskBytes(root: string): Promise<number> {
  const out = await runOk(['du', '-s', '-B1', '--apparent-size', root], { timeoutMs: 60_000 });
  return Number(out.trim().split(/\s+/)[0]);
}

/** Size of the ext4 image for a tree: content + 25% + 64 MiB for metadata/journal, MiB-aligned. */
export function ext4SizeMiB(treeBytes: number): number {
  const mib = Math.ceil((treeBytes * 1.25) / 2 ** 20) + 64;
  return Math.ceil(mib / 4) * 4;
}

/** mke2fs -d: an ext4 image of a directory, without mounting anything. */
export async function makeExt4Image(dir: string, img: string, sizeMiB: number, label = 'isobench', signal?: AbortSignal): Promise<void> {
  await fs.rm(img, { force: true });
  await runOk(['mke2fs', '-q', '-t', 'ext4', '-L', label, '-E', 'root_owner=0:0', '-d', dir, '-F', img, `${sizeMiB}M`], { timeoutMs: 300_000, ...(signal ? { signal } : {}) });
}

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
export async function ensureWorkloadImage(opts: { log?: Log; force?: boolean; signal?: AbortSignal } = {}): Promise<WorkloadImage> {
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
    const meta: ImageMeta = { hash, inputKey: inputs.key, builderVersion: BUILDER_VERSION, treeBytes, ext4SizeMiB: sizeMiB, binaries, builtAt: new Date().toISOString() };
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
  const key = createHash('sha256').update(`${BUILDER_VERSION}-minimal\t${busybox}\t${st.size}\t${st.mtimeMs}\t${st.ino}`).digest('hex').slice(0, 16);
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
