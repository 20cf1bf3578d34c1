import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  kvmCalibrationKey,
  readKvmCalibration,
  writeKvmCalibration,
} from '../../../src/backends/kvm-calibration-cache.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ib-kvmcal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("doctor's KVM calibration, kept for this host boot", () => {
  const bootIdFile = path.join(dir, 'boot_id');
  const file = path.join(dir, 'cache', 'kvm-calibration.json');
  const parts = { qemuVersion: '7.2.19', guestHash: 'abc', timeoutMs: 10_000, bootIdFile };

  it('is keyed by the boot, QEMU, the guest and the timeout; without a boot id nothing is kept', async () => {
    expect(await kvmCalibrationKey(parts)).toBeUndefined();
    writeFileSync(bootIdFile, 'b1\n');
    const k = await kvmCalibrationKey(parts);
    expect(k).toBe('b1|7.2.19|abc|10000');
    expect(await kvmCalibrationKey({ ...parts, qemuVersion: '8.0' })).not.toBe(k);
    expect(await kvmCalibrationKey({ ...parts, timeoutMs: 5000 })).not.toBe(k);
  });

  it('reads back what was written for the same key only; a reboot (new boot id) measures again', async () => {
    writeFileSync(bootIdFile, 'b1\n');
    const key = (await kvmCalibrationKey(parts))!;
    await writeKvmCalibration({ key, measuredAt: '2026-12-07T01:00:00Z', kvmBareBootMs: null, error: 'MSR' }, file);
    expect(await readKvmCalibration(key, file)).toMatchObject({ kvmBareBootMs: null, error: 'MSR' });
    writeFileSync(bootIdFile, 'b2\n');
    expect(await readKvmCalibration((await kvmCalibrationKey(parts))!, file)).toBeUndefined();
  });

  it('a broken or foreign record counts as none', async () => {
    writeFileSync(file, '{not json');
    expect(await readKvmCalibration('k', file)).toBeUndefined();
    writeFileSync(file, JSON.stringify({ key: 'k', measuredAt: 'x', kvmBareBootMs: -5 }));
    expect(await readKvmCalibration('k', file)).toBeUndefined();
    writeFileSync(file, JSON.stringify({ key: 'k', measuredAt: 'x', kvmBareBootMs: 812 }));
    expect((await readKvmCalibration('k', file))?.kvmBareBootMs).toBe(812);
  });
});
