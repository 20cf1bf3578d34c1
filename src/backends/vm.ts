/**
 * The VM backend: qemu-system-x86_64 with direct kernel boot of the Debian cloud
 * kernel, isobench's busybox initramfs (src/images/guest.ts), the workload image
 * as a read-only virtio-blk root, a raw scratch disk, virtio-net on a tap in the
 * bench namespace, QMP for control and qemu-guest-agent for exec.
 *
 * Accelerator: decided by measurement (accel.ts). Under TCG every figure
 * describes emulation, and info().warnings says so loudly. What the guest is
 * made of (-cpu host under KVM, device set, vhost-net, I/O thread, THP) is
 * decided in vm-choices.ts; the self-check (vm-selfcheck*.ts) verifies it.
 *
 * Host placement: QEMU is started through a tiny `sh -c` wrapper that writes its
 * own pid into the cgroup `isobench/<name>` (quota/weight as given) and then
 * execs QEMU (argv passed as "$@", never interpolated), inside the bench netns
 * (nsenter) when networked. nsenter and sh both exec, so the pid we spawn is
 * QEMU's pid. The cgroup's cpuset is spec.cpus plus the harness CPUs; thread
 * affinity narrows it: vCPU threads (ids from QMP) to spec.cpus, the same set a
 * container gets, QEMU's other threads to the harness CPUs (vm-placement.ts).
 *
 * Memory limit on the QEMU cgroup: the guest's limit is `-m`; the cgroup limit
 * is only a safety net against a runaway QEMU, set to guest memory + 512 MiB
 * under KVM, + 1536 MiB under TCG (TCG's translation cache may grow to 1 GiB by
 * default). It is not the figure compared across backends (footprint is).
 *
 * Scratch disk: a raw, sparse image under ctx.workDir with an ext4 made on the
 * host (mke2fs), attached with cache=none,aio=native (O_DIRECT: the guest's I/O
 * reaches the host disk, as a container's direct I/O does). When the work
 * directory's filesystem refuses O_DIRECT (tmpfs) it falls back to
 * cache=writeback,aio=threads and info().details.scratchCache says so.
 *
 * Start-up stages (ms since start() was called):
 *   launched        QEMU spawned (the start-up definition's start; the tap, scratch image and cgroup
 *                   were made before it, the tap's attachment timed on its own)
 *   payloadReady    the guest /init's first console line reached the host (the definition's end:
 *                   the serial console is QEMU's stdout, read live, then copied to the console log)
 *   qemuStarted     QMP socket answered (QEMU initialised its devices)
 *   kernelEntry     the origin of the guest's uptime: ready minus the guest's uptime then. The guest clock
 *                   starts at timekeeping init, after decompression and early setup, so this is later
 *                   than the real kernel entry and the early kernel lands in the stage before it;
 *                   bench/startup-vm.ts measures the real boundaries on a bare boot (earlyStages)
 *   initStarted     kernelEntry + the uptime the initramfs /init printed at its start
 *   agentStarting   kernelEntry + the uptime /init printed just before starting qemu-ga
 *   agentReady      first successful guest-exec of /bin/true
 *   guestReady      /init's set-up (scratch disk, network) also finished (start() resolves after it)
 *   guestUptimeAtReady  (a duration, not a point in time) the guest's /proc/uptime at ready
 * On a hardware-KVM host, check the design target (q35 <= 300 ms, microvm <=
 * 150 ms boot-to-ready) with `npx tsx bench/startup-vm.ts --accel kvm`.
 */
