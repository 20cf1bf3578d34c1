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
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import type { Backend, BackendContext, BackendInfo, Instance, InstanceSpec, StartOptions } from './types.js';
import { IsobenchError, errorMessage } from '../errors.js';
import { throwIfAborted, toolVersion } from '../util/proc.js';
import { decideAccelerator, type AccelDecision, type AccelRequest, type Accelerator } from './accel.js';
import { hasCapability } from '../host/capabilities.js';
import { thpKernelArgs, vhostNetOpens, vmChoices, type MachineType, type VmChoices } from './vm-choices.js';
import { PLACEMENT_POLICY } from './vm-placement.js';
import { currentKernelDir, ensureGuestInitramfs, type GuestInitramfs } from '../images/guest.js';
import { BASE_KERNEL_ARGS, QEMU, variantOf } from './vm-qemu-argv.js';
import { consoleTail } from './vm-guest-output.js';
import { bareBoot } from './vm-bare-boot.js';
import { TCG_WARNING } from './vm-probe.js';
import { VmInstance } from './vm-instance.js';

// The backend's parts live in vm-*.ts; tests, bench scripts and the provider import them from here.
export type { MachineType } from './vm-choices.js';
export { BASE_KERNEL_ARGS, buildQemuArgv, variantOf, type QemuArgvInput } from './vm-qemu-argv.js';
export { INIT_START_RE, consoleQuote, consoleTail, parseInitMarks } from './vm-guest-output.js';
export { bareBoot, type BareBootResult } from './vm-bare-boot.js';
export { TCG_WARNING, probeVm, type VmProbe } from './vm-probe.js';
export { VmInstance, type GuestResources } from './vm-instance.js';

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
    if (!this.qemuVersion)
      throw new IsobenchError('BACKEND_UNAVAILABLE', `${QEMU} not found`, {
        details: ['apt-get install qemu-system-x86'],
      });
    try {
      this.guest = await ensureGuestInitramfs(this.opts.kernelDir ?? (await currentKernelDir()), {
        rootfsHash: this.ctx.image.hash,
      });
    } catch (e) {
      throw new IsobenchError('BACKEND_UNAVAILABLE', `VM guest unavailable: ${errorMessage(e)}`, {
        cause: e,
        details: e instanceof IsobenchError ? e.details : [],
      });
    }
    const guest = this.guest;
    const calTimeout = this.opts.calibrationTimeoutMs ?? 10_000;
    this.decision = await decideAccelerator(this.ctx.host, this.opts.accel, async () => {
      const r = await bareBoot({
        guest,
        accel: 'kvm',
        machine: this.opts.machine,
        timeoutMs: calTimeout,
        ...(this.opts.qemuBinary ? { qemu: this.opts.qemuBinary } : {}),
      });
      if (r.timedOut) return Number.POSITIVE_INFINITY;
      if (!r.ok) throw new Error(`calibration guest failed: ${consoleTail(r.console, 3).join(' | ')}`);
      return r.ms;
    });
    await fs.mkdir(this.ctx.workDir, { recursive: true });
    this.directIo = await supportsDirectIo(this.ctx.workDir);
    this.choicesMade = vmChoices({
      accel: this.decision.accel,
      machine: this.opts.machine,
      hostCpuFlags: this.ctx.host.cpuFlags,
      vhostNetOpens: hasCapability(this.ctx.host.capabilities, 'vhost-net') && (await vhostNetOpens()),
    });
  }

  info(): BackendInfo {
    const d = this.decision;
    const warnings: string[] = [];
    if (this.accelerator === 'tcg') warnings.push(TCG_WARNING);
    if (this.directIo === false)
      warnings.push(
        `VM scratch disk uses cache=writeback: ${this.ctx.workDir} does not support O_DIRECT, ` +
          `so VM disk figures include the host page cache`,
      );
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
        qemuCgroupMemoryLimit:
          'guest memory + 512 MiB (KVM) / + 1536 MiB (TCG): a safety net, not the guest limit (-m is)',
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
      choices:
        this.choicesMade ??
        vmChoices({
          accel: this.accelerator,
          machine: this.opts.machine,
          hostCpuFlags: this.ctx.host.cpuFlags,
          vhostNetOpens: false,
        }),
    });
    await inst.boot(opts.signal);
    return inst;
  }
}
