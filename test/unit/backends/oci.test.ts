import { describe, expect, it } from 'vitest';
import { CFS_PERIOD_US, IDLE_INIT, ociConfig, ociResources, weightToShares } from '../../../src/backends/oci.js';

const base = {
  args: ['/bin/true'],
  rootfs: '/img/rootfs',
  readonlyRoot: true,
  hostname: 'h',
  cgroupVersion: 1 as const,
};

describe('ociConfig', () => {
  it('writes a read-only shared rootfs, private /tmp and the standard namespaces', () => {
    const c = ociConfig(base);
    expect(c.root).toEqual({ path: '/img/rootfs', readonly: true });
    expect(c.process.args).toEqual(['/bin/true']);
    expect(c.process.terminal).toBe(false);
    expect(c.mounts.find((m) => m.destination === '/tmp')).toMatchObject({ type: 'tmpfs' });
    expect(c.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(c.linux.namespaces.find((n) => n.type === 'network')?.path).toBeUndefined();
    expect(c.linux.cgroupsPath).toBeUndefined();
    expect(c.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    expect(JSON.parse(JSON.stringify(c))).toEqual(c); // plain JSON
  });

  it('joins a given network namespace and binds the scratch disk rw', () => {
    const c = ociConfig({
      ...base,
      netnsPath: '/var/run/netns/isobench-x-a1',
      cgroupsPath: '/isobench/a',
      binds: [{ source: '/w/scratch', destination: '/scratch' }],
      nofile: 4096,
    });
    expect(c.linux.namespaces).toContainEqual({ type: 'network', path: '/var/run/netns/isobench-x-a1' });
    expect(c.linux.cgroupsPath).toBe('/isobench/a');
    expect(c.mounts.at(-1)).toEqual({
      destination: '/scratch',
      type: 'bind',
      source: '/w/scratch',
      options: ['rbind', 'rw', 'nosuid', 'nodev'],
    });
    expect(c.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }]);
  });

  it('rejects relative paths and empty argv', () => {
    expect(() => ociConfig({ ...base, rootfs: 'rootfs' })).toThrow(/absolute/);
    expect(() => ociConfig({ ...base, args: [] })).toThrow(/args/);
    expect(() => ociConfig({ ...base, binds: [{ source: 'x', destination: '/scratch' }] })).toThrow(/absolute/);
  });

  it('uses a constant idle init script', () => {
    expect(IDLE_INIT[0]).toBe('/bin/sh');
    expect(IDLE_INIT).toHaveLength(3);
  });
});

describe('ociResources', () => {
  it('maps the InstanceSpec limits on cgroup v1', () => {
    const r = ociResources(
      {
        cpus: [3, 1],
        cpuQuotaPercent: 150,
        cpuWeight: 200,
        memoryBytes: 512 * 2 ** 20,
        limitSwap: true,
        pidsLimit: 100,
      },
      1,
    );
    expect(r.cpu).toEqual({ cpus: '1,3', quota: 150_000, period: CFS_PERIOD_US, shares: 2048 });
    expect(r.memory).toEqual({ limit: 512 * 2 ** 20, swap: 512 * 2 ** 20 });
    expect(r.pids).toEqual({ limit: 100 });
    expect(r.unified).toBeUndefined();
  });

  it('only caps CPU time when a quota is asked for; no swap limit without accounting', () => {
    const r = ociResources({ cpus: [0], memoryBytes: 1024 }, 1);
    expect(r.cpu).toEqual({ cpus: '0' });
    expect(r.memory).toEqual({ limit: 1024 });
  });

  it('sets cpu.weight directly on cgroup v2', () => {
    const r = ociResources({ cpuWeight: 100 }, 2);
    expect(r.unified).toEqual({ 'cpu.weight': '100' });
    expect(r.cpu).toBeUndefined();
  });

  it('validates ranges', () => {
    expect(() => ociResources({ cpuQuotaPercent: 0 }, 1)).toThrow();
    expect(() => ociResources({ cpuWeight: 0 }, 1)).toThrow();
    expect(weightToShares(100)).toBe(1024);
    expect(weightToShares(0.01)).toBe(2);
  });
});
