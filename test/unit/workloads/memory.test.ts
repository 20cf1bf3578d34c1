import { describe, expect, it } from 'vitest';
import { memoryParams, memoryWorkload, nsPerAccess, type MemoryParams } from '../../../src/workloads/memory.js';
import { FakeInstance, argvMatch, fromFixture, makeFakeContext, rule } from '../../helpers/fake-instance.js';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';

/** The workload's tool calls, without the environment check every repetition starts with. */
const work = (calls: string[][]): string[][] => calls.filter((c) => c[3] !== ENV_SCRIPT);

const defaults = memoryParams.parse({});

function memInstance(): FakeInstance {
  return new FakeInstance({
    rules: [
      rule(
        'seq read',
        argvMatch(['sysbench', 'memory'], ['--memory-oper=read', '--memory-access-mode=seq']),
        fromFixture('sysbench/memory-seq-read.txt'),
      ),
      rule(
        'seq write',
        argvMatch(['sysbench', 'memory'], ['--memory-oper=write', '--memory-access-mode=seq']),
        fromFixture('sysbench/memory-seq-write.txt'),
      ),
      rule(
        'rnd read',
        argvMatch(['sysbench', 'memory'], ['--memory-oper=read', '--memory-access-mode=rnd']),
        fromFixture('sysbench/memory-rnd-read.txt'),
      ),
    ],
  });
}

describe('memory params', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({ seconds: 3, bandwidthBlockMiB: 64, latencyWorkingSetMiB: 64 });
  });
  it('rejects unknown keys and bad types', () => {
    expect(memoryParams.safeParse({ blockMiB: 64 }).success).toBe(false);
    expect(memoryParams.safeParse({ latencyWorkingSetMiB: 'big' }).success).toBe(false);
    expect(memoryParams.safeParse({ seconds: 0 }).success).toBe(false);
  });
});

describe('memory run', () => {
  it('measures sequential read/write MiB/s and converts random-access MiB/s to ns per access', async () => {
    const inst = memInstance();
    const f = makeFakeContext<MemoryParams>({ params: defaults, instance: inst });
    const values = await memoryWorkload.run(f.ctx);
    expect(work(inst.calls)[0]).toEqual([
      'sysbench',
      'memory',
      '--threads=1',
      '--time=3',
      '--memory-block-size=64M',
      '--memory-total-size=0',
      '--memory-scope=global',
      '--memory-oper=read',
      '--memory-access-mode=seq',
      'run',
    ]);
    expect(work(inst.calls)).toHaveLength(3);
    expect(values.map((v) => v.metric)).toEqual(['seq-read-mibps', 'seq-write-mibps', 'rnd-access-mops']);
    expect(values[0]!.value).toBe(23536.8);
    expect(values[1]!.value).toBe(23055.78);
    // 470 MiB/s of 8-byte random loads = 61.6 M accesses/s = 16.2 ns each; the rate is what is recorded.
    expect(values[2]!.value).toBeCloseTo((470 * 1048576) / 8 / 1e6, 9);
    expect(values[2]!.value).toBeCloseTo(61.6, 1);
    expect(nsPerAccess(470)).toBeCloseTo(16.23, 2);
  });

  it('uses the working-set size for the random-access run', async () => {
    const inst = memInstance();
    const f = makeFakeContext<MemoryParams>({ params: { ...defaults, latencyWorkingSetMiB: 128 }, instance: inst });
    await memoryWorkload.run(f.ctx);
    expect(work(inst.calls)[2]).toContain('--memory-block-size=128M');
    expect(work(inst.calls)[0]).toContain('--memory-block-size=64M');
  });

  it('refuses a working set that does not fit in the instance memory', async () => {
    const f = makeFakeContext<MemoryParams>({
      params: { ...defaults, latencyWorkingSetMiB: 256 },
      instance: memInstance(),
      spec: { memoryMiB: 256 },
    });
    await expect(memoryWorkload.run(f.ctx)).rejects.toThrow(/needs about 320 MiB .* instance has 256 MiB/);
  });

  it('nsPerAccess never yields a finite number from zero throughput', () => {
    expect(nsPerAccess(0)).toBe(Infinity);
  });
});
