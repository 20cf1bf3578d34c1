/**
 * The host capability model on fake sysfs and cgroup trees: every path a real
 * host can take (cgroup v1 with BFQ, v1 throttle-only without BFQ, v2 with
 * io.weight through io.cost, v2 without any weight, v2 without the io
 * controller), what each part of the partition then runs or skips, masking, and
 * the lines the report prints (doctor's checks: test/unit/ops/doctor.test.ts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeHostTree } from '../../helpers/fake-host-tree.js';
import {
  capability,
  capabilityLines,
  hasCapability,
  maskCapabilities,
  missingReason,
  parseCapabilityMask,
  parseKernelConfig,
  probeCapabilities,
  type HostTree,
} from '../../../src/host/capabilities.js';
import type { CgroupLayout } from '../../../src/host/cgroup-layout.js';
import { planPartition } from '../../../src/workloads/partition-params.js';
import { MECHANISM_NEEDS, MECHANISMS } from '../../../src/workloads/noisy-neighbor-params.js';

const hostTree = fakeHostTree();
let root = '';
const file = (rel: string, text = ''): void => hostTree.file(rel, text);

/** A host tree with one virtio disk, one loop device and zram, KSM, THP; the cgroup part is per test. */
function tree(o: {
  scheduler: string;
  config?: string;
  cgroup: (root: string) => CgroupLayout;
  qdisc?: boolean;
}): HostTree {
  root = hostTree.make('isobench-caps-');
  for (const [name, dev] of [
    ['vda', '254:0'],
    ['loop0', '7:0'],
  ] as const) {
    file(`sys/block/${name}/dev`, `${dev}\n`);
    file(`sys/block/${name}/queue/scheduler`, `${o.scheduler}\n`);
    file(`sys/block/${name}/stat`, '100 0 800 0 0 0 0 0 0 0 0\n');
  }
  file('sys/kernel/mm/ksm/run', '0\n');
  file('sys/kernel/mm/transparent_hugepage/enabled', 'always [madvise] never\n');
  mkdirSync(path.join(root, 'dev'), { recursive: true });
  if (o.config !== undefined) file('proc/config', o.config);
  else mkdirSync(path.join(root, 'proc'), { recursive: true });
  return {
    sys: path.join(root, 'sys'),
    dev: path.join(root, 'dev'),
    proc: path.join(root, 'proc'),
    modulesDir: undefined,
    cgroup: o.cgroup(root),
    kvm: { hardware: false, summary: 'no vmx/svm flag' },
    qdiscWorks: async () => o.qdisc ?? true,
  };
}

function v1(r: string, withBlkio = true): CgroupLayout {
  const mounts: Record<string, string> = {
    cpu: `${r}/cg/cpu`,
    cpuset: `${r}/cg/cpuset`,
    memory: `${r}/cg/memory`,
    freezer: `${r}/cg/freezer`,
  };
  if (withBlkio) {
    mounts.blkio = `${r}/cg/blkio`;
    for (const f of [
      'blkio.throttle.read_iops_device',
      'blkio.throttle.io_service_bytes',
      'blkio.throttle.io_serviced',
    ])
      file(`cg/blkio/${f}`);
  }
  return { version: 1, hybrid: true, mounts };
}

function v2(r: string, controllers: string[], ioCost: boolean): CgroupLayout {
  file('cg2/cgroup.controllers', controllers.join(' '));
  file('cg2/init.scope/cgroup.freeze', '0\n');
  if (ioCost) file('cg2/io.cost.qos', '');
  return { version: 2, root: `${r}/cg2`, controllers };
}