import { promises as fs, constants as fsConstants, createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import type { Backend, BackendContext, BackendInfo, ExecOptions, ExecResult, Footprint, Instance, InstanceSpec, StartOptions, StartupStages, StartupTiming } from './types.js';
import { CgroupHandle, CGROUP_PARENT } from '../host/cgroup.js';
import type { HostFacts } from '../host/facts.js';
import type { TapAttachment } from '../net/bench.js';
import { instanceFootprint } from './proc-memory.js';
import { cgroupWrappedArgv } from './exec-in-cgroup.js';
import { IsobenchError, errorMessage } from '../errors.js';
import { abortError, sleep, spawnLong, throwIfAborted, toolVersion } from '../util/proc.js';
import { decideAccelerator, type AccelDecision, type AccelRequest, type Accelerator } from './accel.js';
import { QmpClient } from './qmp.js';
import { QgaClient } from './qga.js';
import { IOTHREAD_ID, cpuModelFor, microvmMachine, thpKernelArgs, vhostNetOpens, vmChoices, type MachineType, type VmChoices } from './vm-choices.js';
import { PLACEMENT_POLICY, applyPlacement, holdsVhostNet, planPlacement, type AppliedPlacement, type PlacementPlan } from './vm-placement.js';
import { AGENT_PORT_NAME, ROOT_DISK_SERIAL, SCRATCH_DISK_SERIAL, currentKernelDir, ensureGuestInitramfs, makeScratchImage, type GuestInitramfs } from '../images/guest.js';

export type { MachineType } from './vm-choices.js';

export interface VmBackendOptions {
  machine: MachineType;
  accel: AccelRequest;
  /** Boot-to-ready bound; the guest is killed and start() throws INSTANCE_START after it. Default 60 s. */
  bootTimeoutMs?: number;
  /** Bound for the KVM calibration guest. Default 10 s. */
  calibrationTimeoutMs?: number;
  /** Extra kernel arguments (test hooks such as `isobench.init=panic`). */
  kernelArgs?: string[];
  /** Guest kernel directory; default: the one scripts/setup.sh unpacked. */
  kernelDir?: string;
  qemuBinary?: string;
}

export const DEFAULT_BOOT_TIMEOUT_MS = 60_000;
/** Kernel arguments every guest gets. `quiet` keeps the (slow, emulated) serial console out of the boot path. */
export const BASE_KERNEL_ARGS = ['console=ttyS0', 'reboot=t', 'panic=-1', 'quiet', 'cryptomgr.notests', 'i8042.noaux', 'i8042.nomux', 'i8042.nopnp', '8250.nr_uarts=1'];
const QEMU = 'qemu-system-x86_64';
/** Writes its own pid to each cgroup procs file given before `--`, then execs the rest. */
export const TCG_WARNING =
  'VM figures come from TCG EMULATION (no usable hardware virtualization on this host): they describe QEMU emulation, not the cost of hardware virtualization (KVM). Do not use them to size VMs on a KVM host.';

// ---------------------------------------------------------------------------
// argv building (pure)

export interface QemuArgvInput {
  machine: MachineType;
  accel: Accelerator;
  vcpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  append: string[];
  /** Serial console goes here (file chardev) or to stdio when undefined. */
  consoleLog?: string;
  rootImage?: string;
  scratch?: { path: string; cache: 'none' | 'writeback' };
  tap?: { ifname: string; mac: string };
  qmpSocket?: string;
  qgaSocket?: string;
  /** Process name (`-name`): isobench-<instance>, so `doctor --cleanup` can recognise a leftover QEMU. */
  name?: string;
  /** Serve both virtio-blk disks from one I/O thread (IOTHREAD_ID) instead of QEMU's main loop. */
  iothread?: boolean;
  /** virtio-net served by the host kernel (vhost-net) instead of QEMU's main loop; only when /dev/vhost-net opens. */
  vhost?: boolean;
  /** microvm without option ROMs, PIT, PIC and RTC: needs the TSC-deadline timer (-cpu host under KVM). */
  leanMicrovm?: boolean;
}

export function buildQemuArgv(i: QemuArgvInput, qemu = QEMU): string[] {
  const mmio = i.machine === 'microvm';
  const dev = (pci: string, mmioName: string): string => (mmio ? mmioName : pci);
  const argv = [qemu, '-nodefaults', '-no-user-config', '-nographic', '-no-reboot'];
  // debug-threads=on names QEMU's threads ("CPU 0/KVM", "IO iothread0", "worker"), so placement and /proc show which is which.
  if (i.name) argv.push('-name', `${i.name},debug-threads=on`);
  argv.push('-machine', mmio ? microvmMachine(Boolean(i.leanMicrovm)) : 'q35');
  // thread= is a TCG option (single- or multi-threaded translation); KVM always runs one thread per vCPU.
  argv.push('-accel', i.accel === 'kvm' ? 'kvm' : `tcg,thread=${i.vcpus > 1 ? 'multi' : 'single'}`);
  const cpu = cpuModelFor(i.accel).arg;
  if (cpu) argv.push('-cpu', cpu);
  argv.push('-smp', String(i.vcpus), '-m', `${i.memoryMiB}M`);
  argv.push('-kernel', i.kernel, '-initrd', i.initrd, '-append', i.append.join(' '));
  if (i.consoleLog) argv.push('-chardev', `file,id=con0,path=${i.consoleLog}`, '-serial', 'chardev:con0');
  else argv.push('-serial', 'stdio');
  const io = i.iothread && (i.rootImage || i.scratch) ? `,iothread=${IOTHREAD_ID}` : '';
  if (io) argv.push('-object', `iothread,id=${IOTHREAD_ID}`);
  if (i.rootImage) {
    argv.push('-drive', `file=${i.rootImage},if=none,id=root,format=raw,readonly=on`);
    argv.push('-device', `${dev('virtio-blk-pci', 'virtio-blk-device')},drive=root,serial=${ROOT_DISK_SERIAL}${io}`);
  }
  if (i.scratch) {
    const cache = i.scratch.cache === 'none' ? 'cache=none,aio=native' : 'cache=writeback,aio=threads';
    argv.push('-drive', `file=${i.scratch.path},if=none,id=scratch,format=raw,${cache},discard=unmap`);
    argv.push('-device', `${dev('virtio-blk-pci', 'virtio-blk-device')},drive=scratch,serial=${SCRATCH_DISK_SERIAL}${io}`);
  }
  if (i.tap) {
    argv.push('-netdev', `tap,id=net0,ifname=${i.tap.ifname},script=no,downscript=no${i.vhost ? ',vhost=on' : ''}`);
    // romfile= : no iPXE option ROM for the firmware to load and run (direct kernel boot needs none)
    argv.push('-device', mmio ? `virtio-net-device,netdev=net0,mac=${i.tap.mac}` : `virtio-net-pci,netdev=net0,mac=${i.tap.mac},romfile=`);
  }
  if (i.qmpSocket) argv.push('-qmp', `unix:${i.qmpSocket},server=on,wait=off`);
  if (i.qgaSocket) {
    argv.push('-chardev', `socket,id=qga0,path=${i.qgaSocket},server=on,wait=off`);
    argv.push('-device', dev('virtio-serial-pci', 'virtio-serial-device'), '-device', `virtserialport,chardev=qga0,name=${AGENT_PORT_NAME}`);
  }
  return argv;
}

/** Console text without ANSI escapes and empty lines; the last `n` lines (pure). */
export function consoleTail(text: string, n = 15): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r/g, '');
  return clean
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-n);
}

/**
 * What a start-up error quotes from the console: the init's own messages and any
 * panic line (a panic's stack trace pushes them out of the tail), then the last `n` lines (pure).
 */
