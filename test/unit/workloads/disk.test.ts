import { describe, expect, it } from 'vitest';
import {
  DEVICE_CHECK_METRIC,
  deviceReadDelta,
  diskParams,
  diskWorkload,
  type DiskParams,
} from '../../../src/workloads/disk.js';
import type { CgroupHandle, IoCounters } from '../../../src/host/cgroup.js';
import { parseFioJson } from '../../../src/workloads/parsers/fio.js';
import { ParseError } from '../../../src/workloads/types.js';
import {
  FakeInstance,
  argvMatch,
  fixtureText,
  fromFixture,
  makeFakeContext,
  rule,
} from '../../helpers/fake-instance.js';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';

/** The workload's tool calls, without the environment check every repetition starts with. */
const work = (calls: string[][]): string[][] => calls.filter((c) => c[3] !== ENV_SCRIPT);

const defaults = diskParams.parse({});

function diskInstance(runFixture = 'fio/four-jobs-psync.json'): FakeInstance {
  return new FakeInstance({
    scratchDir: '/scratch/',
    cpuSeconds: [10, 12.5],
    rules: [
      rule('layout', argvMatch(['fio', '--name=layout']), { stdout: 'layout: Laying out IO file (1 file / 128MiB)\n' }),
      rule('run', argvMatch(['fio'], ['--output-format=json']), fromFixture(runFixture)),
      rule('rm', argvMatch(['rm', '-f']), {}),
    ],
  });
}

describe('disk params', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({ sizeMiB: 128, runtimeSeconds: 2, ioengine: 'psync', iodepth: 1 });
  });
  it('rejects unknown keys and bad types', () => {
    expect(diskParams.safeParse({ size: 128 }).success).toBe(false);
    expect(diskParams.safeParse({ ioengine: 'spdk' }).success).toBe(false);
    expect(diskParams.safeParse({ runtimeSeconds: '2' }).success).toBe(false);
  });
});

