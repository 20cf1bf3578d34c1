import { describe, expect, it } from 'vitest';
import { buildQemuArgv, consoleTail, parseInitMarks, variantOf } from '../../src/backends/vm.js';
import { cgroupWrappedArgv } from '../../src/backends/exec-in-cgroup.js';
import { parseSmapsRollup } from '../../src/backends/proc-memory.js';
import { renderInitScript } from '../../src/images/guest.js';

const base = { vcpus: 2, memoryMiB: 256, kernel: '/k/vmlinuz', initrd: '/k/initrd', append: ['console=ttyS0', 'quiet'] };

describe('buildQemuArgv', () => {
  it('q35 under TCG: multi-threaded TCG, default CPU, PCI virtio devices, read-only root', () => {
    const a = buildQemuArgv({ ...base, machine: 'q35', accel: 'tcg', rootImage: '/img/root.ext4', scratch: { path: '/w/s.img', cache: 'none' }, tap: { ifname: 'tap1', mac: '52:54:00:00:00:01' }, qmpSocket: '/s/qmp', qgaSocket: '/s/qga', consoleLog: '/r/console.log' });
    expect(a.slice(0, 5)).toEqual(['qemu-system-x86_64', '-nodefaults', '-no-user-config', '-nographic', '-no-reboot']);
    expect(a).not.toContain('-cpu');
    const at = (flag: string): string | undefined => a[a.indexOf(flag) + 1];
    expect(at('-accel')).toBe('tcg,thread=multi');
    expect(at('-machine')).toBe('q35');
    expect(at('-smp')).toBe('2');
    expect(at('-m')).toBe('256M');
    expect(at('-append')).toBe('console=ttyS0 quiet');
    expect(a).toContain('file=/img/root.ext4,if=none,id=root,format=raw,readonly=on');
    expect(a.some((x) => x.includes('cache=none,aio=native'))).toBe(true);
    expect(a).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01,romfile=');
    expect(a).toContain('virtserialport,chardev=qga0,name=org.qemu.guest_agent.0');
    expect(at('-qmp')).toBe('unix:/s/qmp,server=on,wait=off');
  });
  it('microvm: mmio devices; single-vCPU TCG is single-threaded; KVM', () => {
    const a = buildQemuArgv({ ...base, vcpus: 1, machine: 'microvm', accel: 'tcg', rootImage: '/r', qgaSocket: '/q' });
    expect(a).toContain('tcg,thread=single');
    expect(a.some((x) => x.startsWith('virtio-blk-device'))).toBe(true);
    expect(a).toContain('virtio-serial-device');
    expect(buildQemuArgv({ ...base, machine: 'q35', accel: 'kvm' })).toContain('kvm');
  });
  it('writeback fallback', () => {
    const a = buildQemuArgv({ ...base, machine: 'q35', accel: 'tcg', scratch: { path: '/s', cache: 'writeback' } });
    expect(a.some((x) => x.includes('cache=writeback,aio=threads'))).toBe(true);
  });
});

describe('helpers', () => {
  it('cgroup wrapper passes files and argv as positional parameters', () => {
    const a = cgroupWrappedArgv(['/cg/a/cgroup.procs', '/cg/b/cgroup.procs'], ['qemu', '-append', 'a b; rm -rf /']);
    expect(a[0]).toBe('sh');
    expect(a[2]).not.toContain('qemu');
    expect(a.slice(3)).toEqual(['isobench-cgroup-wrap', '/cg/a/cgroup.procs', '/cg/b/cgroup.procs', '--', 'qemu', '-append', 'a b; rm -rf /']);
  });
  it('parses smaps_rollup', () => {
    const t = '55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:              215040 kB\nPss:              210000 kB\nPss_Anon: 1 kB\n';
    expect(parseSmapsRollup(t)).toEqual({ rssBytes: 215040 * 1024, pssBytes: 210000 * 1024 });
  });
  it('console tail strips escapes and blank lines', () => {
    expect(consoleTail('\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\n\nline2\nline3\n', 2)).toEqual(['line2', 'line3']);
  });
  it('parses init marks', () => {
    expect(parseInitMarks('x\nisobench-init: start uptime=2.20\nisobench-init: agent starting uptime=2.87\n')).toEqual({ start: 2.2, agentStarting: 2.87 });
    expect(parseInitMarks('')).toEqual({});
  });
  it('variant names', () => {
    expect(variantOf('q35', 'tcg')).toBe('q35-tcg');
    expect(variantOf('microvm', 'kvm')).toBe('microvm-kvm');
  });
  it('init script loads virtio_ring first and has the panic hook', () => {
    const s = renderInitScript(['virtio_ring', 'virtio', 'virtio_pci', 'virtio_blk']);
    expect(s).toMatch(/^load virtio_ring virtio virtio_pci$/m);
    expect(s).toMatch(/^load virtio_blk &$/m);
    expect(s).toMatch(/isobench\.init=panic/);
    expect(s.startsWith('#!/bin/busybox sh\n')).toBe(true);
  });
});

describe('consoleQuote', () => {
  it('keeps init messages and the panic line that a stack trace pushed out of the tail', async () => {
    const { consoleQuote } = await import('../../src/backends/vm.js');
    const trace = Array.from({ length: 30 }, (_, i) => `[ 2.2] frame ${i}`).join('\n');
    const q = consoleQuote(`SeaBIOS\nisobench-init: start uptime=2.1\nisobench-init: FATAL: boom\n[ 2.2] Kernel panic - not syncing: Attempted to kill init!\n${trace}\n`, 5);
    expect(q.slice(0, 3)).toEqual(['isobench-init: start uptime=2.1', 'isobench-init: FATAL: boom', '[ 2.2] Kernel panic - not syncing: Attempted to kill init!']);
    expect(q[3]).toBe('...');
    expect(q.slice(4)).toHaveLength(5);
  });
});