export function consoleQuote(text: string, n = 15): string[] {
  const all = consoleTail(text, Number.MAX_SAFE_INTEGER);
  const tail = all.slice(-n);
  const notable = all.slice(0, Math.max(0, all.length - n)).filter((l) => /isobench-init:|Kernel panic|end Kernel panic|Oops|BUG:/.test(l));
  return notable.length ? [...notable.slice(-10), '...', ...tail] : tail;
}

/** The guest /init's first line: the payload's ready signal (complete once the uptime is followed by whitespace). */
export const INIT_START_RE = /isobench-init: start uptime=[\d.]+\s/;

/** `isobench-init: <what> uptime=S` marks from the console, in seconds (pure). */
export function parseInitMarks(text: string): { start?: number; agentStarting?: number } {
  const start = /isobench-init: start uptime=([\d.]+)/.exec(text)?.[1];
  const agent = /isobench-init: agent starting uptime=([\d.]+)/.exec(text)?.[1];
  return { ...(start ? { start: Number(start) } : {}), ...(agent ? { agentStarting: Number(agent) } : {}) };
}

export function variantOf(machine: MachineType, accel: Accelerator): string {
  return `${machine}-${accel}`;
}

// ---------------------------------------------------------------------------
// bare boots: calibration and the start-up floor

export interface BareBootResult {
  ms: number;
  /** Guest uptime when the bare init ran (s), from its console line. */
  guestUptimeS: number | undefined;
  timedOut: boolean;
  ok: boolean;
  console: string;
  /**
   * With earlyStages, ms since spawn when the host read: SeaBIOS's "Booting from ROM" (firmware done; the
   * kernel loader and decompression follow) and the kernel's first early-console line ("Linux version",
   * printed from start_kernel: the decompressed kernel is running). Guest uptime only starts later, at timekeeping init.
   */
  firmwareDoneMs?: number;
  kernelConsoleMs?: number;
}

/**
 * Boot the kernel with the bare initramfs and time QEMU from spawn until the
 * bare init prints its line on the console (it then does `reboot -f`; QEMU is
 * killed at that point either way, since a microvm guest's reboot does not end
 * QEMU here).
 */
export async function bareBoot(o: {
  guest: GuestInitramfs;
  accel: Accelerator;
  machine: MachineType;
  leanMicrovm?: boolean;
  vcpus?: number;
  memoryMiB?: number;
  timeoutMs: number;
  qemu?: string;
  /** Also time the firmware hand-over and the kernel's first console line (earlyprintk=serial; costs serial output, so the bench only). */
  earlyStages?: boolean;
  /** Start QEMU through this wrapper (the bench: into a cgroup of its own, placed as an instance's QEMU is). */
  wrap?: (argv: string[]) => string[];
}): Promise<BareBootResult> {
  const argv = buildQemuArgv(
    { machine: o.machine, accel: o.accel, vcpus: o.vcpus ?? 1, memoryMiB: o.memoryMiB ?? 256, kernel: o.guest.kernel.vmlinuz, initrd: o.guest.bareInitrdPath, append: o.earlyStages ? ['earlyprintk=serial', ...BASE_KERNEL_ARGS] : BASE_KERNEL_ARGS, leanMicrovm: Boolean(o.leanMicrovm) },
    o.qemu,
  );
  // earlyprintk goes before `quiet`: early parameters apply in order, and the early console replays the
  // kernel's first lines ("Linux version") only when it registers before quiet lowers the log level.
  const t0 = performance.now();
  const proc = spawnLong(o.wrap ? o.wrap(argv) : argv);
  let out = '';
  let doneMs: number | undefined;
  let firmwareDoneMs: number | undefined;
  let kernelConsoleMs: number | undefined;
  let exited = false;
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, o.timeoutMs);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (firmwareDoneMs === undefined && out.includes('Booting from ROM')) firmwareDoneMs = performance.now() - t0;
      if (kernelConsoleMs === undefined && out.includes('Linux version')) kernelConsoleMs = performance.now() - t0;
      if (doneMs === undefined && /isobench-bare: uptime=[\d.]+\s/.test(out)) {
        doneMs = performance.now() - t0;
        clearTimeout(timer);
        resolve();
      }
    });
    proc.then(
      () => {
        exited = true;
        clearTimeout(timer);
        resolve();
      },
      () => resolve(),
    );
  });
  await finished;
  if (!exited) proc.kill('SIGKILL');
  const r = await proc;
  const up = /isobench-bare: uptime=([\d.]+)/.exec(out)?.[1];
  return {
    ms: doneMs ?? performance.now() - t0,
    guestUptimeS: up ? Number(up) : undefined,
    timedOut: doneMs === undefined && !exited,
    ok: doneMs !== undefined,
    console: out + String(r.stderr ?? ''),
    ...(firmwareDoneMs !== undefined ? { firmwareDoneMs } : {}),
    ...(kernelConsoleMs !== undefined ? { kernelConsoleMs } : {}),
  };
}

// ---------------------------------------------------------------------------
// doctor probe

export interface VmProbe {
  qemuVersion: string | null;
  kvmSummary: string;
  decision: AccelDecision;
  /** Bare boot (kernel + `reboot -f` init) under TCG here, ms: what an emulated VM pays to boot. */
  tcgBareBootMs: number | null;
  /** Bounded bare boot under KVM, when measured: ms, or null when it did not finish in time. */
  kvmBareBootMs?: number | null;
  kvmCalibrationTimeoutMs?: number;
  /** Why the KVM calibration boot failed (rather than timed out), when it did. */
  kvmCalibrationError?: string;
  warnings: string[];
}

/**
 * What `doctor` reports about the VM backend: QEMU version, the accelerator
 * decision and its reason, and calibration figures. `measureKvm` also boots the
 * calibration guest under KVM (bounded) even when `auto` would not, so doctor can
 * show how slow a software KVM is.
 */
