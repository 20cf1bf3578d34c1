import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseCgroupLayout,
  CgroupHandle,
  parseCpuList,
  weightToShares,
  sharesToWeight,
} from '../../../src/host/cgroup.js';

const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const V2 = `35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot`;
const COMBINED = `25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct`;

describe('cgroup layout detection', () => {
  it('treats a hybrid host (v1 controllers + empty v2) as v1', () => {
    const l = parseCgroupLayout(HYBRID);
    expect(l.version).toBe(1);
    if (l.version !== 1) return;
    expect(l.hybrid).toBe(true);
    expect(l.mounts.memory).toBe('/sys/fs/cgroup/memory');
    expect(l.mounts.cpuacct).toBe('/sys/fs/cgroup/cpuacct');
  });
  it('detects a pure v2 host and its controllers', () => {
    const l = parseCgroupLayout(V2, () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    expect(l).toEqual({ version: 2, root: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] });
  });
  it('maps co-mounted v1 controllers to one directory', () => {
    const l = parseCgroupLayout(COMBINED);
    expect(l.version === 1 && l.mounts.cpu === l.mounts.cpuacct).toBe(true);
  });
  it('refuses a host without cgroups', () => {
    expect(() => parseCgroupLayout('')).toThrow(/no cgroup/);
  });
});

describe('cpu lists and weights', () => {
  it('parses ranges', () => {
    expect(parseCpuList('0-2,5')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('1\n')).toEqual([1]);
  });
  it('converts v2 weights to v1 shares and back', () => {
    expect(weightToShares(100)).toBe(1024);
    expect(weightToShares(400)).toBe(4096);
    expect(sharesToWeight(1024)).toBe(100);
  });
});

describe('CgroupHandle on fixture trees', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'cgfixture-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function file(rel: string, text: string): void {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }

  it('v1: reads limits, working set (usage - inactive file) and OOM kills', async () => {
    const mounts = {
      cpu: `${root}/cpu`,
      cpuacct: `${root}/cpuacct`,
      cpuset: `${root}/cpuset`,
      memory: `${root}/memory`,
      pids: `${root}/pids`,
    };
    const g = new CgroupHandle({ version: 1, hybrid: true, mounts }, 'isobench/x');
    file('cpu/isobench/x/cpu.cfs_quota_us', '90000\n');
    file('cpu/isobench/x/cpu.cfs_period_us', '100000\n');
    file('cpu/isobench/x/cpu.shares', '4096\n');
    file('cpuset/isobench/x/cpuset.cpus', '1\n');
    file('memory/isobench/x/memory.limit_in_bytes', '536870912\n');
    file('memory/isobench/x/memory.usage_in_bytes', '10485760\n');
    file('memory/isobench/x/memory.stat', 'cache 4096\ntotal_inactive_file 2097152\n');
    file('memory/isobench/x/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    file('memory/isobench/x/cgroup.procs', '');
    file('pids/isobench/x/pids.max', '1024\n');
    file('cpuacct/isobench/x/cpuacct.usage', '2500000000\n');
    expect(await g.readLimits()).toEqual({
      cpus: [1],
      cpuQuotaPercent: 90,
      cpuWeight: 400,
      memoryBytes: 536870912,
      pidsMax: 1024,
    });
    expect(await g.memoryStats()).toEqual({
      usageBytes: 10485760,
      inactiveFileBytes: 2097152,
      workingSetBytes: 8388608,
    });
    expect(await g.oomKills()).toBe(2);
    expect(await g.cpuUsageSeconds()).toBe(2.5);
  });

  it('v2: reads limits, working set and OOM kills; writes limits in v2 form', async () => {
    const g = new CgroupHandle({ version: 2, root, controllers: ['cpu', 'cpuset', 'memory', 'pids'] }, 'isobench/y');
    file('isobench/y/cpu.max', '50000 100000\n');
    file('isobench/y/cpu.weight', '100\n');
    file('isobench/y/cpuset.cpus.effective', '0-1\n');
    file('isobench/y/memory.max', 'max\n');
    file('isobench/y/memory.current', '3145728\n');
    file('isobench/y/memory.stat', 'anon 1048576\ninactive_file 1048576\n');
    file('isobench/y/memory.events', 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    file('isobench/y/pids.max', 'max\n');
    file('isobench/y/cpu.stat', 'usage_usec 1500000\nuser_usec 1000000\n');
    expect(await g.readLimits()).toEqual({
      cpus: [0, 1],
      cpuQuotaPercent: 50,
      cpuWeight: 100,
      memoryBytes: undefined,
      pidsMax: undefined,
    });
    expect((await g.memoryStats())?.workingSetBytes).toBe(2097152);
    expect(await g.oomKills()).toBe(1);
    expect(await g.cpuUsageSeconds()).toBe(1.5);
    await g.setLimits({ cpuQuotaPercent: 90, memoryBytes: 1024, cpuWeight: 800, pidsMax: 64 });
    expect(readFileSync(path.join(root, 'isobench/y/cpu.max'), 'utf8')).toBe('90000 100000');
    expect(readFileSync(path.join(root, 'isobench/y/memory.max'), 'utf8')).toBe('1024');
    expect(readFileSync(path.join(root, 'isobench/y/cpu.weight'), 'utf8')).toBe('800');
  });

  it('refuses path traversal in cgroup names', () => {
    expect(() => new CgroupHandle({ version: 2, root, controllers: [] }, '../etc')).toThrow(/unsafe/);
  });
});
