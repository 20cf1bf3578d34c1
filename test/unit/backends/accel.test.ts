import { describe, expect, it, vi } from 'vitest';
import { CALIBRATION_SANE_MS, decideAccelerator } from '../../../src/backends/accel.js';
import { classifyKvm, type KvmFacts } from '../../../src/host/facts.js';

const host = (kvm: KvmFacts): { kvm: KvmFacts } => ({ kvm });
const pvm = classifyKvm(true, new Set(['sse2', 'hypervisor']), ['kvm', 'kvm_pvm']);
const noKvm = classifyKvm(false, new Set(['sse2']), []);
const hw = classifyKvm(true, new Set(['vmx']), ['kvm', 'kvm_intel']);

describe('decideAccelerator', () => {
  it('software kvm_pvm: TCG without calibrating (it could hang)', async () => {
    const calibrate = vi.fn(async () => 100);
    const d = await decideAccelerator(host(pvm), 'auto', calibrate);
    expect(d.accel).toBe('tcg');
    expect(d.reason).toMatch(/software \(kvm_pvm/);
    expect(d.reason).toMatch(/using TCG/);
    expect(d.calibration).toBeNull();
    expect(calibrate).not.toHaveBeenCalled();
  });

  it('no /dev/kvm: TCG', async () => {
    const d = await decideAccelerator(host(noKvm), 'auto', async () => 100);
    expect(d.accel).toBe('tcg');
    expect(d.reason).toMatch(/no \/dev\/kvm/);
  });

  it('hardware KVM that calibrates sanely: KVM, with the figure', async () => {
    const d = await decideAccelerator(host(hw), 'auto', async () => 420);
    expect(d.accel).toBe('kvm');
    expect(d.calibration).toEqual({ kvmBootMs: 420, saneMs: CALIBRATION_SANE_MS });
    expect(d.reason).toMatch(/hardware virtualization \(vmx\).*420 ms/);
  });

  it('hardware KVM whose calibration times out or fails: TCG (auto)', async () => {
    const slow = await decideAccelerator(host(hw), 'auto', async () => Number.POSITIVE_INFINITY);
    expect(slow.accel).toBe('tcg');
    expect(slow.calibration?.kvmBootMs).toBeNull();
    const broken = await decideAccelerator(host(hw), 'auto', async () => {
      throw new Error('boom');
    });
    expect(broken.accel).toBe('tcg');
    expect(broken.calibration?.error).toBe('boom');
    const tooSlow = await decideAccelerator(host(hw), 'auto', async () => CALIBRATION_SANE_MS + 1);
    expect(tooSlow.accel).toBe('tcg');
  });

  it('explicit kvm on a software KVM fails fast with BACKEND_UNAVAILABLE', async () => {
    await expect(decideAccelerator(host(pvm), 'kvm', async () => Number.POSITIVE_INFINITY)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
  });

  it('explicit tcg: no calibration', async () => {
    const calibrate = vi.fn(async () => 1);
    const d = await decideAccelerator(host(hw), 'tcg', calibrate);
    expect(d).toMatchObject({ accel: 'tcg', requested: 'tcg', calibration: null });
    expect(calibrate).not.toHaveBeenCalled();
  });
});