export async function probeVm(host: HostFacts, opts: { requested?: AccelRequest; machine?: MachineType; measureKvm?: boolean; calibrationTimeoutMs?: number; measureTcg?: boolean } = {}): Promise<VmProbe> {
  const qemuVersion = await toolVersion([QEMU, '--version'], /version (\S+)/);
  const machine = opts.machine ?? 'q35';
  const calTimeout = opts.calibrationTimeoutMs ?? 10_000;
  const warnings: string[] = [];
  let guest: GuestInitramfs | undefined;
  try {
    guest = await ensureGuestInitramfs(await currentKernelDir());
  } catch (e) {
    warnings.push(`guest kernel/initramfs unavailable: ${errorMessage(e)}`);
  }
  const kvmCalibrate = async (): Promise<number> => {
    if (!guest) throw new Error('no guest kernel');
    const r = await bareBoot({ guest, accel: 'kvm', machine, timeoutMs: calTimeout });
    if (r.timedOut) return Number.POSITIVE_INFINITY;
    if (!r.ok) throw new Error(`calibration guest failed: ${consoleTail(r.console, 3).join(' | ')}`);
    return r.ms;
  };
  const decision = await decideAccelerator(host, opts.requested ?? 'auto', kvmCalibrate).catch((e: unknown) => ({
    accel: 'tcg' as const,
    requested: opts.requested ?? 'auto',
    reason: errorMessage(e),
    calibration: null,
  }));
  let tcgBareBootMs: number | null = null;
  if (guest && qemuVersion && opts.measureTcg !== false) {
    const r = await bareBoot({ guest, accel: 'tcg', machine, timeoutMs: 30_000 });
    tcgBareBootMs = r.ok ? r.ms : null;
  }
  const probe: VmProbe = { qemuVersion, kvmSummary: host.kvm.summary, decision, tcgBareBootMs, warnings };
  if (opts.measureKvm && guest && host.kvm.devicePresent) {
    if (decision.calibration) {
      probe.kvmBareBootMs = decision.calibration.kvmBootMs;
      if (decision.calibration.error) probe.kvmCalibrationError = decision.calibration.error;
    } else {
      // -cpu host under a software KVM makes QEMU abort at once (MSR 0x10a): say so rather than "did not finish".
      try {
        const ms = await kvmCalibrate();
        probe.kvmBareBootMs = Number.isFinite(ms) ? ms : null;
      } catch (e) {
        probe.kvmBareBootMs = null;
        probe.kvmCalibrationError = errorMessage(e).slice(0, 300);
      }
    }
    probe.kvmCalibrationTimeoutMs = calTimeout;
  }
  if (decision.accel === 'tcg') warnings.push(TCG_WARNING);
  if (!qemuVersion) warnings.push(`${QEMU} not found: apt-get install qemu-system-x86`);
  return probe;
}

// ---------------------------------------------------------------------------
// the backend

/** Does the filesystem holding `dir` accept O_DIRECT (cache=none)? */
export async function supportsDirectIo(dir: string): Promise<boolean> {
  const probe = path.join(dir, `.odirect-probe-${process.pid}`);
  try {
    await fs.writeFile(probe, Buffer.alloc(4096));
    const fh = await fs.open(probe, fsConstants.O_RDONLY | fsConstants.O_DIRECT);
    await fh.close();
    return true;
  } catch {
    return false;
  } finally {
    await fs.rm(probe, { force: true });
  }
}

export class VmBackend implements Backend {
  readonly kind = 'vm' as const;
  private decision: AccelDecision | undefined;
  private guest: GuestInitramfs | undefined;
  private qemuVersion: string | null = null;
  private directIo: boolean | undefined;
  private choicesMade: VmChoices | undefined;

  constructor(
    private readonly ctx: BackendContext,
    readonly opts: VmBackendOptions,
  ) {}

  /** The choices prepare() made (CPU model, device set, vhost, I/O thread). */
  get choices(): VmChoices | undefined {
    return this.choicesMade;
  }

  /** Accelerator in use: decided by prepare(); before that, what auto would pick without calibrating. */
  get accelerator(): Accelerator {
    if (this.decision) return this.decision.accel;
    if (this.opts.accel !== 'auto') return this.opts.accel;
    return this.ctx.host.kvm.hardware ? 'kvm' : 'tcg';
  }

  get variant(): string {
    return variantOf(this.opts.machine, this.accelerator);
  }

  get label(): string {
    return `vm:${this.variant}`;
  }

  async prepare(): Promise<void> {
    this.qemuVersion = await toolVersion([this.opts.qemuBinary ?? QEMU, '--version'], /version (\S+)/);
    if (!this.qemuVersion) throw new IsobenchError('BACKEND_UNAVAILABLE', `${QEMU} not found`, { details: ['apt-get install qemu-system-x86'] });
    try {
      this.guest = await ensureGuestInitramfs(this.opts.kernelDir ?? (await currentKernelDir()), { rootfsHash: this.ctx.image.hash });
    } catch (e) {
      throw new IsobenchError('BACKEND_UNAVAILABLE', `VM guest unavailable: ${errorMessage(e)}`, { cause: e, details: e instanceof IsobenchError ? e.details : [] });
    }
    const guest = this.guest;
    const calTimeout = this.opts.calibrationTimeoutMs ?? 10_000;
    this.decision = await decideAccelerator(this.ctx.host, this.opts.accel, async () => {
      const r = await bareBoot({ guest, accel: 'kvm', machine: this.opts.machine, timeoutMs: calTimeout, ...(this.opts.qemuBinary ? { qemu: this.opts.qemuBinary } : {}) });
      if (r.timedOut) return Number.POSITIVE_INFINITY;
      if (!r.ok) throw new Error(`calibration guest failed: ${consoleTail(r.console, 3).join(' | ')}`);
      return r.ms;
    });
    await fs.mkdir(this.ctx.workDir, { recursive: true });
    this.directIo = await supportsDirectIo(this.ctx.workDir);
    this.choicesMade = vmChoices({ accel: this.decision.accel, machine: this.opts.machine, hostCpuFlags: this.ctx.host.cpuFlags, vhostNetOpens: await vhostNetOpens() });
  }

