import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compareSnapshots, parseSnapshot } from '../../../../src/backends/vm-selfcheck.js';
import { vmChoices } from '../../../../src/backends/vm-choices.js';
import { renderVmSectionHtml, renderVmSectionMd, vmSectionView } from '../../../../src/report/sections/vm.js';
import { escapeHtml } from '../../../../src/report/html.js';
import { mdEscape } from '../../../../src/report/markdown.js';
import type { BackendResult } from '../../../../src/results/types.js';

const dir = path.join(__dirname, '..', '..', '..', 'fixtures', 'vm-selfcheck');
const snap = (f: string): ReturnType<typeof parseSnapshot> => parseSnapshot(readFileSync(path.join(dir, f), 'utf8'));

function backends(): BackendResult[] {
  const check = compareSnapshots({
    accel: 'kvm',
    host: snap('icelake-host.txt'),
    guest: snap('icelake-kvm-guest-qemu64.txt'),
    qemu: {
      vhostRequested: true,
      vhostNetOpen: true,
      vhostWhy: 'opens',
      networked: true,
      iothreadsConfigured: ['iothread0'],
      iothreadsRunning: [{ id: 'iothread0', threadId: 9 }],
      vcpuThreads: [{ cpuIndex: 0, threadId: 10 }],
    },
  });
  return [
    {
      label: 'native',
      kind: 'native',
      variant: 'host',
      accelerator: 'native',
      acceleratorReason: '',
      versions: {},
      warnings: [],
      details: { thp: { enabled: 'madvise', defrag: 'madvise', source: 'host kernel' } },
    },
    {
      label: 'vm:q35-kvm',
      kind: 'vm',
      variant: 'q35-kvm',
      accelerator: 'kvm',
      acceleratorReason: 'hardware virtualization',
      versions: {},
      warnings: [],
      details: {
        machine: 'q35',
        choices: vmChoices({ accel: 'kvm', machine: 'q35', hostCpuFlags: [], vhostNetOpens: true }),
        thp: { ...check.thp.guest, source: 'read inside the guest (self-check)' },
      },
      vmSelfCheck: {
        check,
        bootMs: 400,
        instance: 'x',
        rawLogs: ['raw/vm-selfcheck-x-guest.txt'],
        placement: { mode: 'apart', note: 'apart: vCPU threads on CPU 1', vcpuThreads: [], otherThreads: [] },
      } as unknown as Record<string, unknown>,
    },
  ];
}

describe('report VM section', () => {
  it('is absent without a VM backend', () => {
    expect(vmSectionView(backends().slice(0, 1))).toBeNull();
    expect(renderVmSectionHtml(null, escapeHtml)).toBe('');
  });
  it('shows the choices, the self-check errors with their fix, and THP per backend', () => {
    const v = vmSectionView(backends());
    const md = renderVmSectionMd(v, mdEscape).join('\n');
    expect(md).toMatch(/\| CPU model \| host \(KVM: -cpu host/);
    expect(md).toMatch(/\| virtio-net \| vhost/);
    expect(md).toMatch(/Self-check: ERRORS/);
    expect(md).toMatch(/\| meltdown \| Mitigation: PTI \| Not affected \| guest-extra \|/);
    expect(md).toMatch(/\| native \| madvise \| madvise \| host kernel \|/);
    const html = renderVmSectionHtml(v, escapeHtml, (r) => `../../results/run/${r}`);
    expect(html).toContain('id="vm"');
    expect(html).toContain('href="../../results/run/raw/vm-selfcheck-x-guest.txt"');
    expect(html).toMatch(/fix: .*-cpu host/);
  });
});
