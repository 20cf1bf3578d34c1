/**
 * The VM guest: the Debian cloud kernel unpacked by scripts/setup.sh
 * (guest-kernel.ts) plus a small busybox initramfs that isobench builds itself
 * (cpio newc, gzip), cached by the hash of what goes into it, and the scratch
 * disk image a VM gets. What the initramfs /init does is described in
 * guest-init.ts.
 *
 * A second "bare" initramfs whose init does `reboot -f` at once is the floor
 * the start-up benchmark and the accelerator calibration compare against.
 */
import { createHash } from 'node:crypto';
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from './cache-dir.js';
import { run, runOk } from '../util/proc.js';
import { IsobenchError } from '../errors.js';
import { GUEST_MODULES, OPTIONAL_MODULES, renderBareInitScript, renderInitScript } from './guest-init.js';
import { resolveGuestKernel, type GuestKernel } from './guest-kernel.js';
import { sha256File } from './manifest.js';

// The init scripts and the kernel lookup live in guest-init.ts and guest-kernel.ts; importers use this path.
export {
  AGENT_PATHS,
  AGENT_PORT_NAME,
  GUEST_MODULES,
  ROOT_DISK_SERIAL,
  ROOT_MOUNT_POINTS,
  SCRATCH_DISK_SERIAL,
  renderBareInitScript,
  renderInitScript,
} from './guest-init.js';
export { currentKernelDir, guestKernelDir, resolveGuestKernel, type GuestKernel } from './guest-kernel.js';

/** Bump when the builder changes in a way the hash of its inputs would not show. */
const BUILDER_VERSION = '3';

export interface GuestInitramfs {
  kernel: GuestKernel;
  /** The full initramfs (mounts the workload image, starts the agent). */
  initrdPath: string;
  /** An initramfs whose init does `reboot -f` at once: the bare-boot floor and calibration guest. */
  bareInitrdPath: string;
  /** Hash of kernel + rootfs hash + init script + modules + busybox; names the cache directory. */
  hash: string;
  dir: string;
  /** Modules packed, in load order. */
  modules: string[];
}

export interface GuestInitramfsOptions {
  /** Content hash of the workload rootfs (part of the cache key, as the guest is built for it). */
  rootfsHash?: string;
  /** Defaults to cacheDir()/guest. */
  cacheRoot?: string;
  /** busybox-static binary to pack. */
  busybox?: string;
}

async function findModule(modulesDir: string, name: string): Promise<string | undefined> {
  const kernelDir = path.join(modulesDir, 'kernel');
  const stack = [kernelDir];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name === `${name}.ko`) return p;
    }
  }
  return undefined;
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const out = await runOk([busybox, '--list']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[\w.[-]+$/.test(l) && l !== 'busybox');
}

async function packCpio(stagingDir: string, outFile: string): Promise<void> {
  // argv only: the directory and output file are positional parameters, never interpolated.
  await runOk(
    [
      'sh',
      '-c',
      'set -e; cd "$1"; find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 > "$2"',
      'pack-initramfs',
      stagingDir,
      outFile,
    ],
    {
      timeoutMs: 120_000,
    },
  );
}

async function stage(dir: string, busybox: string, applets: string[], init: string): Promise<void> {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'etc', 'lib/modules', 'newroot', 'tmp', 'root'])
    await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.copyFile(busybox, path.join(dir, 'bin', 'busybox'));
  await fs.chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const a of applets) await fs.symlink('busybox', path.join(dir, 'bin', a)).catch(() => undefined);
  await fs.writeFile(path.join(dir, 'init'), init, { mode: 0o755 });
}

/**
 * Build (or reuse) the guest initramfs for a kernel and rootfs. Cached under
 * cacheDir()/guest/<hash>/ by hash of: vmlinuz, the packed modules, the rootfs
 * hash, the init scripts, busybox and the builder version.
 */