  info(): BackendInfo {
    const d = this.decision;
    const warnings: string[] = [];
    if (this.accelerator === 'tcg') warnings.push(TCG_WARNING);
    if (this.directIo === false) warnings.push(`VM scratch disk uses cache=writeback: ${this.ctx.workDir} does not support O_DIRECT, so VM disk figures include the host page cache`);
    return {
      kind: 'vm',
      variant: this.variant,
      accelerator: this.accelerator,
      acceleratorReason: d?.reason ?? 'not prepared yet',
      versions: { qemu: this.qemuVersion ?? 'unknown', guestKernel: this.guest?.kernel.version ?? 'unknown' },
      warnings,
      details: {
        machine: this.opts.machine,
        accelRequested: this.opts.accel,
        calibration: d?.calibration ?? null,
        guestInitramfsHash: this.guest?.hash,
        scratchCache: this.directIo === false ? 'writeback,aio=threads' : 'none,aio=native',
        qemuCgroupMemoryLimit: 'guest memory + 512 MiB (KVM) / + 1536 MiB (TCG): a safety net, not the guest limit (-m is)',
        kernelArgs: [...BASE_KERNEL_ARGS, ...thpKernelArgs(this.ctx.host.thp)].join(' '),
        ...(this.choicesMade ? { choices: this.choicesMade } : {}),
        placementPolicy: PLACEMENT_POLICY,
      },
    };
  }

  async start(spec: InstanceSpec, opts: StartOptions = {}): Promise<Instance> {
    throwIfAborted(opts.signal);
    if (!this.decision || !this.guest) await this.prepare();
    const inst = new VmInstance(this.ctx, spec, {
      machine: this.opts.machine,
      accel: this.accelerator,
      guest: this.guest as GuestInitramfs,
      bootTimeoutMs: this.opts.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS,
      kernelArgs: this.opts.kernelArgs ?? [],
      directIo: this.directIo ?? false,
      qemu: this.opts.qemuBinary ?? QEMU,
      choices: this.choicesMade ?? vmChoices({ accel: this.accelerator, machine: this.opts.machine, hostCpuFlags: this.ctx.host.cpuFlags, vhostNetOpens: false }),
    });
    await inst.boot(opts.signal);
    return inst;
  }
}

interface VmInstanceConfig {
  machine: MachineType;
  accel: Accelerator;
  guest: GuestInitramfs;
  bootTimeoutMs: number;
  kernelArgs: string[];
  directIo: boolean;
  qemu: string;
  choices: VmChoices;
}

export interface GuestResources {
  nproc: number;
  memTotalBytes: number;
}

export class VmInstance implements Instance {
  readonly kind = 'vm' as const;
  readonly scratchDir = '/scratch';
  readonly variant: string;
  address: string | undefined;
  cgroup: CgroupHandle | undefined;
  /** The guest's view of its resources, read at ready. */
  resources: GuestResources | undefined;
  readonly consoleLog: string;

  private readonly t0 = performance.now();
  private stages: StartupStages = {};
  private proc: ResultPromise | undefined;
  private pid: number | undefined;
  private exited = false;
  private exitInfo = '';
  private qmp: QmpClient | undefined;
  private qga: QgaClient | undefined;
  private readonly releases: (() => Promise<void>)[] = [];
  private stopping: Promise<void> | undefined;
  /** The start's abort signal, while it boots. */
  private bootSignal: AbortSignal | undefined;
  private readonly dir: string;
  private socketDir: string;
  private tap: TapAttachment | undefined;
  private guestOomKills = 0;
  private readonly plan: PlacementPlan;
  private placed: AppliedPlacement | undefined;
  private placementError: string | undefined;
  private qemuArgv: string[] = [];
  private networkAttachMs: number | undefined;
  private consoleOut: WriteStream | undefined;

  constructor(
    private readonly ctx: BackendContext,
    private readonly spec: InstanceSpec,
    private readonly cfg: VmInstanceConfig,
  ) {
    if (!/^[a-z0-9-]{1,32}$/.test(spec.name)) throw new IsobenchError('BAD_ARGS', `instance name ${JSON.stringify(spec.name)} must match [a-z0-9-]{1,32}`);
    this.variant = variantOf(cfg.machine, cfg.accel);
    this.dir = path.join(ctx.workDir, `vm-${spec.name}`);
    this.socketDir = this.dir;
    this.consoleLog = path.join(ctx.rawDir, `console-${spec.name}.log`);
    this.plan = planPlacement(spec.cpus, ctx.host.cpus);
  }

  get name(): string {
    return this.spec.name;
  }

  /** The tap in the bench namespace, where tc shapes this VM's traffic. */
  get benchIf(): string | undefined {
    return this.tap?.tap;
  }

  private since(): number {
    return performance.now() - this.t0;
  }

  private track(label: string, release: () => Promise<void> | void): void {
    this.releases.push(this.ctx.cleanup.add(label, release));
  }

