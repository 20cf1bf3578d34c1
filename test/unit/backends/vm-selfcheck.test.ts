import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  compareMitigations,
  compareSnapshots,
  mitigationState,
  parseSnapshot,
  renderSelfCheck,
  type QemuObserved,
} from '../../../src/backends/vm-selfcheck.js';

const dir = path.join(__dirname, '..', '..', 'fixtures', 'vm-selfcheck');
const snap = (f: string): ReturnType<typeof parseSnapshot> => parseSnapshot(readFileSync(path.join(dir, f), 'utf8'));

const kvmQemu: QemuObserved = {
  vhostRequested: true,
  vhostNetOpen: true,
  vhostWhy: '/dev/vhost-net opens',
  networked: true,
  iothreadsConfigured: ['iothread0'],
  iothreadsRunning: [{ id: 'iothread0', threadId: 1234 }],
  vcpuThreads: [{ cpuIndex: 0, threadId: 1240 }],
};

describe('parseSnapshot', () => {
  it('reads the recorded host snapshot', () => {
    const h = snap('amd-epyc-host-here.txt');
    expect(h.cpuModel).toBe('AMD EPYC');
    expect(h.vendor).toBe('AuthenticAMD');
    expect(h.flags).toContain('avx2');
    expect(h.flags).toContain('tsc_deadline_timer');
    expect(h.vulnerabilities.meltdown).toBe('Not affected');
    expect(h.clocksource).toBe('tsc');
    expect(h.availableClocksources).toEqual(['tsc', 'kvm-clock']);
    expect(h.thp).toEqual({ enabled: 'madvise', defrag: 'madvise' });
  });
  it('reads the recorded TCG guest snapshot (THP set from the host through the cmdline and /init)', () => {
    const g = snap('tcg-guest-here.txt');
    expect(g.cpuModel).toMatch(/^QEMU Virtual CPU/);
    expect(g.flags).toContain('hypervisor');
    expect(g.flags).not.toContain('avx2');
    expect(g.thp).toEqual({ enabled: 'madvise', defrag: 'madvise' });
    expect(g.cmdline).toMatch(/transparent_hugepage=madvise/);
  });
  it('refuses text that is not a snapshot', () => {
    expect(() => parseSnapshot('processor : 0\nflags : fpu\n')).toThrow(/no "== cpuinfo" section/);
    const truncated = readFileSync(path.join(dir, 'icelake-host.txt'), 'utf8').split('== vulnerabilities')[0] as string;
    const t = parseSnapshot(truncated);
    expect(t.vulnerabilities).toEqual({});
    expect(t.clocksource).toBeNull();
  });
});

