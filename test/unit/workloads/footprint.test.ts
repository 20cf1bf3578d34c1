import { describe, expect, it } from 'vitest';
import { footprintParams, footprintWorkload, type FootprintParams } from '../../../src/workloads/footprint.js';
import type { Footprint } from '../../../src/backends/types.js';
import { FakeInstance, fakeStarted, makeFakeContext } from '../../helpers/fake-instance.js';

const MiB = 1024 * 1024;

function ctxWith(fp: Footprint, fresh: FakeInstance[]) {
  return makeFakeContext<FootprintParams>({
    params: { settleSeconds: 0 },
    instance: new FakeInstance(),
    startInstance: async () => {
      const inst = new FakeInstance({ name: 'fresh', footprint: fp });
      fresh.push(inst);
      return fakeStarted(inst, 10);
    },
  });
}

describe('footprint params', () => {
  it('applies defaults and rejects unknown keys and bad types', () => {
    expect(footprintParams.parse({})).toEqual({ settleSeconds: 2 });
    expect(footprintParams.safeParse({ settle: 2 }).success).toBe(false);
    expect(footprintParams.safeParse({ settleSeconds: -1 }).success).toBe(false);
    expect(footprintParams.safeParse({ settleSeconds: 'x' }).success).toBe(false);
  });
});

describe('footprint run', () => {
  it('records PSS, RSS and cgroup memory of a fresh idle instance in MiB and stops it', async () => {
    const fresh: FakeInstance[] = [];
    const f = ctxWith(
      { hostRssBytes: 220 * MiB, hostPssBytes: 150.5 * MiB, cgroupMemoryBytes: 300 * MiB, processes: 3 },
      fresh,
    );
    const values = await footprintWorkload.run(f.ctx);
    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['pss-mib', 150.5],
      ['rss-mib', 220],
      ['cgroup-mib', 300],
    ]);
    expect(fresh[0]!.stopCalls).toBe(1);
    expect(JSON.parse(f.raw.get(values[0]!.rawLog!)!)).toMatchObject({ footprint: { processes: 3 } });
  });

  it('omits figures the backend cannot give', async () => {
    const fresh: FakeInstance[] = [];
    const values = await footprintWorkload.run(ctxWith({ hostRssBytes: 8 * MiB, processes: 1 }, fresh).ctx);
    expect(values.map((v) => v.metric)).toEqual(['rss-mib']);
    expect(fresh[0]!.stopCalls).toBe(1);
  });
});