  /** Everything up to ready; on failure everything created is released and INSTANCE_START thrown. */
  async boot(signal?: AbortSignal): Promise<void> {
    const deadline = this.t0 + this.cfg.bootTimeoutMs;
    this.bootSignal = signal;
    try {
      await this.launch();
      throwIfAborted(signal);
      await this.waitReady(deadline);
    } catch (e) {
      if (signal?.aborted) {
        // Cancelled (Ctrl-C, a workload timeout): release everything now, before the run's own cleanup ends.
        await this.stop().catch(() => undefined);
        throw abortError(signal);
      }
      const tail = await this.readConsoleTail();
      await this.stop().catch(() => undefined);
      const why = errorMessage(e);
      const lines = tail.length ? tail : ['(console log empty)'];
      throw new IsobenchError('INSTANCE_START', `VM ${this.spec.name} did not become ready: ${why}\nlast console lines (${this.consoleLog}):\n${lines.map((l) => `  | ${l}`).join('\n')}`, {
        cause: e,
        details: [`console log: ${this.consoleLog}`],
      });
    }
  }

  private async launch(): Promise<void> {
    const { ctx, spec, cfg } = this;
    await fs.mkdir(this.dir, { recursive: true });
    await fs.mkdir(ctx.rawDir, { recursive: true });
    this.track(`vm dir ${this.dir}`, () => fs.rm(this.dir, { recursive: true, force: true }));
    // unix socket paths are limited to 107 bytes
    if (path.join(this.dir, 'qmp.sock').length > 100) {
      // The run's short id in the name: `doctor --cleanup` tells a live run's sockets from a dead one's.
      this.socketDir = mkdtempSync(path.join(os.tmpdir(), `isobench-vm-${ctx.shortId}-`));
      const sd = this.socketDir;
      this.track(`vm sockets ${sd}`, () => fs.rm(sd, { recursive: true, force: true }));
    }
    // A workload may place the scratch on a device it owns (DiskSpec.placeUnder).
    const scratch = spec.disk.placeUnder ? path.join(spec.disk.placeUnder, `${spec.name}-scratch.img`) : path.join(this.dir, 'scratch.img');
    const cg = new CgroupHandle(ctx.host.cgroup, `${CGROUP_PARENT}/${spec.name}`);
    const overheadMiB = cfg.accel === 'tcg' ? 1536 : 512;
    // Scratch image, tap and cgroup are independent: make them concurrently (each registers its own release).
    const steps = await Promise.allSettled([
      makeScratchImage(scratch, spec.disk.sizeMiB),
      fs.rm(this.consoleLog, { force: true }),
      (async () => {
        if (!spec.network) return;
        if (!ctx.net) throw new IsobenchError('INSTANCE_START', `instance ${spec.name} wants the network but the run has no bench network`);
        const tn = performance.now();
        this.tap = await ctx.net.attachTap();
        this.networkAttachMs = performance.now() - tn;
        this.address = this.tap.address;
        this.releases.push(this.tap.release);
      })(),
      (async () => {
        this.track(`cgroup ${cg.relPath}`, () => cg.destroy());
        await cg.create();
        this.cgroup = cg;
        await cg.setLimits({
          // vCPU threads are narrowed to spec.cpus by their affinity; QEMU's other threads to the harness CPUs (vm-placement.ts).
          cpus: this.plan.cgroupCpus,
          memoryBytes: (spec.memoryMiB + overheadMiB) * 1024 * 1024,
          ...(spec.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: spec.cpuQuotaPercent } : {}),
          ...(spec.cpuWeight !== undefined ? { cpuWeight: spec.cpuWeight } : {}),
        });
      })(),
    ]);
    for (const st of steps) if (st.status === 'rejected') throw st.reason;

    // The guest's THP mode is the host's (its kernel's own default may differ: Debian's is "always").
    const append = [...BASE_KERNEL_ARGS, ...thpKernelArgs(ctx.host.thp), 'isobench.scratch=1'];
    if (this.tap && ctx.net) append.push(`isobench.ip=${this.tap.address}/15`, `isobench.gw=${ctx.net.gateway}`);
    append.push(...cfg.kernelArgs);
    const qemuArgv = buildQemuArgv(
      {
        machine: cfg.machine,
        accel: cfg.accel,
        vcpus: spec.vcpus,
        memoryMiB: spec.memoryMiB,
        kernel: cfg.guest.kernel.vmlinuz,
        initrd: cfg.guest.initrdPath,
        append,
        // The console goes to QEMU's stdout, read live (the payload's ready line is timestamped as it arrives,
        // as bareBoot does) and copied to consoleLog.
        rootImage: ctx.image.ext4Path,
        scratch: { path: scratch, cache: cfg.directIo ? 'none' : 'writeback' },
        ...(this.tap ? { tap: { ifname: this.tap.tap, mac: this.tap.mac } } : {}),
        qmpSocket: path.join(this.socketDir, 'qmp.sock'),
        qgaSocket: path.join(this.socketDir, 'qga.sock'),
        name: `isobench-${spec.name}`,
        iothread: cfg.choices.iothread.on,
        vhost: cfg.choices.vhost.on,
        leanMicrovm: cfg.machine === 'microvm' && cfg.choices.machine.arg.includes('pit=off'),
      },
      cfg.qemu,
    );
    this.qemuArgv = qemuArgv;
    let argv = cgroupWrappedArgv(cg.procsFiles(), qemuArgv);
    if (this.tap && ctx.net) argv = ctx.net.wrap(argv);
    await fs.writeFile(path.join(ctx.rawDir, `qemu-argv-${spec.name}.json`), `${JSON.stringify(argv, null, 1)}\n`);