describe('disk run', () => {
  it('lays out the file, runs four O_DIRECT jobs, maps IOPS/latency/MB/s and CPU per GB, removes the file', async () => {
    const inst = diskInstance();
    const f = makeFakeContext<DiskParams>({ params: defaults, instance: inst });
    const values = await diskWorkload.run(f.ctx);
    expect(work(inst.calls)[0]).toEqual([
      'fio',
      '--name=layout',
      '--filename=/scratch/isobench-fio.dat',
      '--size=128M',
      '--rw=read',
      '--bs=1M',
      '--create_only=1',
    ]);
    expect(work(inst.calls)[1]).toEqual([
      'fio',
      '--filename=/scratch/isobench-fio.dat',
      '--size=128M',
      '--direct=1',
      '--ioengine=psync',
      '--iodepth=1',
      '--time_based',
      '--runtime=2',
      '--output-format=json',
      '--name=randread',
      '--rw=randread',
      '--bs=4k',
      '--name=randwrite',
      '--stonewall',
      '--rw=randwrite',
      '--bs=4k',
      '--name=seqread',
      '--stonewall',
      '--rw=read',
      '--bs=1M',
      '--name=seqwrite',
      '--stonewall',
      '--rw=write',
      '--bs=1M',
    ]);
    expect(work(inst.calls)[2]).toEqual(['rm', '-f', '/scratch/isobench-fio.dat']);
    const byName = Object.fromEntries(values.map((v) => [v.metric, v.value]));
    expect(byName).toMatchObject({
      'randread-iops': 6908.091908,
      'randread-clat-p50-us': 123.392,
      'randread-clat-p99-us': 464.896,
      'randwrite-iops': 6797.202797,
      'randwrite-clat-p50-us': 122.368,
      'randwrite-clat-p99-us': 407.552,
      'seqread-mbps': 2064.678617,
      'seqwrite-mbps': 1645.233445,
    });
    const bytes = parseFioJson(fixtureText('fio/four-jobs-psync.json')).jobs.reduce(
      (s, j) => s + j.read.ioBytes + j.write.ioBytes,
      0,
    );
    expect(bytes).toBe(28323840 + 27869184 + 2066743296 + 1656750080);
    expect(byName['host-cpu-s-per-gb']).toBeCloseTo(2.5 / (bytes / 1e9), 12);
    // No cgroup on the fake instance: the device check is missing, not 0.
    expect(Object.keys(byName).sort()).toEqual(
      diskWorkload.metrics
        .map((m) => m.name)
        .filter((n) => n !== DEVICE_CHECK_METRIC)
        .sort(),
    );
    expect(f.progress.join('\n')).toMatch(/device reach not checked \(the instance has no cgroup/);
  });

  it('reports device bytes per fio byte read from the cgroup counters, skipping loop devices', async () => {
    const inst = diskInstance();
    const io = (vda: number, loop: number): Map<string, IoCounters> =>
      new Map([
        ['254:0', { readIos: vda / 4096, writeIos: 0, readBytes: vda, writeBytes: 0 }],
        ['7:3', { readIos: loop / 4096, writeIos: 0, readBytes: loop, writeBytes: 0 }],
      ]);
    const fioBytes = parseFioJson(fixtureText('fio/four-jobs-psync.json')).jobs.reduce((s, j) => s + j.read.ioBytes, 0);
    // The device read half of what fio read (a cache served the rest); the loop device saw all of it.
    const snaps = [io(1 << 20, 1 << 20), io((1 << 20) + fioBytes / 2, (1 << 20) + fioBytes)];
    const cg = {
      layout: { version: 2 },
      dir: () => '/x',
      ioStats: async () => snaps.shift(),
    } as unknown as CgroupHandle;
    Object.defineProperty(inst, 'cgroup', { value: cg });
    const f = makeFakeContext<DiskParams>({ params: defaults, instance: inst });
    const values = await diskWorkload.run(f.ctx);
    const check = values.find((v) => v.metric === DEVICE_CHECK_METRIC);
    expect(check?.value).toBeCloseTo(0.5, 12);
    expect(f.raw.get(check?.rawLog ?? '')).toContain(
      `busiest device 254:0: ${fioBytes / 2 / 4096} read requests, ${fioBytes / 2} bytes`,
    );
  });

  it('a loop device alone is not the device; counters that do not move give 0 bytes, not a missing value', () => {
    const m = (b: number, dev = '254:0'): Map<string, IoCounters> =>
      new Map([[dev, { readIos: b / 4096, writeIos: 0, readBytes: b, writeBytes: 0 }]]);
    expect(deviceReadDelta(m(4096, '7:0'), m(8192, '7:0'))).toBeUndefined();
    expect(deviceReadDelta(m(4096), m(4096))).toEqual({ device: '254:0', reads: 0, bytes: 0 });
    expect(deviceReadDelta(new Map(), m(8192))).toEqual({ device: '254:0', reads: 2, bytes: 8192 });
  });

  it('leaves host-cpu-s-per-gb out when the CPU counter does not move (missing, never 0)', async () => {
    const inst = new FakeInstance({
      scratchDir: '/scratch',
      cpuSeconds: [0, 0],
      rules: [
        rule('layout', argvMatch(['fio', '--name=layout']), {}),
        rule('run', argvMatch(['fio'], ['--output-format=json']), fromFixture('fio/four-jobs-psync.json')),
        rule('rm', argvMatch(['rm', '-f']), {}),
      ],
    });
    const f = makeFakeContext<DiskParams>({ params: defaults, instance: inst });
    const values = await diskWorkload.run(f.ctx);
    expect(values.map((v) => v.metric)).not.toContain('host-cpu-s-per-gb');
  });

  it('removes the file and names fio and the raw log when the JSON is truncated', async () => {
    const inst = diskInstance('fio/four-jobs-psync.truncated.json');
    const f = makeFakeContext<DiskParams>({ params: defaults, instance: inst });
    const err = await diskWorkload.run(f.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as Error).message).toMatch(
      /^fio: JSON output is truncated or garbled.*\[raw log: raw\/\d+-disk-fio\.log\]$/,
    );
    expect(work(inst.calls).at(-1)).toEqual(['rm', '-f', '/scratch/isobench-fio.dat']);
  });

  it('refuses a file that does not fit in the scratch disk', async () => {
    const f = makeFakeContext<DiskParams>({
      params: { ...defaults, sizeMiB: 1000 },
      instance: diskInstance(),
      spec: { disk: { sizeMiB: 1024, mode: 'dir' } },
    });
    await expect(diskWorkload.run(f.ctx)).rejects.toThrow(/does not fit in the 1024 MiB scratch disk/);
  });
});