export async function ensureGuestInitramfs(
  kernelDir: string,
  opts: GuestInitramfsOptions = {},
): Promise<GuestInitramfs> {
  const kernel = await resolveGuestKernel(kernelDir);
  const busybox = opts.busybox ?? '/bin/busybox';
  if (!existsSync(busybox))
    throw new IsobenchError('MISSING_DEPENDENCY', `busybox not found at ${busybox}`, {
      details: ['apt-get install busybox-static'],
    });
  const modules: { name: string; file: string }[] = [];
  for (const name of GUEST_MODULES) {
    const file = await findModule(kernel.modulesDir, name);
    if (file) modules.push({ name, file });
    else if (!OPTIONAL_MODULES.has(name))
      throw new IsobenchError('NOT_BUILT', `kernel ${kernel.version} has no ${name}.ko under ${kernel.modulesDir}`, {
        details: ['the guest kernel must ship virtio drivers as plain .ko files; re-run scripts/setup.sh'],
      });
  }
  const moduleNames = modules.map((m) => m.name);
  const init = renderInitScript(moduleNames);
  const bareInit = renderBareInitScript();
  const h = createHash('sha256');
  h.update(`builder ${BUILDER_VERSION}\n`);
  h.update(`kernel ${await sha256File(kernel.vmlinuz)}\n`);
  for (const m of modules) h.update(`module ${m.name} ${await sha256File(m.file)}\n`);
  h.update(`busybox ${await sha256File(busybox)}\n`);
  h.update(`rootfs ${opts.rootfsHash ?? 'none'}\n`);
  h.update(`init ${init}\nbare ${bareInit}\n`);
  const hash = h.digest('hex').slice(0, 16);
  const dir = path.join(opts.cacheRoot ?? path.join(cacheDir(), 'guest'), hash);
  const result: GuestInitramfs = {
    kernel,
    initrdPath: path.join(dir, 'initramfs.cpio.gz'),
    bareInitrdPath: path.join(dir, 'bare-initramfs.cpio.gz'),
    hash,
    dir,
    modules: moduleNames,
  };
  if (existsSync(path.join(dir, 'complete'))) return result;

  const tmp = `${dir}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    const applets = await busyboxApplets(busybox);
    const full = path.join(tmp, 'full');
    await stage(full, busybox, applets, init);
    for (const m of modules) await fs.copyFile(m.file, path.join(full, 'lib', 'modules', `${m.name}.ko`));
    await fs.writeFile(
      path.join(full, 'etc', 'isobench-guest'),
      `hash=${hash}\nkernel=${kernel.version}\nrootfs=${opts.rootfsHash ?? ''}\n`,
    );
    await packCpio(full, path.join(tmp, 'initramfs.cpio.gz'));
    const bare = path.join(tmp, 'bare');
    await stage(bare, busybox, [], bareInit);
    await packCpio(bare, path.join(tmp, 'bare-initramfs.cpio.gz'));
    await fs.rm(full, { recursive: true, force: true });
    await fs.rm(bare, { recursive: true, force: true });
    await fs.writeFile(path.join(tmp, 'init.sh'), init);
    await fs.writeFile(path.join(tmp, 'complete'), `${new Date().toISOString()}\n`);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await fs.rename(tmp, dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return result;
}

/**
 * A raw disk image holding an empty ext4 filesystem, made on the host so the
 * guest needs no mkfs. Sparse; inode tables initialised now so no lazy-init
 * thread writes behind the disk benchmarks in the guest.
 */
export async function makeScratchImage(file: string, sizeMiB: number): Promise<void> {
  if (!Number.isInteger(sizeMiB) || sizeMiB < 16)
    throw new IsobenchError('BAD_ARGS', `scratch disk size ${sizeMiB} MiB: must be an integer >= 16`);
  await fs.rm(file, { force: true });
  const fh = await fs.open(file, 'w');
  try {
    await fh.truncate(sizeMiB * 1024 * 1024);
  } finally {
    await fh.close();
  }
  const r = await run(
    [
      'mke2fs',
      '-q',
      '-F',
      '-t',
      'ext4',
      '-L',
      'scratch',
      '-m',
      '0',
      '-E',
      'lazy_itable_init=0,lazy_journal_init=0',
      file,
    ],
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0) {
    await fs.rm(file, { force: true });
    throw new IsobenchError('RUN_FAILED', `mke2fs for scratch disk ${file} failed: ${(r.stderr || r.stdout).trim()}`);
  }
}
