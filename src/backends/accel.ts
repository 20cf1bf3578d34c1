/**
 * The VM accelerator, decided by measurement. /dev/kvm alone proves nothing: on
 * this kind of host it is `kvm_pvm`, software virtualization ~1000x slower than
 * native, under which a guest kernel never finishes decompressing. So:
 *
 * - `auto`: KVM only when the host has real hardware virtualization (vmx/svm and
 *   kvm_intel/kvm_amd) AND a short calibration guest (bare kernel boot, bounded
 *   by a timeout) finishes within CALIBRATION_SANE_MS. Otherwise TCG.
 * - `kvm`: KVM was asked for; it is still calibrated (bounded) so a software KVM
 *   fails fast with BACKEND_UNAVAILABLE instead of hanging the run.
 * - `tcg`: TCG, no calibration.
 */
import type { HostFacts } from '../host/facts.js';
import { IsobenchError } from '../errors.js';

export type AccelRequest = 'auto' | 'kvm' | 'tcg';
export type Accelerator = 'kvm' | 'tcg';

/** A bare kernel boot under hardware KVM takes well under a second; TCG about 2 s here. */
export const CALIBRATION_SANE_MS = 5_000;

export interface CalibrationFigure {
  /** ms for the calibration guest (bare kernel boot to `reboot -f`) under KVM; null when it did not finish. */
  kvmBootMs: number | null;
  /** The bound it had to finish within to count as sane. */
  saneMs: number;
  /** Set when the calibration guest failed or timed out. */
  error?: string;
}

export interface AccelDecision {
  accel: Accelerator;
  requested: AccelRequest;
  reason: string;
  calibration: CalibrationFigure | null;
}

/**
 * @param calibrate boots the calibration guest under KVM and resolves with its
 *   wall time in ms (Infinity or a rejection when it did not finish within its own bound).
 */
export async function decideAccelerator(
  host: Pick<HostFacts, 'kvm'>,
  requested: AccelRequest,
  calibrate: () => Promise<number>,
): Promise<AccelDecision> {
  if (requested === 'tcg')
    return {
      accel: 'tcg',
      requested,
      reason: 'TCG requested (emulation; figures describe TCG, not hardware virtualization)',
      calibration: null,
    };

  if (requested === 'auto' && !host.kvm.hardware) {
    return {
      accel: 'tcg',
      requested,
      reason: `${noHardwareReason(host)}; using TCG (not calibrated: a software KVM could hang the calibration)`,
      calibration: null,
    };
  }

  const calibration = await runCalibration(calibrate);
  const sane = calibration.kvmBootMs !== null && calibration.kvmBootMs <= CALIBRATION_SANE_MS;
  const figure =
    calibration.kvmBootMs === null
      ? `did not finish (${calibration.error ?? 'timeout'})`
      : `${Math.round(calibration.kvmBootMs)} ms`;
  if (sane) {
    const why = host.kvm.hardware ? `hardware virtualization (${host.kvm.cpuFlag})` : 'KVM requested';
    return {
      accel: 'kvm',
      requested,
      reason: `${why}; calibration boot ${figure} (sane <= ${CALIBRATION_SANE_MS} ms)`,
      calibration,
    };
  }
  if (requested === 'kvm') {
    throw new IsobenchError(
      'BACKEND_UNAVAILABLE',
      `KVM requested but the calibration guest ${figure} (sane <= ${CALIBRATION_SANE_MS} ms): ${host.kvm.summary}`,
      {
        details: ['use accel: auto or tcg (emulation) on this host'],
      },
    );
  }
  return {
    accel: 'tcg',
    requested,
    reason: `KVM calibration boot ${figure}, slower than the sane bound ${CALIBRATION_SANE_MS} ms; using TCG`,
    calibration,
  };
}

function noHardwareReason(host: Pick<HostFacts, 'kvm'>): string {
  const k = host.kvm;
  if (k.modules.includes('kvm_pvm'))
    return (
      `${k.devicePresent ? '/dev/kvm present but ' : 'no /dev/kvm; '}KVM is software (kvm_pvm, ` +
      `no vmx/svm CPU flag)`
    );
  if (!k.devicePresent)
    return k.cpuFlag
      ? `no /dev/kvm (CPU has ${k.cpuFlag} but KVM is not loaded)`
      : 'no /dev/kvm and no vmx/svm CPU flag';
  return (
    `/dev/kvm present but no hardware virtualization (${k.cpuFlag ? `${k.cpuFlag} flag` : 'no vmx/svm flag'}, ` +
    `modules: ${k.modules.join(', ') || 'none'})`
  );
}

async function runCalibration(calibrate: () => Promise<number>): Promise<CalibrationFigure> {
  try {
    const ms = await calibrate();
    if (!Number.isFinite(ms)) return { kvmBootMs: null, saneMs: CALIBRATION_SANE_MS, error: 'timed out' };
    return { kvmBootMs: ms, saneMs: CALIBRATION_SANE_MS };
  } catch (e) {
    return { kvmBootMs: null, saneMs: CALIBRATION_SANE_MS, error: e instanceof Error ? e.message : String(e) };
  }
}
