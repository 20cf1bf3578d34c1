/**
 * The QEMU command line of a guest, built as data (pure): machine and
 * accelerator, direct kernel boot with the kernel arguments every guest gets,
 * the root and scratch disks, virtio-net on a tap, QMP and the guest agent;
 * and an instance's full argv from what the backend decided.
 * Unit-tested in test/unit/backends/vm-argv.test.ts.
 */
import path from 'node:path';
import type { Accelerator } from './accel.js';
import type { InstanceSpec } from './types.js';
import type { HostFacts } from '../host/facts.js';
import type { TapAttachment } from '../net/bench.js';
import {
  IOTHREAD_ID,
  cpuModelFor,
  microvmMachine,
  thpKernelArgs,
  type MachineType,
  type VmChoices,
} from './vm-choices.js';
import { AGENT_PORT_NAME, ROOT_DISK_SERIAL, SCRATCH_DISK_SERIAL, type GuestInitramfs } from '../images/guest.js';

export const QEMU = 'qemu-system-x86_64';
/** Kernel arguments every guest gets. `quiet` keeps the (slow, emulated) serial console out of the boot path. */
export const BASE_KERNEL_ARGS = [
  'console=ttyS0',
  'reboot=t',
  'panic=-1',
  'quiet',
  'cryptomgr.notests',
  'i8042.noaux',
  'i8042.nomux',
  'i8042.nopnp',
  '8250.nr_uarts=1',
];

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
  // debug-threads=on names QEMU's threads ("CPU 0/KVM", "IO iothread0", "worker"), so placement and /proc show which is
  // which.
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
    argv.push(
      '-device',
      `${dev('virtio-blk-pci', 'virtio-blk-device')},drive=scratch,serial=${SCRATCH_DISK_SERIAL}${io}`,
    );
  }
  if (i.tap) {
    argv.push('-netdev', `tap,id=net0,ifname=${i.tap.ifname},script=no,downscript=no${i.vhost ? ',vhost=on' : ''}`);
    // romfile= : no iPXE option ROM for the firmware to load and run (direct kernel boot needs none)
    argv.push(
      '-device',
      mmio ? `virtio-net-device,netdev=net0,mac=${i.tap.mac}` : `virtio-net-pci,netdev=net0,mac=${i.tap.mac},romfile=`,
    );
  }
  if (i.qmpSocket) argv.push('-qmp', `unix:${i.qmpSocket},server=on,wait=off`);
  if (i.qgaSocket) {
    argv.push('-chardev', `socket,id=qga0,path=${i.qgaSocket},server=on,wait=off`);
    argv.push(
      '-device',
      dev('virtio-serial-pci', 'virtio-serial-device'),
      '-device',
      `virtserialport,chardev=qga0,name=${AGENT_PORT_NAME}`,
    );
  }
  return argv;
}

export function variantOf(machine: MachineType, accel: Accelerator): string {
  return `${machine}-${accel}`;
}

/** What VmBackend decided for every instance it starts. */
export interface VmInstanceConfig {
  machine: MachineType;
  accel: Accelerator;
  guest: GuestInitramfs;
  bootTimeoutMs: number;
  kernelArgs: string[];
  directIo: boolean;
  qemu: string;
  choices: VmChoices;
}

/**
 * One instance's QEMU argv: its kernel command line (base, the host's THP mode, scratch, network, extra) and devices.
 */
export function instanceQemuArgv(
  cfg: VmInstanceConfig,
  o: {
    spec: Pick<InstanceSpec, 'name' | 'vcpus' | 'memoryMiB'>;
    hostThp: HostFacts['thp'];
    rootImage: string;
    scratchPath: string;
    tap?: TapAttachment;
    gateway?: string;
    socketDir: string;
  },
): string[] {
  const { spec } = o;
  // The guest's THP mode is the host's (its kernel's own default may differ: Debian's is "always").
  const append = [...BASE_KERNEL_ARGS, ...thpKernelArgs(o.hostThp), 'isobench.scratch=1'];
  if (o.tap && o.gateway !== undefined) append.push(`isobench.ip=${o.tap.address}/15`, `isobench.gw=${o.gateway}`);
  append.push(...cfg.kernelArgs);
  return buildQemuArgv(
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
      rootImage: o.rootImage,
      scratch: { path: o.scratchPath, cache: cfg.directIo ? 'none' : 'writeback' },
      ...(o.tap ? { tap: { ifname: o.tap.tap, mac: o.tap.mac } } : {}),
      qmpSocket: path.join(o.socketDir, 'qmp.sock'),
      qgaSocket: path.join(o.socketDir, 'qga.sock'),
      name: `isobench-${spec.name}`,
      iothread: cfg.choices.iothread.on,
      vhost: cfg.choices.vhost.on,
      leanMicrovm: cfg.machine === 'microvm' && cfg.choices.machine.arg.includes('pit=off'),
    },
    cfg.qemu,
  );
}