describe('compareSnapshots under KVM', () => {
  it('a -cpu host guest on an Ice Lake host: every relevant feature present, no error or warning', () => {
    const sc = compareSnapshots({
      accel: 'kvm',
      host: snap('icelake-host.txt'),
      guest: snap('icelake-kvm-guest-cpu-host.txt'),
      qemu: kvmQemu,
    });
    expect(sc.cpu.missingRelevant).toEqual([]);
    expect(sc.cpu.missing).toContain('vmx'); // listed, not judged
    expect(sc.findings.filter((f) => f.severity === 'error' || f.severity === 'warn')).toEqual([]);
    expect(sc.status).toBe('ok');
    expect(sc.net.backend).toBe('vhost');
    const gds = sc.mitigations.find((m) => m.name === 'gather_data_sampling');
    expect(gds?.comparison).toBe('unknown');
    expect(sc.mitigations.find((m) => m.name === 'mmio_stale_data')?.comparison).toBe('equivalent');
  });

  it('a qemu64 guest (the pre-issue-18 argv) is an error that names the missing features, the extra mitigations and the fix', () => {
    const sc = compareSnapshots({
      accel: 'kvm',
      host: snap('icelake-host.txt'),
      guest: snap('icelake-kvm-guest-qemu64.txt'),
      qemu: kvmQemu,
    });
    expect(sc.status).toBe('errors');
    for (const f of ['avx2', 'avx512f', 'aes', 'pcid', 'invpcid', 'sse4_2', 'ssse3', 'erms'])
      expect(sc.cpu.missingRelevant).toContain(f);
    const cpu = sc.findings.find((f) => f.area === 'cpu' && f.severity === 'error');
    expect(cpu?.fix).toMatch(/-cpu host/);
    const meltdown = sc.mitigations.find((m) => m.name === 'meltdown');
    expect(meltdown).toMatchObject({ comparison: 'guest-extra', guest: 'Mitigation: PTI', host: 'Not affected' });
    const err = sc.findings.find(
      (f) => f.area === 'mitigations' && f.severity === 'error' && f.message.startsWith('meltdown'),
    );
    expect(err?.fix).toMatch(/arch-capabilities/);
    expect(sc.mitigations.find((m) => m.name === 'spectre_v2')?.comparison).toBe('different');
    expect(sc.mitigations.find((m) => m.name === 'itlb_multihit')?.comparison).toBe('equivalent');
    expect(renderSelfCheck(sc)).toMatch(/\[ERROR\] cpu: the guest lacks \d+ host CPU feature/);
  });

  it('virtio-net without vhost, a missing I/O thread and a slow clocksource are errors under KVM', () => {
    const guest = { ...snap('icelake-kvm-guest-cpu-host.txt'), clocksource: 'hpet' };
    const sc = compareSnapshots({
      accel: 'kvm',
      host: snap('icelake-host.txt'),
      guest,
      qemu: {
        ...kvmQemu,
        vhostRequested: false,
        vhostNetOpen: false,
        vhostWhy: '/dev/vhost-net does not open',
        iothreadsRunning: [],
      },
    });
    const errs = sc.findings.filter((f) => f.severity === 'error');
    expect(errs.map((f) => f.area).sort()).toEqual(['clocksource', 'iothreads', 'net']);
    expect(errs.find((f) => f.area === 'net')?.fix).toMatch(/modprobe vhost_net/);
    expect(sc.net.backend).toBe('qemu');
  });

  it("a guest THP mode unlike the host's is an error", () => {
    const guest = { ...snap('icelake-kvm-guest-cpu-host.txt'), thp: { enabled: 'always', defrag: 'madvise' } };
    const sc = compareSnapshots({ accel: 'kvm', host: snap('icelake-host.txt'), guest, qemu: kvmQemu });
    expect(sc.thp.match).toBe(false);
    expect(sc.findings.find((f) => f.area === 'thp')?.severity).toBe('error');
  });
});

describe('compareSnapshots under TCG (recorded here)', () => {
  it('shows the differences as expected, with no error', () => {
    const sc = compareSnapshots({
      accel: 'tcg',
      host: snap('amd-epyc-host-here.txt'),
      guest: snap('tcg-guest-here.txt'),
      qemu: { ...kvmQemu, vhostRequested: false, vhostNetOpen: false, vhostWhy: 'TCG' },
    });
    expect(sc.status).toBe('expected-differences');
    expect(sc.findings.filter((f) => f.severity === 'error' || f.severity === 'warn')).toEqual([]);
    expect(sc.cpu.missingRelevant).toContain('avx2');
    expect(sc.findings.find((f) => f.area === 'cpu')?.severity).toBe('expected');
    expect(sc.summary).toMatch(/^TCG guest "QEMU Virtual CPU/);
    expect(sc.thp.match).toBe(true);
  });
});

describe('mitigations', () => {
  it('classifies vulnerability texts', () => {
    expect(mitigationState('Not affected')).toBe('not-affected');
    expect(mitigationState('Mitigation: PTI')).toBe('mitigated');
    expect(mitigationState('Vulnerable')).toBe('vulnerable');
    expect(mitigationState('Vulnerable: Clear CPU buffers attempted, no microcode')).toBe('vulnerable');
    expect(mitigationState('Unknown: Dependent on hypervisor status')).toBe('unknown');
    expect(mitigationState('KVM: Mitigation: VMX unsupported')).toBe('not-affected');
  });
  it('lines up both sides', () => {
    const rows = compareMitigations(
      { a: 'Not affected', b: 'Mitigation: X', c: 'Mitigation: Y; SMT vulnerable', d: 'x' },
      { a: 'Mitigation: PTI', b: 'Vulnerable', c: 'Mitigation: Y; SMT Host state unknown', e: 'Not affected' },
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.comparison]))).toEqual({
      a: 'guest-extra',
      b: 'guest-fewer',
      c: 'equivalent',
      d: 'host-only',
      e: 'guest-only',
    });
  });
});