describe('capability probe on fake trees', () => {
  it('cgroup v1 with BFQ: weights by bfq, caps and counters by blkio throttle', async () => {
    const hc = await probeCapabilities(tree({ scheduler: '[mq-deadline] kyber bfq none', cgroup: (r) => v1(r) }));
    expect(capability(hc, 'disk-weights')).toMatchObject({
      available: true,
      mechanism: expect.stringMatching(/^bfq weights \(blkio\.bfq\.weight\)/),
    });
    expect(capability(hc, 'disk-caps').mechanism).toMatch(/blkio\.throttle/);
    expect(capability(hc, 'block-counters').mechanism).toMatch(/no-op/);
    expect(
      hasCapability(hc, 'freezer') &&
        hasCapability(hc, 'cpuset') &&
        hasCapability(hc, 'ksm') &&
        hasCapability(hc, 'thp'),
    ).toBe(true);
    expect(hasCapability(hc, 'vhost-net')).toBe(false);
    const plan = planPartition(['cpu', 'disk', 'network'], hc);
    expect(plan).toMatchObject({
      cpu: true,
      network: true,
      diskShare: true,
      diskCap: true,
      diskCounters: 'cgroup',
      skipped: [],
    });
  });

  it('cgroup v1 throttle-only (no BFQ, kernel 6.18.44): caps and counters, no weights; the partition skips only its disk share', async () => {
    const hc = await probeCapabilities(
      tree({
        scheduler: '[none] mq-deadline kyber',
        config: '# CONFIG_IOSCHED_BFQ is not set\nCONFIG_BLK_DEV_THROTTLING=y\n',
        cgroup: (r) => v1(r),
      }),
    );
    const w = capability(hc, 'disk-weights');
    expect(w.available).toBe(false);
    expect(w.evidence).toMatch(/no BFQ on this kernel .*CONFIG_IOSCHED_BFQ=n/);
    expect(hasCapability(hc, 'disk-caps')).toBe(true);
    expect(hasCapability(hc, 'block-counters')).toBe(true);
    const plan = planPartition(['cpu', 'disk', 'network'], hc);
    expect(plan).toMatchObject({ cpu: true, network: true, diskShare: false, diskCap: true, diskCounters: 'cgroup' });
    expect(plan.skipped).toEqual([
      expect.objectContaining({ part: 'disk share and work-conserving check', capability: 'disk-weights' }),
    ]);
    expect(missingReason(hc, 'disk-weights')).toMatchObject({
      reason: expect.stringMatching(/^not on this host: weight-based disk shares/),
      fix: expect.stringMatching(/BFQ/),
    });
    // The noisy neighbour: every mechanism but io-weight runs.
    expect(
      MECHANISMS.filter((m) => {
        const need = MECHANISM_NEEDS[m];
        return !need || hasCapability(hc, need);
      }),
    ).toEqual(['cpu-weight', 'cpu-cap', 'io-throttle', 'tc']);
  });

  it('cgroup v2 with io.cost: io.weight shares, io.max caps, io.stat counters', async () => {
    const hc = await probeCapabilities(
      tree({ scheduler: '[none] mq-deadline', cgroup: (r) => v2(r, ['cpuset', 'cpu', 'io', 'memory', 'pids'], true) }),
    );
    expect(capability(hc, 'disk-weights').mechanism).toMatch(/^io\.cost weights \(io\.weight\)/);
    expect(capability(hc, 'disk-caps').mechanism).toBe('io.max (cgroup v2)');
    expect(capability(hc, 'block-counters').mechanism).toBe('io.stat (cgroup v2)');
    expect(capability(hc, 'freezer').mechanism).toBe('cgroup.freeze (cgroup v2)');
    expect(planPartition(['disk'], hc)).toMatchObject({ diskShare: true, diskCap: true, skipped: [] });
  });

  it('cgroup v2 with BFQ prefers io.bfq.weight', async () => {
    const hc = await probeCapabilities(
      tree({ scheduler: '[bfq] none', cgroup: (r) => v2(r, ['cpuset', 'cpu', 'io', 'memory'], true) }),
    );
    expect(capability(hc, 'disk-weights').mechanism).toMatch(/^bfq weights \(io\.bfq\.weight\)/);
  });

  it('cgroup v2 without any weight mechanism: caps and counters only', async () => {
    const hc = await probeCapabilities(
      tree({
        scheduler: '[none] mq-deadline kyber',
        cgroup: (r) => v2(r, ['cpuset', 'cpu', 'io', 'memory', 'pids'], false),
      }),
    );
    expect(capability(hc, 'disk-weights')).toMatchObject({
      available: false,
      evidence: expect.stringMatching(/neither BFQ nor io\.cost/),
    });
    expect(planPartition(['disk'], hc)).toMatchObject({ diskShare: false, diskCap: true });
  });

  it('cgroup v2 without the io controller: no caps, no cgroup counters (device stat is the fallback), no disk parts', async () => {
    const hc = await probeCapabilities(
      tree({ scheduler: '[none]', cgroup: (r) => v2(r, ['cpuset', 'cpu', 'memory'], false) }),
    );
    expect(hasCapability(hc, 'disk-caps')).toBe(false);
    expect(capability(hc, 'block-counters')).toMatchObject({
      available: false,
      mechanism: 'device-wide /sys/block/<dev>/stat',
    });
    const plan = planPartition(['cpu', 'disk'], hc);
    expect(plan).toMatchObject({ cpu: true, diskShare: false, diskCap: false, diskCounters: 'device' });
    expect(plan.skipped.map((s) => s.capability).sort()).toEqual(['disk-caps', 'disk-weights']);
  });

  it('no traffic shaping: the network parts are skipped, the CPU part stays', async () => {
    const hc = await probeCapabilities(
      tree({ scheduler: '[none]', config: '# CONFIG_NET_SCH_HTB is not set\n', cgroup: (r) => v1(r), qdisc: false }),
    );
    expect(capability(hc, 'tc-shaping')).toMatchObject({
      available: false,
      evidence: expect.stringMatching(/htb: adding a qdisc failed/),
    });
    const plan = planPartition(['cpu', 'network'], hc);
    expect(plan).toMatchObject({ cpu: true, network: false });
    expect(plan.skipped).toEqual([
      expect.objectContaining({ part: 'network share and cap', capability: 'tc-shaping' }),
    ]);
  });

  it('cgroup v1 without blkio: no weights, caps or cgroup counters', async () => {
    const hc = await probeCapabilities(tree({ scheduler: '[bfq]', cgroup: (r) => v1(r, false) }));
    expect(['disk-weights', 'disk-caps', 'block-counters'].map((id) => hasCapability(hc, id as 'disk-caps'))).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe('masking, parsing and presentation', () => {
  it('a masked capability is absent for the run, its evidence kept, and the fix says how to unmask', async () => {
    const hc = await probeCapabilities(tree({ scheduler: '[bfq]', cgroup: (r) => v1(r) }));
    const m = maskCapabilities(hc, ['disk-weights', 'block-counters']);
    expect(hasCapability(m, 'disk-weights')).toBe(false);
    expect(capability(m, 'disk-weights')).toMatchObject({
      masked: true,
      evidence: expect.stringMatching(/^masked for this run .*the host: cgroup v1 blkio/),
    });
    expect(m.masked).toEqual(['disk-weights', 'block-counters']);
    expect(missingReason(m, 'block-counters').fix).toBe('run without --mask-capability');
    expect(planPartition(['disk'], m)).toMatchObject({ diskShare: false, diskCap: true, diskCounters: 'device' });
    expect(hasCapability(hc, 'disk-weights')).toBe(true);
  });

  it('parses a mask list and refuses an unknown capability by name', () => {
    expect(parseCapabilityMask(' disk-weights, tc-shaping ,disk-weights')).toEqual(['disk-weights', 'tc-shaping']);
    expect(parseCapabilityMask(undefined)).toEqual([]);
    expect(() => parseCapabilityMask('bfq')).toThrow(/unknown capability "bfq": expected one of disk-weights, /);
  });

  it('reads kernel config lines, set and unset', () => {
    const c = parseKernelConfig('CONFIG_KSM=y\n# CONFIG_IOSCHED_BFQ is not set\nCONFIG_NET_SCH_HTB=m\n');
    expect([...c]).toEqual([
      ['CONFIG_KSM', 'y'],
      ['CONFIG_IOSCHED_BFQ', 'n'],
      ['CONFIG_NET_SCH_HTB', 'm'],
    ]);
  });

  it('capability lines: ✗ and "without it, isobench …" on a missing one, ✓ on a present one', async () => {
    const hc = await probeCapabilities(
      tree({ scheduler: '[none]', cgroup: (r) => ({ version: 1, hybrid: false, mounts: { cpu: `${r}/cg/cpu` } }) }),
    );
    const lines = capabilityLines(hc);
    expect(lines.find((l) => l.includes('weight-based disk shares'))).toMatch(/^✗ .*; without it, isobench skips/);
    expect(lines.find((l) => l.includes('kernel same-page merging'))).toMatch(/^✓ /);
  });
});
