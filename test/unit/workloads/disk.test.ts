import { describe, expect, it } from 'vitest';
import { diskParams, diskWorkload, type DiskParams } from '../../../src/workloads/disk.js';
import { parseFioJson } from '../../../src/workloads/parsers/fio.js';
import { ParseError } from '../../../src/workloads/types.js';
import { FakeInstance, argvMatch, fixtureText, fromFixture, makeFakeContext, rule } from '../../helpers/fake-instance.js';

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
    expect(inst.calls[0]).toEqual(['fio', '--name=layout', '--filename=/scratch/isobench-fio.dat', '--size=128M', '--rw=read', '--bs=1M', '--create_only=1']);
    expect(inst.calls[1]).toEqual([
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
    expect(inst.calls[2]).toEqual(['rm', '-f', '/scratch/isobench-fio.dat']);
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
    const bytes = parseFioJson(fixtureText('fio/four-jobs-psync.json')).jobs.reduce((s, j) => s + j.read.ioBytes + j.write.ioBytes, 0);
    expect(bytes).toBe(28323840 + 27869184 + 2066743296 + 1656750080);
    expect(byName['host-cpu-s-per-gb']).toBeCloseTo(2.5 / (bytes / 1e9), 12);
    expect(Object.keys(byName).sort()).toEqual(diskWorkload.metrics.map((m) => m.name).sort());
  });

  it('removes the file and names fio and the raw log when the JSON is truncated', async () => {
    const inst = diskInstance('fio/four-jobs-psync.truncated.json');
    const f = makeFakeContext<DiskParams>({ params: defaults, instance: inst });
    const err = await diskWorkload.run(f.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as Error).message).toMatch(/^fio: JSON output is truncated or garbled.*\[raw log: raw\/\d+-disk-fio\.log\]$/);
    expect(inst.calls.at(-1)).toEqual(['rm', '-f', '/scratch/isobench-fio.dat']);
  });

  it('refuses a file that does not fit in the scratch disk', async () => {
    const f = makeFakeContext<DiskParams>({ params: { ...defaults, sizeMiB: 1000 }, instance: diskInstance(), spec: { disk: { sizeMiB: 1024, mode: 'dir' } } });
    await expect(diskWorkload.run(f.ctx)).rejects.toThrow(/does not fit in the 1024 MiB scratch disk/);
  });
});
