/**
 * What the VM guest is made of, decided once per backend and recorded in
 * results.json (details.choices) and the report's VM section: the CPU model
 * (-cpu host under KVM, QEMU's default under TCG), the machine and its device
 * set (microvm's lean set needs the TSC-deadline timer -cpu host passes on),
 * virtio-net on vhost-net when /dev/vhost-net opens (KVM only), virtio-blk on
 * an I/O thread, and the kernel arguments that give the guest the host's THP
 * mode. Pure functions except vhostNetOpens (one open()).
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import type { Accelerator } from './accel.js';

export type MachineType = 'q35' | 'microvm';

export const IOTHREAD_ID = 'iothread0';

/** The -cpu choice: the host's own CPU under KVM; QEMU's default model under TCG (pure). */
export function cpuModelFor(accel: Accelerator): { arg: string | undefined; model: string; why: string } {
  if (accel === 'kvm')
    return {
      arg: 'host',
      model: 'host',
      why:
        'KVM: -cpu host passes the host CPU model and its features (SSE4/AVX/AES/PCID ...) ' +
        'to the guest, as a tuned deployment does',
    };
  // -cpu host/max abort under TCG on hosts with a software KVM (MSR 0x10a); TCG cannot run the host model anyway.
  return {
    arg: undefined,
    model: 'qemu64 (QEMU default)',
    why: 'TCG: the default model (-cpu host needs KVM; -cpu max aborts here): the guest lacks most host CPU features',
  };
}

/**
 * The microvm -machine value (pure). The lean set drops what a guest with the TSC-deadline timer and virtio-mmio does
 * not use.
 */
export function microvmMachine(lean: boolean): string {
  return lean
    ? 'microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=off,pic=off'
    : 'microvm,isa-serial=on,rtc=on,pit=on,pic=on';
}

/**
 * Every choice that shapes what the guest is, recorded in results.json (details.choices) and the report's VM section.
 */
export interface VmChoices {
  cpuModel: { model: string; arg: string | null; why: string };
  machine: { type: MachineType; arg: string; deviceSet: string; why: string };
  vhost: { on: boolean; why: string };
  iothread: { on: boolean; id: string | null; disks: string[]; why: string };
}

/** Pure: the guest's CPU model, device set, vhost and I/O thread, from the accelerator and what the host offers. */
export function vmChoices(o: {
  accel: Accelerator;
  machine: MachineType;
  hostCpuFlags: readonly string[];
  vhostNetOpens: boolean;
}): VmChoices {
  const cpu = cpuModelFor(o.accel);
  const tscDeadline = o.hostCpuFlags.includes('tsc_deadline_timer');
  const lean = o.machine === 'microvm' && o.accel === 'kvm' && tscDeadline;
  const machine: VmChoices['machine'] =
    o.machine === 'q35'
      ? {
          type: 'q35',
          arg: 'q35',
          deviceSet: 'q35 (PCIe), SeaBIOS, virtio-pci devices without option ROMs',
          why: 'the machine a typical KVM deployment uses',
        }
      : {
          type: 'microvm',
          arg: microvmMachine(lean),
          deviceSet: lean
            ? 'microvm lean: no option ROMs, PIT, PIC or RTC; virtio-mmio devices; ISA serial console'
            : 'microvm with option ROMs, PIT, PIC and RTC; virtio-mmio devices; ISA serial console',
          why: lean
            ? 'KVM with -cpu host and a host CPU with the TSC-deadline timer: ' +
              'the guest keeps time without the legacy PIT/PIC/RTC'
            : o.accel !== 'kvm'
              ? 'TCG: the default CPU model has no TSC-deadline timer, so the guest needs the PIT/PIC/RTC'
              : 'the host CPU has no TSC-deadline timer (tsc_deadline_timer flag), so the guest needs the PIT/PIC/RTC',
        };
  const vhost: VmChoices['vhost'] =
    o.accel !== 'kvm'
      ? { on: false, why: 'TCG: vhost-net needs KVM (ioeventfd/irqfd); virtio-net is served by QEMU' }
      : o.vhostNetOpens
        ? {
            on: true,
            why:
              '/dev/vhost-net opens: virtio-net is served by the host kernel (vhost=on), ' +
              'as libvirt and production KVM hosts do',
          }
        : {
            on: false,
            why:
              '/dev/vhost-net does not open: virtio-net is served in QEMU (network throughput understated, ' +
              'latency overstated); fix: modprobe vhost_net',
          };
  return {
    cpuModel: { model: cpu.model, arg: cpu.arg ?? null, why: cpu.why },
    machine,
    vhost,
    iothread: {
      on: true,
      id: IOTHREAD_ID,
      disks: ['root', 'scratch'],
      why:
        'virtio-blk served by a dedicated I/O thread, not by the main loop that also serves QMP, ' +
        'the agent and (without vhost) the network',
    },
  };
}

/** Can this process open /dev/vhost-net read-write (what QEMU needs for vhost=on)? */
export async function vhostNetOpens(dev = '/dev/vhost-net'): Promise<boolean> {
  try {
    const fh = await fs.open(dev, fsConstants.O_RDWR);
    await fh.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Kernel arguments that give the guest the host's THP mode (transparent_hugepage=, and isobench.thp= that /init
 * applies) and defrag (isobench.thp_defrag=, applied by /init) (pure).
 */
export function thpKernelArgs(thp: { enabled: string | null; defrag: string | null }): string[] {
  const out: string[] = [];
  // transparent_hugepage= sets the mode from the start; the kernel turns THP off in guests under 512 MiB
  // whatever the cmdline says, so /init also writes isobench.thp= to sysfs.
  if (thp.enabled && /^(always|madvise|never)$/.test(thp.enabled))
    out.push(`transparent_hugepage=${thp.enabled}`, `isobench.thp=${thp.enabled}`);
  if (thp.defrag && /^(always|defer|defer\+madvise|madvise|never)$/.test(thp.defrag))
    out.push(`isobench.thp_defrag=${thp.defrag}`);
  return out;
}
