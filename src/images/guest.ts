/**
 * The VM guest: the Debian cloud kernel unpacked by scripts/setup.sh plus a small
 * busybox initramfs that isobench builds itself (cpio newc, gzip).
 *
 * The initramfs /init:
 *  1. mounts /proc and prints its own start time (`isobench-init: start
 *     uptime=S`) on the console first, as the bare init does: the payload's ready
 *     signal, the end point of the one start-up definition (the VM backend
 *     timestamps it as the console reaches the host); then /sys and /dev;
 *  2. honours the test hook `isobench.init=panic|hang` (panic: init exits, the
 *     kernel panics, `panic=-1 reboot=t` + QEMU `-no-reboot` make QEMU exit;
 *     hang: init sleeps forever, for timeout tests);
 *  3. insmods the virtio modules in dependency order (virtio_ring first);
 *  4. finds the disks by their virtio serial (`isobench-root`, `isobench-scratch`,
 *     set by the VM backend) rather than by vdX order (microvm probes virtio-mmio
 *     devices in reverse), mounts the workload rootfs ext4 read-only at /newroot
 *     (when the image lacks a mount point isobench needs, a read-only overlay of
 *     the image and a tiny skeleton of those directories is mounted instead), a
 *     tmpfs on /tmp, /run and /dev/shm, and the scratch ext4 (formatted on the
 *     host with mke2fs) read-write at /scratch;
 *     (only with `isobench.scratch=1` on the cmdline);
 *  5. configures eth0 from `isobench.ip=ADDR/PREFIX isobench.gw=GW`;
 *     (and, first of all, sets THP mode and defrag from `isobench.thp=` and
 *     `isobench.thp_defrag=`: the host's; transparent_hugepage= alone is not
 *     enough, a kernel turns THP off below 512 MiB of RAM);
 *  Steps 3-5 overlap: the virtio core loads in order, then blk, net (+ network
 *  set-up) and console drivers load in parallel while the disks mount;
 *  6. starts qemu-ga chrooted into the rootfs on its virtio-serial port
 *     (/dev/vportNpM found by name in /sys/class/virtio-ports), so guest-exec
 *     runs the workload binaries from the image at /usr/bin; the agent's own
 *     start-up overlaps the scratch mount and network set-up, and /init writes
 *     /run/isobench-ready when those are done (the VM backend waits for it);
 *  7. execs busybox init (PID 1 that reaps orphans, e.g. daemonised servers).
 *
 * A second "bare" initramfs whose init does `reboot -f` at once is the floor
 * the start-up benchmark and the accelerator calibration compare against.
 */
import { createHash } from 'node:crypto';
import { promises as fs, createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from './rootfs.js';
import { run, runOk } from '../util/proc.js';
import { IsobenchError } from '../errors.js';

/** Load order matters: each module's dependencies come before it. Missing ones are skipped. */
export const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_mmio',
  'virtio_blk',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio_console',
  'overlay',
] as const;

/** Which modules load in sequence (core) and which chains load in parallel after it. */
const MODULE_GROUPS = {
  core: ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_mmio'],
  blk: ['virtio_blk'],
  net: ['failover', 'net_failover', 'virtio_net'],
  console: ['virtio_console'],
};

/** Modules the q35 (PCI) guest needs; virtio_mmio only on microvm, overlay only when the image lacks mount points. */
const OPTIONAL_MODULES = new Set(['virtio_mmio', 'virtio_pci_legacy_dev', 'overlay']);

/** Serial strings the VM backend gives its disks; the init finds disks by them. */
export const ROOT_DISK_SERIAL = 'isobench-root';
export const SCRATCH_DISK_SERIAL = 'isobench-scratch';
export const AGENT_PORT_NAME = 'org.qemu.guest_agent.0';
/** Where qemu-ga may live inside the workload image (first one found wins). */
export const AGENT_PATHS = ['/usr/sbin/qemu-ga', '/usr/bin/qemu-ga', '/sbin/qemu-ga', '/bin/qemu-ga'];
/** Mount points the init needs in the rootfs; when one is missing it uses a read-only overlay. */
export const ROOT_MOUNT_POINTS = ['proc', 'sys', 'dev', 'tmp', 'run', 'scratch'];

