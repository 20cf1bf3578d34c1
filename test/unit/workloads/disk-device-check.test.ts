/**
 * The disk device check's evidence: the instance cgroup's counters when they saw a
 * real device, the device-wide /sys/block stat when they are empty (cgroup v1
 * without a throttle rule counts nothing on kernel 6.18), and "not checked" when
 * neither exists: never a zero for a check that could not be made. On fixture
 * trees: v1 gets no-op throttle rules on real disks only, removed afterwards; v2
 * reads io.stat and writes nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decideDeviceCheck, startDeviceCheck } from '../../../src/workloads/disk-device-check.js';
import { busiestDeviceDelta, parseBlockStat, realDisks } from '../../../src/host/block-stat.js';
import { CgroupHandle, type IoCounters } from '../../../src/host/cgroup.js';
import type { Instance } from '../../../src/backends/types.js';
import { fakeCapabilities } from '../../helpers/capabilities.js';
import { deviceCheckFailure, deviceCheckMissing, checkPlausibility } from '../../../src/stats/plausibility.js';
// Plausibility reads what the workloads and providers declare: load the declarations.
import '../../../src/workloads/index.js';
import '../../../src/backends/providers/index.js';
import type { Cell } from '../../../src/results/types.js';

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = '';
});
const file = (rel: string, text: string): void => {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
};
const counters = (entries: Array<[string, number]>): Map<string, IoCounters> =>
  new Map(entries.map(([d, b]) => [d, { readIos: b / 4096, writeIos: 0, readBytes: b, writeBytes: 0 }]));
const stat = (majMin: string, name: string, readBytes: number) => ({
  majMin,
  name,
  readIos: readBytes / 4096,
  readBytes,
});

function sysfs(): string {
  root = mkdtempSync(path.join(os.tmpdir(), 'isobench-devcheck-'));
  for (const [name, dev, sectors] of [
    ['vda', '254:0', 1000],
    ['loop3', '7:3', 50],
    ['zram0', '253:0', 0],
  ] as const) {
    file(`sys/block/${name}/dev`, `${dev}\n`);
    file(`sys/block/${name}/stat`, `   10 0 ${sectors} 5 0 0 0 0 0 0 0\n`);
  }
  return path.join(root, 'sys');
}

describe('device check: which evidence', () => {
  it('the cgroup counters when they list a real device (loop devices skipped)', () => {
    const d = decideDeviceCheck({
      cgroupBefore: counters([['254:0', 0]]),
      cgroupAfter: counters([
        ['254:0', 8192],
        ['7:3', 1 << 20],
      ]),
      statBefore: [],
      statAfter: [],
    });
    expect(d).toMatchObject({ source: 'cgroup', device: '254:0', bytes: 8192 });
  });

  it('a cgroup that saw the device and read nothing is a measured 0 (a cache served the reads), not missing', () => {
    const d = decideDeviceCheck({
      cgroupBefore: counters([['254:0', 4096]]),
      cgroupAfter: counters([['254:0', 4096]]),
      statBefore: [stat('254:0', 'vda', 0)],
      statAfter: [stat('254:0', 'vda', 1 << 20)],
    });
    expect(d).toMatchObject({ source: 'cgroup', bytes: 0 });
  });

  it('empty cgroup counters ([] before and after, v1 without a rule) fall back to the device-wide stat, named as such', () => {
    const d = decideDeviceCheck({
      cgroupBefore: new Map(),
      cgroupAfter: new Map(),
      statBefore: [stat('254:0', 'vda', 0), stat('7:3', 'loop3', 0)],
      statAfter: [stat('254:0', 'vda', 4 << 20), stat('7:3', 'loop3', 0)],
    });
    expect(d.source).toBe('device-stat');
    expect(d.bytes).toBe(4 << 20);
    expect(d.why).toMatch(
      /listed no real block device .*missing evidence, not zero reads; used the device-wide \/sys\/block\/vda\/stat/,
    );
  });

  it('no cgroup counters and no device stat: not checked, no bytes', () => {
    const d = decideDeviceCheck({ cgroupWhyNot: 'the instance has no cgroup', statBefore: [], statAfter: [] });
    expect(d).toEqual({
      source: 'none',
      why: 'the instance has no cgroup; and no /sys/block/<dev>/stat could be read',
    });
  });

  it('parses /sys/block stat (sectors are 512 bytes) and lists real disks only', async () => {
    expect(parseBlockStat('  7 0 16 1 0 0 0 0 0 0 0')).toEqual({ readIos: 7, readBytes: 8192 });
    expect(() => parseBlockStat('garbage')).toThrow(/not a \/sys\/block/);
    const sys = sysfs();
    expect(await realDisks(sys)).toEqual([{ name: 'vda', majMin: '254:0' }]);
    expect(
      busiestDeviceDelta([stat('254:0', 'vda', 10)], [stat('254:0', 'vda', 30), stat('8:0', 'sda', 99)]),
    ).toMatchObject({ majMin: '254:0', readBytes: 20 });
  });
});

describe('device check on fixture cgroup trees', () => {
  const inst = (cg: CgroupHandle | undefined): Instance => ({ name: 'x', cgroup: cg }) as unknown as Instance;

  it('cgroup v1: a no-op throttle rule on each real disk while measuring (not loop, not zram), removed by finish()', async () => {
    const sys = sysfs();
    const layout = { version: 1 as const, hybrid: true, mounts: { blkio: path.join(root, 'blkio') } };
    const dir = path.join(root, 'blkio/isobench/x');
    mkdirSync(dir, { recursive: true });
    for (const f of ['io_serviced', 'io_service_bytes']) writeFileSync(path.join(dir, `blkio.throttle.${f}`), '');
    const check = await startDeviceCheck(inst(new CgroupHandle(layout, 'isobench/x')), fakeCapabilities(), sys);
    expect(readFileSync(path.join(dir, 'blkio.throttle.read_iops_device'), 'utf8')).toBe('254:0 1000000000000');
    expect(check.notes.join('\n')).toMatch(/no-op throttle rules \(1e12 IOPS\) set on 254:0 so the v1 counters count/);
    // The kernel counts while the rule is there; an empty file after is what 6.18 shows without one.
    writeFileSync(path.join(dir, 'blkio.throttle.io_service_bytes'), '254:0 Read 8192\n');
    writeFileSync(path.join(dir, 'blkio.throttle.io_serviced'), '254:0 Read 2\n');
    const snaps = await check.finish();
    expect(readFileSync(path.join(dir, 'blkio.throttle.read_iops_device'), 'utf8')).toBe('254:0 0');
    expect(decideDeviceCheck(snaps)).toMatchObject({ source: 'cgroup', device: '254:0', bytes: 8192, reads: 2 });
    expect(await check.finish()).toBe(snaps);
  });

  it('cgroup v2: io.stat read, nothing written', async () => {
    const sys = sysfs();
    const cgroot = path.join(root, 'cg2');
    mkdirSync(path.join(cgroot, 'isobench/x'), { recursive: true });
    writeFileSync(path.join(cgroot, 'isobench/x/io.stat'), '');
    const check = await startDeviceCheck(
      inst(new CgroupHandle({ version: 2, root: cgroot, controllers: ['io'] }, 'isobench/x')),
      fakeCapabilities(),
      sys,
    );
    writeFileSync(
      path.join(cgroot, 'isobench/x/io.stat'),
      '254:0 rbytes=65536 wbytes=0 rios=16 wios=0 dbytes=0 dios=0\n',
    );
    const d = decideDeviceCheck(await check.finish());
    expect(d).toMatchObject({ source: 'cgroup', bytes: 65536 });
    expect(() => readFileSync(path.join(cgroot, 'isobench/x/io.max'))).toThrow();
  });

  it('without per-cgroup counters (capability missing or masked) the cgroup is not read: device stat', async () => {
    const sys = sysfs();
    const check = await startDeviceCheck(inst(undefined), fakeCapabilities(['block-counters']), sys);
    file('sys/block/vda/stat', '   20 0 3000 5 0 0 0 0 0 0 0\n');
    const d = decideDeviceCheck(await check.finish());
    expect(d).toMatchObject({ source: 'device-stat', bytes: 2000 * 512 });
    expect(d.why).toMatch(/^this host has no per-cgroup block counters/);
  });
});

describe('plausibility: missing evidence is shown as missing', () => {
  const cell = (values: number[] | undefined, why?: string): Cell =>
    ({
      backend: 'container:runc',
      workload: 'disk',
      state: 'complete',
      metrics: [
        { metric: 'randread-iops', unit: 'IOPS', higherIsBetter: true, values: [100, 101, 99], rawLogs: [] },
        ...(values
          ? [{ metric: 'device-read-bytes-per-fio-byte', unit: 'x', higherIsBetter: true, values, rawLogs: [] }]
          : []),
      ],
      ...(why ? { extra: { deviceCheck: [{ repetition: 1, data: { source: 'none', why } }] } } : {}),
    }) as unknown as Cell;

  it('a missing check is "device reach not checked" with the recorded reason, not a failure', () => {
    const c = cell(undefined, 'the instance has no cgroup');
    expect(deviceCheckFailure(c)).toBeUndefined();
    expect(deviceCheckMissing(c)).toBe('device reach not checked: the instance has no cgroup');
  });

  it('reads that stayed in the page cache are still flagged', () => {
    expect(deviceCheckFailure(cell([0.02, 0.01, 0.03]))).toMatch(/^reads did not reach the device: 0\.02/);
    expect(deviceCheckMissing(cell([0.02]))).toBeUndefined();
    expect(deviceCheckFailure(cell([1.05, 1.1, 1.02]))).toBeUndefined();
  });

  it('checkPlausibility: an unchecked cell gets a note and a warning, its overheads are not flagged', () => {
    const native = { ...cell([1.02]), backend: 'native' } as Cell;
    const out = checkPlausibility(
      [native, cell(undefined, 'no source')],
      [
        { label: 'native', kind: 'native', variant: 'native' },
        { label: 'container:runc', kind: 'container', variant: 'runc' },
      ] as never,
      [
        {
          backend: 'container:runc',
          workload: 'disk',
          metric: 'randread-iops',
          verdict: 'inconclusive',
          overheadPct: 1,
          overheadPctCi95: [-2, 4],
        },
      ] as never,
    );
    expect(out.overheads[0]?.implausible).toBeUndefined();
    expect(out.cells[1]?.metrics[0]?.notes).toEqual(['device reach not checked: no source']);
    expect(out.warnings.map((w) => w.code)).toContain('DEVICE_REACH_NOT_CHECKED');
  });
});
