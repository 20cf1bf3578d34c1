import { describe, expect, it } from 'vitest';
import { buildQemuArgv, consoleTail, parseInitMarks, variantOf } from '../../../src/backends/vm.js';
import { thpKernelArgs, vmChoices } from '../../../src/backends/vm-choices.js';
import { planPlacement } from '../../../src/backends/vm-placement.js';
import { vmHostWarnings } from '../../../src/host/facts.js';
import { cgroupWrappedArgv } from '../../../src/backends/exec-in-cgroup.js';
import { parseSmapsRollup } from '../../../src/backends/proc-memory.js';
import { renderInitScript } from '../../../src/images/guest.js';

const base = {
  vcpus: 2,
  memoryMiB: 256,
  kernel: '/k/vmlinuz',
  initrd: '/k/initrd',
  append: ['console=ttyS0', 'quiet'],
};

describe('buildQemuArgv', () => {
  it('q35 under TCG: multi-threaded TCG, default CPU, PCI virtio devices, read-only root', () => {
    const a = buildQemuArgv({
      ...base,
      machine: 'q35',
      accel: 'tcg',
      rootImage: '/img/root.ext4',
      scratch: { path: '/w/s.img', cache: 'none' },
      tap: { ifname: 'tap1', mac: '52:54:00:00:00:01' },
      qmpSocket: '/s/qmp',
      qgaSocket: '/s/qga',
      consoleLog: '/r/console.log',
    });
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

/** The argv a VmInstance builds from the backend's choices (the same wiring as VmInstance.launch). */
function argvFor(
  accel: 'kvm' | 'tcg',
  machine: 'q35' | 'microvm',
  o: { vhostNetOpens: boolean; flags?: string[] },
): string[] {
  const c = vmChoices({
    accel,
    machine,
    hostCpuFlags: o.flags ?? ['tsc_deadline_timer', 'avx2'],
    vhostNetOpens: o.vhostNetOpens,
  });
  return buildQemuArgv({
    ...base,
    machine,
    accel,
    rootImage: '/img/root.ext4',
    scratch: { path: '/w/s.img', cache: 'none' },
    tap: { ifname: 'tap1', mac: '52:54:00:00:00:01' },
    iothread: c.iothread.on,
    vhost: c.vhost.on,
    leanMicrovm: machine === 'microvm' && c.machine.arg.includes('pit=off'),
  });
}
/** TCG's accel option `thread=` (not `iothread=`, a device property). */
const tcgThreadOption = (a: string[]): string[] => a.filter((x) => /(^|[,:])thread=/.test(x));

describe('the KVM argv', () => {
  it('q35 under KVM: -cpu host, an I/O thread for the data disk, vhost=on when /dev/vhost-net opens, never thread=', () => {
    const a = argvFor('kvm', 'q35', { vhostNetOpens: true });
    const at = (flag: string): string | undefined => a[a.indexOf(flag) + 1];
    expect(at('-cpu')).toBe('host');
    expect(at('-accel')).toBe('kvm');
    expect(tcgThreadOption(a)).toEqual([]);
    expect(a).toContain('iothread,id=iothread0');
    expect(a).toContain('virtio-blk-pci,drive=scratch,serial=isobench-scratch,iothread=iothread0');
    expect(a).toContain('tap,id=net0,ifname=tap1,script=no,downscript=no,vhost=on');
  });
  it('under KVM without /dev/vhost-net: no vhost=on (QEMU would refuse to start), and the choice says how to fix it', () => {
    const a = argvFor('kvm', 'q35', { vhostNetOpens: false });
    expect(a.some((x) => x.includes('vhost=on'))).toBe(false);
    expect(vmChoices({ accel: 'kvm', machine: 'q35', hostCpuFlags: [], vhostNetOpens: false }).vhost.why).toMatch(
      /modprobe vhost_net/,
    );
  });
  it('under TCG: default CPU model, thread= for TCG, no vhost even when /dev/vhost-net opens, still the I/O thread', () => {
    const a = argvFor('tcg', 'q35', { vhostNetOpens: true });
    expect(a).not.toContain('-cpu');
    expect(tcgThreadOption(a)).toEqual(['tcg,thread=multi']);
    expect(a.some((x) => x.includes('vhost=on'))).toBe(false);
    expect(a).toContain('iothread,id=iothread0');
  });
  it('microvm under KVM with the TSC-deadline timer: the lean device set', () => {
    const a = argvFor('kvm', 'microvm', { vhostNetOpens: true });
    expect(a[a.indexOf('-machine') + 1]).toBe('microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=off,pic=off');
    expect(a[a.indexOf('-cpu') + 1]).toBe('host');
    expect(a).toContain('virtio-blk-device,drive=scratch,serial=isobench-scratch,iothread=iothread0');
    expect(tcgThreadOption(a)).toEqual([]);
  });
  it('microvm keeps PIT, PIC and RTC without the TSC-deadline timer, and under TCG', () => {
    const noTsc = argvFor('kvm', 'microvm', { vhostNetOpens: false, flags: ['avx2'] });
    expect(noTsc[noTsc.indexOf('-machine') + 1]).toBe('microvm,isa-serial=on,rtc=on,pit=on,pic=on');
    const tcg = argvFor('tcg', 'microvm', { vhostNetOpens: false });
    expect(tcg[tcg.indexOf('-machine') + 1]).toBe('microvm,isa-serial=on,rtc=on,pit=on,pic=on');
  });
  it("names QEMU's threads so placement can tell them apart", () => {
    const a = buildQemuArgv({ ...base, machine: 'q35', accel: 'kvm', name: 'isobench-x' });
    expect(a[a.indexOf('-name') + 1]).toBe('isobench-x,debug-threads=on');
  });
});

describe('guest THP and host facts', () => {
  it("the guest gets the host's THP mode and defrag on its command line", () => {
    expect(thpKernelArgs({ enabled: 'madvise', defrag: 'defer+madvise' })).toEqual([
      'transparent_hugepage=madvise',
      'isobench.thp=madvise',
      'isobench.thp_defrag=defer+madvise',
    ]);
    expect(thpKernelArgs({ enabled: null, defrag: null })).toEqual([]);
    expect(thpKernelArgs({ enabled: 'bogus; rm', defrag: 'x' })).toEqual([]);
  });
  it('warns about THP madvise for every VM, and about KVM parameters only under KVM', () => {
    const host = {
      thp: { enabled: 'madvise', defrag: 'madvise' },
      kvmParams: { kvm: { halt_poll_ns: '200000', nx_huge_pages: 'N' }, kvm_amd: { avic: '0', npt: '1' } },
    };
    expect(vmHostWarnings(host, 'tcg').map((w) => w.code)).toEqual(['THP_MADVISE_VM']);
    expect(vmHostWarnings(host, 'kvm').map((w) => w.code)).toEqual(['THP_MADVISE_VM', 'KVM_HALT_POLL', 'KVM_NO_AVIC']);
    expect(
      vmHostWarnings(
        {
          thp: { enabled: 'never', defrag: null },
          kvmParams: { kvm: { halt_poll_ns: '0', nx_huge_pages: 'Y' }, kvm_intel: { enable_apicv: 'N', ept: 'Y' } },
        },
        'kvm',
      ).map((w) => w.code),
    ).toEqual(['KVM_NX_HUGE_PAGES', 'KVM_NO_APICV']);
  });
});

describe('thread placement', () => {
  it('vCPU threads on the instance set, the others on the harness CPUs; the cgroup holds both', () => {
    expect(planPlacement([1], 2)).toMatchObject({ mode: 'apart', vcpuCpus: [1], otherCpus: [0], cgroupCpus: [0, 1] });
    expect(planPlacement([2, 3], 4)).toMatchObject({
      mode: 'apart',
      vcpuCpus: [2, 3],
      otherCpus: [0, 1],
      cgroupCpus: [0, 1, 2, 3],
    });
  });
  it('shares (and says so) when the instance covers every host CPU', () => {
    const p = planPlacement([0, 1], 2);
    expect(p).toMatchObject({ mode: 'shared', vcpuCpus: [0, 1], otherCpus: [0, 1], cgroupCpus: [0, 1] });
    expect(p.note).toMatch(/^shared:/);
  });
});

describe('helpers', () => {
  it('cgroup wrapper passes files and argv as positional parameters', () => {
    const a = cgroupWrappedArgv(['/cg/a/cgroup.procs', '/cg/b/cgroup.procs'], ['qemu', '-append', 'a b; rm -rf /']);
    expect(a[0]).toBe('sh');
    expect(a[2]).not.toContain('qemu');
    expect(a.slice(3)).toEqual([
      'isobench-cgroup-wrap',
      '/cg/a/cgroup.procs',
      '/cg/b/cgroup.procs',
      '--',
      'qemu',
      '-append',
      'a b; rm -rf /',
    ]);
  });
  it('parses smaps_rollup', () => {
    const t =
      '55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:              215040 kB\nPss:              210000 kB\nPss_Anon: 1 kB\n';
    expect(parseSmapsRollup(t)).toEqual({ rssBytes: 215040 * 1024, pssBytes: 210000 * 1024 });
  });
  it('console tail strips escapes and blank lines', () => {
    expect(consoleTail('\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\n\nline2\nline3\n', 2)).toEqual(['line2', 'line3']);
  });
  it('parses init marks', () => {
    expect(parseInitMarks('x\nisobench-init: start uptime=2.20\nisobench-init: agent starting uptime=2.87\n')).toEqual({
      start: 2.2,
      agentStarting: 2.87,
    });
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
    const { consoleQuote } = await import('../../../src/backends/vm.js');
    const trace = Array.from({ length: 30 }, (_, i) => `[ 2.2] frame ${i}`).join('\n');
    const q = consoleQuote(
      `SeaBIOS\nisobench-init: start uptime=2.1\nisobench-init: FATAL: boom\n[ 2.2] Kernel panic - not syncing: Attempted to kill init!\n${trace}\n`,
      5,
    );
    expect(q.slice(0, 3)).toEqual([
      'isobench-init: start uptime=2.1',
      'isobench-init: FATAL: boom',
      '[ 2.2] Kernel panic - not syncing: Attempted to kill init!',
    ]);
    expect(q[3]).toBe('...');
    expect(q.slice(4)).toHaveLength(5);
  });
});
