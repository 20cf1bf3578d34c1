import { describe, expect, it } from 'vitest';
import { Freezer, harnessCpuProblem, netSoftirqDelta, parseSoftirqs, planCpus } from '../../../src/runner/placement.js';
import { CgroupHandle, type CgroupLayout } from '../../../src/host/cgroup.js';

describe('CPU plan', () => {
  it('auto: the last vcpus CPUs for instances, the rest for the harness', () => {
    expect(planCpus({ vcpus: 1, cpus: 'auto' }, 2)).toEqual({ instanceCpus: [1], harnessCpus: [0], shared: false });
    expect(planCpus({ vcpus: 3, cpus: 'auto' }, 8)).toEqual({
      instanceCpus: [5, 6, 7],
      harnessCpus: [0, 1, 2, 3, 4],
      shared: false,
    });
    expect(planCpus({ vcpus: 1, cpus: [0] }, 2)).toEqual({ instanceCpus: [0], harnessCpus: [1], shared: false });
  });
  it('every CPU taken: shared, refused unless the scenario says so', () => {
    expect(planCpus({ vcpus: 2, cpus: 'auto' }, 2).shared).toBe(true);
    expect(harnessCpuProblem({ vcpus: 2, cpus: 'auto' }, 2, 'f.yaml')).toMatch(
      /^f\.yaml: instance\.vcpus: 2 \(cpus: auto\) takes every CPU/,
    );
    expect(harnessCpuProblem({ vcpus: 2, cpus: 'auto', shareHarnessCpu: true }, 2, 'f.yaml')).toBeUndefined();
    expect(harnessCpuProblem({ vcpus: 1, cpus: 'auto' }, 2, 'f.yaml')).toBeUndefined();
  });
});

describe('softirqs', () => {
  const a =
    '                    CPU0       CPU1       \n          HI:          0          0\n      NET_TX:         10          2\n      NET_RX:        100         50\n';
  const b =
    '                    CPU0       CPU1       \n          HI:          0          0\n      NET_TX:         12          2\n      NET_RX:        900         55\n';
  it('per-CPU NET_RX/NET_TX deltas', () => {
    expect(parseSoftirqs(a).get('NET_RX')).toEqual([100, 50]);
    expect(netSoftirqDelta(parseSoftirqs(a), parseSoftirqs(b))).toEqual({ netRxPerCpu: [800, 5], netTxPerCpu: [2, 0] });
  });
});

describe('freezer files', () => {
  it('v1 freezer.state, v2 cgroup.freeze + cgroup.events; none without a freezer hierarchy', () => {
    const v1: CgroupLayout = {
      version: 1,
      hybrid: true,
      mounts: { freezer: '/sys/fs/cgroup/freezer', memory: '/sys/fs/cgroup/memory' },
    } as unknown as CgroupLayout;
    const f1 = Freezer.files(new CgroupHandle(v1, 'isobench/x'))!;
    expect(f1.control).toBe('/sys/fs/cgroup/freezer/isobench/x/freezer.state');
    expect([f1.on, f1.off]).toEqual(['FROZEN', 'THAWED']);
    expect(f1.frozenWhen('FROZEN\n')).toBe(true);
    expect(f1.frozenWhen('FREEZING\n')).toBe(false);
    const v2: CgroupLayout = { version: 2, root: '/sys/fs/cgroup', controllers: [] } as unknown as CgroupLayout;
    const f2 = Freezer.files(new CgroupHandle(v2, 'isobench/x'))!;
    expect(f2.control).toBe('/sys/fs/cgroup/isobench/x/cgroup.freeze');
    expect(f2.frozenWhen('populated 1\nfrozen 1\n')).toBe(true);
    const none: CgroupLayout = { version: 1, hybrid: false, mounts: { memory: '/m' } } as unknown as CgroupLayout;
    expect(Freezer.files(new CgroupHandle(none, 'isobench/x'))).toBeUndefined();
  });
});