/** Bump when the builder changes in a way the hash of its inputs would not show. */
const BUILDER_VERSION = '3';

export interface GuestKernel {
  /** Unpacked kernel package directory (from cacheDir()/kernel/current). */
  dir: string;
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

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

/** The kernel setup.sh unpacked, or null when there is none (doctor's and the VM provider's check: no throw). */
export function guestKernelDir(): string | null {
  const pointer = path.join(cacheDir(), 'kernel', 'current');
  if (!existsSync(pointer)) return null;
  const dir = readFileSync(pointer, 'utf8').trim();
  return existsSync(path.join(dir, 'boot')) ? dir : null;
}

/** The kernel setup.sh unpacked (cacheDir()/kernel/current). */
export async function currentKernelDir(): Promise<string> {
  const file = path.join(cacheDir(), 'kernel', 'current');
  try {
    const dir = (await fs.readFile(file, 'utf8')).trim();
    if (dir && existsSync(path.join(dir, 'boot'))) return dir;
  } catch {
    /* fall through */
  }
  throw new IsobenchError('NOT_BUILT', `no guest kernel unpacked (${file} missing or stale)`, { details: ['run scripts/setup.sh (as root) to fetch and unpack the Debian cloud kernel'] });
}

export async function resolveGuestKernel(kernelDir: string): Promise<GuestKernel> {
  const boot = path.join(kernelDir, 'boot');
  let entries: string[];
  try {
    entries = await fs.readdir(boot);
  } catch {
    throw new IsobenchError('NOT_BUILT', `guest kernel directory ${kernelDir} has no boot/`, { details: ['run scripts/setup.sh'] });
  }
  const vmlinuz = entries.find((e) => e.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new IsobenchError('NOT_BUILT', `no vmlinuz-* in ${boot}`, { details: ['run scripts/setup.sh'] });
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = path.join(kernelDir, 'lib', 'modules', version);
  return { dir: kernelDir, version, vmlinuz: path.join(boot, vmlinuz), modulesDir };
}

/** The /init of the full guest. Pure: the same text for every guest (parameters come from the kernel cmdline). */
export function renderInitScript(modules: readonly string[]): string {
  return `#!/bin/busybox sh
# isobench guest init (generated by src/images/guest.ts; parameters on the kernel cmdline)
export PATH=/bin
log() { echo "isobench-init: $*" > /dev/console; }
# The pause lets the serial driver drain the message before init's exit panics the kernel (a panic does not flush the tty).
fail() { log "FATAL: $*"; usleep 200000; exit 1; }
# First instruction, exactly as the bare init's: the payload's ready signal (the start-up definition's end point).
mount -t proc proc /proc
read UP _ < /proc/uptime
log "start uptime=$UP"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
IP= GW= MODE= AGENTDEV= MMIO= SCRATCH= THP= THPDEFRAG=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    isobench.thp=*) THP="\${arg#isobench.thp=}" ;;
    isobench.thp_defrag=*) THPDEFRAG="\${arg#isobench.thp_defrag=}" ;;
    isobench.ip=*) IP="\${arg#isobench.ip=}" ;;
    isobench.gw=*) GW="\${arg#isobench.gw=}" ;;
    isobench.scratch=1) SCRATCH=1 ;;
    isobench.init=*) MODE="\${arg#isobench.init=}" ;;
    virtio_mmio.device=*) MMIO="$MMIO device=\${arg#virtio_mmio.device=}" ;;
  esac
done
# THP: the host's mode. transparent_hugepage= on the cmdline is ignored by kernels in guests under 512 MiB
# (they turn THP off) and defrag has no boot parameter, so both are set here.
[ -n "$THP" ] && { echo "$THP" > /sys/kernel/mm/transparent_hugepage/enabled || log "cannot set THP $THP"; }
[ -n "$THPDEFRAG" ] && { echo "$THPDEFRAG" > /sys/kernel/mm/transparent_hugepage/defrag || log "cannot set THP defrag $THPDEFRAG"; }
case "$MODE" in
  panic) fail "test hook isobench.init=panic: init exits on purpose" ;;
  hang) log "test hook isobench.init=hang: init sleeps forever"; while :; do sleep 3600; done ;;
esac
load() {
  for m; do
    # insmod does not read module options from the cmdline (modprobe would): pass microvm's virtio-mmio devices
    ARGS=; [ "$m" = virtio_mmio ] && ARGS=$MMIO
    [ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko $ARGS || log "insmod $m failed"; }
  done
}
bgfail() { log "FATAL: $*"; echo "$*" >> /failed; }
disk_by_serial() {
  for s in /sys/block/vd*/serial; do
    [ -f "$s" ] || continue
    read v < "$s"
    [ "$v" = "$1" ] && { d=\${s%/serial}; echo "/dev/\${d##*/}"; return 0; }
  done
  return 1
}
wait_disk() {
  i=0
  until disk_by_serial "$1"; do
    i=$((i+1)); [ $i -gt 1000 ] && return 1; usleep 10000
  done
}
# The virtio core in order, then the independent drivers in parallel (2+ vCPUs overlap their probes).
load ${modules.filter((m) => MODULE_GROUPS.core.includes(m)).join(' ')}
load ${modules.filter((m) => MODULE_GROUPS.blk.includes(m)).join(' ')} &
JOBS=$!
load ${modules.filter((m) => MODULE_GROUPS.console.includes(m)).join(' ')} &
JOBS="$JOBS $!"
(
  load ${modules.filter((m) => MODULE_GROUPS.net.includes(m)).join(' ')}
  ip link set lo up
  if [ -n "$IP" ]; then
    ip link set eth0 up || bgfail "no eth0 for isobench.ip=$IP"
    ip addr add "$IP" dev eth0 || bgfail "cannot set $IP on eth0"
    [ -n "$GW" ] && { ip route add default via "$GW" || log "cannot add default route via $GW"; }
  fi
) &
JOBS="$JOBS $!"
ROOTDEV=$(wait_disk ${ROOT_DISK_SERIAL}) || fail "no virtio disk with serial ${ROOT_DISK_SERIAL} after 10 s"
# the scratch disk (if any) mounts beside the root
mkdir -p /scr
(
  if [ -z "$SCRATCH" ]; then
    touch /no-scratch
  elif SCRATCHDEV=$(wait_disk ${SCRATCH_DISK_SERIAL}); then
    mount -t ext4 "$SCRATCHDEV" /scr || bgfail "cannot mount scratch disk $SCRATCHDEV"
  else
    bgfail "no virtio disk with serial ${SCRATCH_DISK_SERIAL} after 10 s"
  fi
) &
JOBS="$JOBS $!"
mkdir -p /newroot /ro
mount -t ext4 -o ro "$ROOTDEV" /ro || fail "cannot mount $ROOTDEV (ext4, read-only)"
NEED_OVERLAY=
for d in ${ROOT_MOUNT_POINTS.join(' ')}; do [ -d /ro/$d ] || NEED_OVERLAY=1; done
if [ -n "$NEED_OVERLAY" ]; then
  insmod /lib/modules/overlay.ko || fail "image lacks mount points and overlay.ko failed"
  mkdir -p /skel && mount -t tmpfs -o mode=755 skel /skel
  for d in ${ROOT_MOUNT_POINTS.join(' ')}; do mkdir -p /skel/$d; done
  mount -t overlay -o ro,lowerdir=/skel:/ro overlay /newroot || fail "cannot mount overlay"
  log "rootfs lacks mount points: read-only overlay"
else
  mount --move /ro /newroot
fi
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount --bind /dev $R/dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=1777 tmp $R/tmp
mount -t tmpfs -o mode=755 run $R/run
AGENT=
for a in ${AGENT_PATHS.join(' ')}; do [ -x $R$a ] && { AGENT=$a; break; }; done
[ -n "$AGENT" ] || fail "no qemu-ga in the rootfs (looked in ${AGENT_PATHS.join(' ')})"
i=0
while [ -z "$AGENTDEV" ]; do
  for n in /sys/class/virtio-ports/*/name; do
    [ -f "$n" ] || continue
    read v < "$n"
    [ "$v" = ${AGENT_PORT_NAME} ] && { p=\${n%/name}; AGENTDEV=/dev/\${p##*/}; }
  done
  [ -n "$AGENTDEV" ] && [ -e "$AGENTDEV" ] && break
  AGENTDEV=
  i=$((i+1)); [ $i -gt 1000 ] && fail "no virtio-serial port named ${AGENT_PORT_NAME} after 10 s"; usleep 10000
done
# The agent starts now (its start-up overlaps the rest); the host waits for
# /run/isobench-ready, written below once the scratch disk and network are set.
read UP _ < /proc/uptime
log "agent starting uptime=$UP"
chroot $R $AGENT -m virtio-serial -p $AGENTDEV -f /run/qemu-ga.pid -t /run &
wait $JOBS
[ -f /failed ] && fail "$(cat /failed)"
if [ ! -f /no-scratch ]; then
  mount --move /scr $R/scratch || fail "cannot move the scratch mount"
  chmod 1777 $R/scratch
fi
read UP _ < /proc/uptime
echo "$UP" > $R/run/isobench-ready
log "ready uptime=$UP"
# busybox init as PID 1 reaps orphans (daemonised workload servers); the agent stays its child.
echo "::ctrlaltdel:/bin/reboot -f" > /etc/inittab
exec /bin/busybox init
`;
}

/** The bare-boot init: power off at once (the floor for start-up comparisons and the calibration guest). */
export function renderBareInitScript(): string {
  return `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
read UP _ < /proc/uptime
echo "isobench-bare: uptime=$UP" > /dev/console
/bin/busybox reboot -f
`;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
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
  return out.split('\n').map((l) => l.trim()).filter((l) => /^[\w.[-]+$/.test(l) && l !== 'busybox');
}

async function packCpio(stagingDir: string, outFile: string): Promise<void> {
  // argv only: the directory and output file are positional parameters, never interpolated.
  await runOk(['sh', '-c', 'set -e; cd "$1"; find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 > "$2"', 'pack-initramfs', stagingDir, outFile], {
    timeoutMs: 120_000,
  });
}

async function stage(dir: string, busybox: string, applets: string[], init: string): Promise<void> {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'etc', 'lib/modules', 'newroot', 'tmp', 'root']) await fs.mkdir(path.join(dir, d), { recursive: true });
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
export async function ensureGuestInitramfs(kernelDir: string, opts: GuestInitramfsOptions = {}): Promise<GuestInitramfs> {
  const kernel = await resolveGuestKernel(kernelDir);
  const busybox = opts.busybox ?? '/bin/busybox';
  if (!existsSync(busybox)) throw new IsobenchError('MISSING_DEPENDENCY', `busybox not found at ${busybox}`, { details: ['apt-get install busybox-static'] });
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
    await fs.writeFile(path.join(full, 'etc', 'isobench-guest'), `hash=${hash}\nkernel=${kernel.version}\nrootfs=${opts.rootfsHash ?? ''}\n`);
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
  if (!Number.isInteger(sizeMiB) || sizeMiB < 16) throw new IsobenchError('BAD_ARGS', `scratch disk size ${sizeMiB} MiB: must be an integer >= 16`);
  await fs.rm(file, { force: true });
  const fh = await fs.open(file, 'w');
  try {
    await fh.truncate(sizeMiB * 1024 * 1024);
  } finally {
    await fh.close();
  }
  const r = await run(['mke2fs', '-q', '-F', '-t', 'ext4', '-L', 'scratch', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', file], { timeoutMs: 120_000 });
  if (r.code !== 0) {
    await fs.rm(file, { force: true });
    throw new IsobenchError('RUN_FAILED', `mke2fs for scratch disk ${file} failed: ${(r.stderr || r.stdout).trim()}`);
  }
}