    const log = createWriteStream(this.consoleLog, { flags: 'a' });
    this.consoleOut = log;
    this.stages.launched = this.since();
    const proc = spawnLong(argv);
    // The guest /init's first line (INIT_START_RE) is the payload's ready signal: timestamp it on arrival.
    let seen = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      const at = this.since();
      log.write(chunk);
      if (this.stages.payloadReady !== undefined) return;
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (INIT_START_RE.test(seen)) this.stages.payloadReady = at;
    });
    this.proc = proc;
    this.pid = proc.pid;
    this.track(`qemu ${spec.name} (pid ${proc.pid ?? '?'})`, () => this.killQemu());
    proc.then(
      (r) => {
        this.exited = true;
        this.exitInfo = `QEMU exited (${r.exitCode !== undefined ? `code ${r.exitCode}` : `signal ${r.signal ?? '?'}`})${r.stderr ? `: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      },
      () => {
        this.exited = true;
      },
    );
  }

  private async waitReady(deadline: number): Promise<void> {
    const signal = this.bootSignal;
    // An abort ends every wait of the boot as QEMU's exit would.
    const alive = (): boolean => !this.exited && !signal?.aborted;
    const left = (): number => Math.max(1, deadline - performance.now());
    const bail = (what: string): never => {
      throw new Error(this.exited ? `${this.exitInfo || 'QEMU exited'} while ${what}` : `timed out after ${this.cfg.bootTimeoutMs} ms while ${what}`);
    };
    try {
      this.qmp = await QmpClient.connect(path.join(this.socketDir, 'qmp.sock'), { timeoutMs: left(), isAlive: alive });
    } catch (e) {
      bail(`connecting to QMP (${errorMessage(e)})`);
    }
    this.stages.qemuStarted = this.since();
    // Pin the vCPU threads apart from QEMU's other threads as soon as QMP answers, overlapping the guest's
    // boot (off the start-up path); again at ready for threads started since (vhost's worker, pool workers).
    const early = this.place().catch((e: unknown) => {
      this.placementError = errorMessage(e);
    });
    try {
      this.qga = await QgaClient.connect(path.join(this.socketDir, 'qga.sock'), { timeoutMs: left(), isAlive: alive });
    } catch (e) {
      bail(`connecting to the guest agent socket (${errorMessage(e)})`);
    }
    const qga = this.qga as QgaClient;
    // The agent is up once a sync round-trips; ready once it ran /bin/true.
    for (;;) {
      throwIfAborted(signal);
      if (this.exited) bail('waiting for the guest agent');
      // A panicked guest does not always end QEMU (microvm): fail at once rather than at the timeout.
      if (/Kernel panic - not syncing/.test(await fs.readFile(this.consoleLog, 'utf8').catch(() => ''))) bail('the guest kernel panicked');
      if (performance.now() > deadline) bail('waiting for the guest agent');
      try {
        await qga.sync(Math.min(250, left()));
        const r = await qga.exec(['/bin/true'], { timeoutMs: Math.min(10_000, left()) });
        if (r.code === 0) break;
        throw new Error(`/bin/true in the guest: exit ${r.code} ${r.stderr.trim()}`);
      } catch (e) {
        // QEMU closing the agent socket means it is exiting: wait for the exit to report why.
        if (qga.closed) await this.waitExit(2_000);
        if (this.exited || performance.now() > deadline) bail(`waiting for the guest agent (${errorMessage(e)})`);
        if (!(e instanceof Error && /no answer/.test(e.message))) throw e;
      }
    }
    this.stages.agentReady = this.since();
    // The init printed its start line long before the agent answered; give a slow pipe a moment, then insist.
    for (let i = 0; i < 50 && this.stages.payloadReady === undefined; i++) await sleep(10);
    if (this.stages.payloadReady === undefined) throw new Error('the guest agent answered but the console never showed the init\'s start line');
    // Guest time at ready: one exec reads uptime and the resources the guest sees.
    const before = this.since();
    // /init writes /run/isobench-ready once the scratch disk and network are set up (they overlap the agent's start).
    const probe = await qga.exec(
      ['sh', '-c', 'i=0; while [ ! -e /run/isobench-ready ]; do i=$((i+1)); [ $i -gt 2000 ] && { echo "guest set-up never finished" >&2; exit 1; }; usleep 5000; done; cat /proc/uptime; nproc; grep MemTotal /proc/meminfo; grep oom_kill /proc/vmstat || echo oom_kill 0'],
      { timeoutMs: Math.max(1_000, Math.min(15_000, left())) },
    );
    const after = this.since();
    if (probe.code !== 0) throw new Error(`guest probe failed: exit ${probe.code}: ${probe.stderr.trim()}`);
    this.stages.guestReady = after;
    const lines = probe.stdout.trim().split('\n');
    const uptimeS = Number(lines[0]?.split(/\s+/)[0]);
    const nproc = Number(lines[1]);
    const memKb = Number(/MemTotal:\s+(\d+)/.exec(probe.stdout)?.[1] ?? NaN);
    this.guestOomKills = Number(/oom_kill (\d+)/.exec(probe.stdout)?.[1] ?? 0);
    this.resources = { nproc, memTotalBytes: memKb * 1024 };
    if (Number.isFinite(uptimeS)) {
      const kernelEntry = (before + after) / 2 - uptimeS * 1000;
      const atReady = uptimeS * 1000 - ((before + after) / 2 - this.stages.agentReady);
      this.stages.kernelEntry = kernelEntry;
      const marks = parseInitMarks(await fs.readFile(this.consoleLog, 'utf8').catch(() => ''));
      if (marks.start !== undefined) this.stages.initStarted = kernelEntry + marks.start * 1000;
      if (marks.agentStarting !== undefined) this.stages.agentStarting = kernelEntry + marks.agentStarting * 1000;
      this.stages.guestUptimeAtReady = atReady;
    }
    await early;
    await this.place();
    if (nproc !== this.spec.vcpus) throw new Error(`guest sees ${nproc} CPUs, expected ${this.spec.vcpus}`);
    const memMiB = (memKb * 1024) / 2 ** 20;
    if (!(memMiB <= this.spec.memoryMiB && memMiB >= this.spec.memoryMiB * 0.6)) throw new Error(`guest MemTotal ${memMiB.toFixed(0)} MiB does not match -m ${this.spec.memoryMiB}M`);
  }

  startupStages(): StartupStages {
    return { ...this.stages };
  }

  startupTiming(): StartupTiming {
    const { launched, payloadReady } = this.stages;
    if (launched === undefined || payloadReady === undefined) throw new Error(`VM ${this.spec.name}: start-up end points missing (not booted?)`);
    return {
      launchedMs: launched,
      payloadReadyMs: payloadReady,
      ...(this.networkAttachMs !== undefined ? { networkAttachMs: this.networkAttachMs } : {}),
      signal: "the guest /init's first line (isobench-init: start) on the serial console, QEMU's stdout read live by the harness; launch = QEMU spawned",
    };
  }

  /** Apply the thread placement (vm-placement.ts); vCPU thread ids come from QMP. */
  private async place(): Promise<void> {
    if (!this.qmp || this.pid === undefined) return;
    const vcpus = await this.qmp.vcpuThreads();
    const done = new Set([...(this.placed?.vcpuThreads ?? []), ...(this.placed?.otherThreads ?? [])].map((t) => t.tid));
    this.placed = await applyPlacement(this.pid, vcpus.map((v) => v.threadId), this.plan, done);
    if (this.placementError) this.placed.failed.push(`first pass: ${this.placementError}`);
  }

  /** Where QEMU's threads run, as applied and read back at ready. */
  placement(): AppliedPlacement | undefined {
    return this.placed;
  }

  /** What QEMU really runs, from QMP and /proc: vCPU and I/O thread ids, vhost-net in use, the argv. For the self-check. */
  async qemuFacts(): Promise<{ vcpuThreads: Array<{ cpuIndex: number; threadId: number }>; iothreads: Array<{ id: string; threadId: number }>; vhostNetOpen: boolean; argv: string[]; placement: AppliedPlacement | undefined }> {
    if (!this.qmp || this.pid === undefined) throw new Error(`VM ${this.spec.name} has no QMP connection`);
    return {
      vcpuThreads: await this.qmp.vcpuThreads(),
      iothreads: await this.qmp.iothreads(),
      vhostNetOpen: await holdsVhostNet(this.pid),
      argv: [...this.qemuArgv],
      placement: this.placed,
    };
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const qga = this.qga;
    if (!qga || this.stopping || this.exited) return { code: -1, stdout: '', stderr: `VM ${this.spec.name} is not running${this.exitInfo ? ` (${this.exitInfo})` : ''}`, wallMs: 0, timedOut: false };
    throwIfAborted(opts.signal);
    const r = await qga.exec(argv, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    if (r.canceled) throw abortError(opts.signal);
    const result: ExecResult = { code: r.code, stdout: r.stdout, stderr: r.stderr, wallMs: r.wallMs, timedOut: r.timedOut };
    if (r.code === 137 && !r.timedOut) {
      // SIGKILL: was it the guest's OOM killer? (its counter in /proc/vmstat moved)
      const v = await qga.exec(['sh', '-c', 'grep oom_kill /proc/vmstat || echo oom_kill 0'], { timeoutMs: 5_000 }).catch(() => undefined);
      const n = Number(/oom_kill (\d+)/.exec(v?.stdout ?? '')?.[1] ?? this.guestOomKills);
      if (n > this.guestOomKills) result.oomKilled = true;
      this.guestOomKills = n;
    }
    return result;
  }

  /** Guest's view of vCPUs and memory, read at ready (nproc, MemTotal). */
  guestResources(): GuestResources | undefined {
    return this.resources;
  }

  async footprint(): Promise<Footprint> {
    return instanceFootprint(this.pid !== undefined && !this.exited ? [this.pid] : [], this.cgroup);
  }

  async hostCpuSeconds(): Promise<number> {
    return (await this.cgroup?.cpuUsageSeconds()) ?? 0;
  }

  /** QMP query-status, for diagnostics. */
  async qmpStatus(): Promise<string | undefined> {
    return this.qmp ? (await this.qmp.status()).status : undefined;
  }

  /** The pid of the QEMU process (for tests and diagnostics). */
  get qemuPid(): number | undefined {
    return this.pid;
  }

  private async readConsoleTail(): Promise<string[]> {
    return consoleQuote(await fs.readFile(this.consoleLog, 'utf8').catch(() => ''), 15);
  }

  private async waitExit(ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (!this.exited && performance.now() < end) await sleep(10);
    return this.exited;
  }

  private async killQemu(): Promise<void> {
    if (!this.proc || this.exited) return;
    if (this.qmp) {
      await this.qmp.quit(2_000).catch(() => undefined);
      if (await this.waitExit(3_000)) return;
    }
    this.proc.kill('SIGTERM');
    if (await this.waitExit(3_000)) return;
    this.proc.kill('SIGKILL');
    await this.waitExit(5_000);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.qga?.close();
      await this.killQemu();
      this.qmp?.close();
      const out = this.consoleOut;
      if (out) await new Promise<void>((resolve) => out.end(() => resolve()));
      const errors: string[] = [];
      while (this.releases.length > 0) {
        const release = this.releases.pop() as () => Promise<void>;
        try {
          await release();
        } catch (e) {
          errors.push(errorMessage(e));
        }
      }
      if (errors.length) throw new IsobenchError('RUN_FAILED', `stopping VM ${this.spec.name}: ${errors.join('; ')}`);
    })();
    return this.stopping;
  }
}
