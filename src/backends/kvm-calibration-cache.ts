/**
 * doctor's bounded KVM calibration boot, remembered for this host boot. Where /dev/kvm is a software KVM the
 * boot runs to its timeout (10 s) on every `doctor` call, and a fleet run calls doctor on every host. The
 * record is keyed by the kernel's boot id, QEMU's version, the calibration guest and the timeout: a reboot, a
 * new QEMU or another guest measures again. It lives in the cache directory (cacheDir()), never in a run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../images/cache-dir.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface KvmCalibrationRecord {
  key: string;
  /** When the boot was measured (ISO time). */
  measuredAt: string;
  /** Bare boot under KVM in ms, or null when it did not finish within the timeout or failed. */
  kvmBareBootMs: number | null;
  error?: string;
}

export function kvmCalibrationFile(): string {
  return path.join(cacheDir(), 'kvm-calibration.json');
}

/** The record's key: this host boot, this QEMU, this calibration guest, this timeout. */
export async function kvmCalibrationKey(parts: {
  qemuVersion: string;
  guestHash: string;
  timeoutMs: number;
  bootIdFile?: string;
}): Promise<string | undefined> {
  const bootId = await fs
    .readFile(parts.bootIdFile ?? '/proc/sys/kernel/random/boot_id', 'utf8')
    .then((s) => s.trim())
    .catch(() => '');
  // Without a boot id a reboot could not be told apart: measure every time.
  if (!bootId) return undefined;
  return [bootId, parts.qemuVersion, parts.guestHash, String(parts.timeoutMs)].join('|');
}

/** The remembered calibration for `key`, if there is one (an unreadable or foreign record counts as none). */
export async function readKvmCalibration(
  key: string,
  file = kvmCalibrationFile(),
): Promise<KvmCalibrationRecord | undefined> {
  try {
    const r = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<KvmCalibrationRecord>;
    const ok =
      r.key === key &&
      typeof r.measuredAt === 'string' &&
      (r.kvmBareBootMs === null || (typeof r.kvmBareBootMs === 'number' && r.kvmBareBootMs >= 0));
    return ok ? (r as KvmCalibrationRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Remember a calibration; a cache that cannot be written costs only the next doctor call's time. */
export async function writeKvmCalibration(rec: KvmCalibrationRecord, file = kvmCalibrationFile()): Promise<void> {
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify(rec, null, 1)}\n`);
  } catch {
    /* not kept: measured again next time */
  }
}
