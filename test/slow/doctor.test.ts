import { describe, expect, it, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync } from 'node:fs';
import { isobench } from '../helpers/cli.js';

const PLANTED_NS = 'isobench-planted-test';
const FOREIGN_NS = 'not-isobench-test';
const PLANTED_CG = '/sys/fs/cgroup/memory/isobench/planted-test';

async function netns(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

afterAll(async () => {
  await execa('ip', ['netns', 'del', FOREIGN_NS], { reject: false });
  await execa('ip', ['netns', 'del', PLANTED_NS], { reject: false });
});

describe('isobench doctor', () => {
  it('reports the facts of this host and names the fix for what is missing', async () => {
    // Both forms at once: each boots its own bounded calibration guests (here ~13 s, most of it a software-KVM
    // boot that times out at 10 s), which need not wait for each other.
    const [r, human] = await Promise.all([isobench(['doctor', '--json']), isobench(['doctor'])]);
    const report = JSON.parse(r.stdout) as {
      checks: Array<{ name: string; status: string; detail: string }>;
      host: { kvm: { hardware: boolean; summary: string } };
    };
    const names = report.checks.map((c) => c.name);
    for (const n of [
      'root',
      'cgroups',
      'runc',
      'qemu-system-x86_64',
      'fio',
      'iperf3',
      'sysbench',
      'stress-ng',
      'guest kernel',
      'kvm',
      'ksm',
      'transparent huge pages',
    ])
      expect(names).toContain(n);
    // Branch on what this host has: with hardware virtualization doctor says so; without, it names TCG.
    const kvm = report.checks.find((c) => c.name === 'kvm')!;
    if (report.host.kvm.hardware) {
      expect(kvm.status).toBe('ok');
      expect(kvm.detail).toMatch(/hardware virtualization \((vmx|svm)/);
    } else {
      expect(kvm.status).toBe('warn');
      expect(kvm.detail).toMatch(/TCG/);
    }
    expect(names).toContain('kvm parameters');
    // Each backend provider's tools and checks appear: the engines too (optional tools: never a failure).
    for (const n of ['runsc', 'qemu-ga', 'podman', 'conmon', 'dockerd']) expect(names).toContain(n);
    for (const n of ['podman', 'conmon', 'dockerd'])
      expect(report.checks.find((c) => c.name === n)!.status).not.toBe('fail');
    expect(human.stdout).toMatch(/\[(ok  |WARN|FAIL)\] root/);
  });

  it('--vm boots a guest with the accelerator a run would use and lists guest vs host differences', async () => {
    // Both forms at once, as in the test above (each boots its own guests, under its own names).
    const [r, human] = await Promise.all([isobench(['doctor', '--vm', '--json']), isobench(['doctor', '--vm'])]);
    const report = JSON.parse(r.stdout) as {
      host: { kvm: { hardware: boolean }; thp: { enabled: string | null } };
      checks: Array<{ name: string; status: string; detail: string }>;
      vmSelfCheck: {
        backend: string;
        check: import('../../src/backends/vm-selfcheck.js').VmSelfCheck | null;
        error?: string;
        placement?: { mode: string };
      };
    };
    const sc = report.vmSelfCheck.check;
    expect(report.vmSelfCheck.error).toBeUndefined();
    expect(sc).not.toBeNull();
    if (!sc) return;
    // Guest and host side by side: CPU model and flags, mitigations, clocksource, THP, virtio-net, I/O threads.
    expect(sc.cpu.hostModel).toBeTruthy();
    expect(sc.cpu.guestModel).toBeTruthy();
    expect(sc.cpu.guestFlags).toBeGreaterThan(10);
    expect(sc.mitigations.length).toBeGreaterThan(5);
    expect(sc.clocksource.guest).toBeTruthy();
    expect(sc.thp.guest.enabled).toBe(report.host.thp.enabled);
    expect(sc.thp.match).toBe(true);
    expect(sc.iothreads.running.map((t) => t.id)).toEqual(['iothread0']);
    expect(sc.vcpuThreads).toHaveLength(1);
    expect(report.vmSelfCheck.placement?.mode).toBe('apart'); // 1 vCPU on the last CPU: the harness keeps the others
    const check = report.checks.find((c) => c.name === 'vm self-check')!;
    if (report.host.kvm.hardware && sc.accelerator === 'kvm') {
      // A KVM host: the guest is the host's CPU, or the check fails and says why.
      expect(sc.net.backend).toBe(existsSync('/dev/vhost-net') ? 'vhost' : 'qemu');
      if (sc.status === 'errors') expect(check.status).toBe('fail');
      else expect(sc.cpu.missingRelevant).toEqual([]);
    } else {
      expect(sc.accelerator).toBe('tcg');
      expect(sc.net.backend).toBe('qemu');
      // Under TCG the differences are expected, listed and not errors.
      expect(sc.cpu.missing.length).toBeGreaterThan(0);
      expect(sc.findings.some((f) => f.severity === 'expected' && f.area === 'cpu')).toBe(true);
      expect(sc.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(check.status).toBe('warn');
    }
    expect(human.stdout).toMatch(/VM self-check \((TCG|KVM)\)/);
    expect(human.stdout).toMatch(/CPU model {3}guest: .* host: /);
  }, 300_000);

  it('--cleanup removes planted isobench leftovers and leaves a foreign namespace alone', async () => {
    await execa('ip', ['netns', 'add', PLANTED_NS]);
    await execa('ip', ['netns', 'add', FOREIGN_NS]);
    mkdirSync(PLANTED_CG, { recursive: true });
    const r = await isobench(['doctor', '--cleanup']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(PLANTED_NS);
    const after = await netns();
    expect(after).not.toContain(PLANTED_NS);
    expect(after).toContain(FOREIGN_NS);
    expect(existsSync(PLANTED_CG)).toBe(false);
  });
});
