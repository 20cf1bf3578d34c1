/**
 * The VM backend's doctor probe: QEMU's version, the accelerator decision and
 * its reason, and bare-boot calibration figures under TCG and (bounded) KVM.
 */
import type { HostFacts } from '../host/facts.js';
import { errorMessage } from '../errors.js';
import { toolVersion } from '../util/proc.js';
import { currentKernelDir, ensureGuestInitramfs, type GuestInitramfs } from '../images/guest.js';
import { decideAccelerator, type AccelDecision, type AccelRequest } from './accel.js';
import type { MachineType } from './vm-choices.js';
import { QEMU } from './vm-qemu-argv.js';
import { consoleTail } from './vm-guest-output.js';
import { bareBoot } from './vm-bare-boot.js';
import { kvmCalibrationKey, readKvmCalibration, writeKvmCalibration } from './kvm-calibration-cache.js';

/** The warning every figure of an emulated (TCG) VM carries. */
export const TCG_WARNING =
  'VM figures come from TCG EMULATION (no usable hardware virtualization on this host): ' +
  'they describe QEMU emulation, not the cost of hardware virtualization (KVM). ' +
  'Do not use them to size VMs on a KVM host.';

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
  /** When the KVM calibration was taken from this host boot's earlier measurement: when that was (ISO time). */
  kvmCalibrationReusedFrom?: string;
  warnings: string[];
}

/**
 * What `doctor` reports about the VM backend: QEMU version, the accelerator
 * decision and its reason, and calibration figures. `measureKvm` also boots the
 * calibration guest under KVM (bounded) even when `auto` would not, so doctor can
 * show how slow a software KVM is.
 */
export async function probeVm(
  host: HostFacts,
  opts: {
    requested?: AccelRequest;
    machine?: MachineType;
    measureKvm?: boolean;
    calibrationTimeoutMs?: number;
    measureTcg?: boolean;
  } = {},
): Promise<VmProbe> {
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
      const key = qemuVersion
        ? await kvmCalibrationKey({ qemuVersion, guestHash: guest.hash, timeoutMs: calTimeout })
        : undefined;
      const kept = key ? await readKvmCalibration(key) : undefined;
      if (kept) {
        probe.kvmBareBootMs = kept.kvmBareBootMs;
        if (kept.error) probe.kvmCalibrationError = kept.error;
        probe.kvmCalibrationReusedFrom = kept.measuredAt;
      } else {
        // -cpu host under a software KVM makes QEMU abort at once (MSR 0x10a): say so rather than "did not finish".
        try {
          const ms = await kvmCalibrate();
          probe.kvmBareBootMs = Number.isFinite(ms) ? ms : null;
        } catch (e) {
          probe.kvmBareBootMs = null;
          probe.kvmCalibrationError = errorMessage(e).slice(0, 300);
        }
        if (key) {
          const error = probe.kvmCalibrationError;
          const rec = { key, measuredAt: new Date().toISOString(), kvmBareBootMs: probe.kvmBareBootMs };
          await writeKvmCalibration(error ? { ...rec, error } : rec);
        }
      }
    }
    probe.kvmCalibrationTimeoutMs = calTimeout;
  }
  if (decision.accel === 'tcg') warnings.push(TCG_WARNING);
  if (!qemuVersion) warnings.push(`${QEMU} not found: apt-get install qemu-system-x86`);
  return probe;
}
