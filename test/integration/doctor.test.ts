import { describe, expect, it, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync } from 'node:fs';
import { isobench } from '../helpers/cli.js';

const PLANTED_NS = 'isobench-planted-test';
const FOREIGN_NS = 'not-isobench-test';
const PLANTED_CG = '/sys/fs/cgroup/memory/isobench/planted-test';

async function netns(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return String(r.stdout).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

afterAll(async () => {
  await execa('ip', ['netns', 'del', FOREIGN_NS], { reject: false });
  await execa('ip', ['netns', 'del', PLANTED_NS], { reject: false });
});

describe('isobench doctor', () => {
  it('reports the facts of this host and names the fix for what is missing', async () => {
    const r = await isobench(['doctor', '--json']);
    const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string }>; host: { kvm: { hardware: boolean; summary: string } } };
    const names = report.checks.map((c) => c.name);
    for (const n of ['root', 'cgroups', 'runc', 'qemu-system-x86_64', 'fio', 'iperf3', 'sysbench', 'stress-ng', 'guest kernel', 'kvm', 'ksm', 'transparent huge pages'])
      expect(names).toContain(n);
    // This machine has no hardware virtualization: doctor must say so and pick TCG.
    expect(report.host.kvm.hardware).toBe(false);
    expect(report.checks.find((c) => c.name === 'kvm')!.detail).toMatch(/TCG/);
    const human = await isobench(['doctor']);
    expect(human.stdout).toMatch(/\[(ok  |WARN|FAIL)\] root/);
  });

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
