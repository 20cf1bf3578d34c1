import { describe, expect, it } from 'vitest';
import { stageMetricName, startupParams, startupWorkload, type StartupParams } from '../../../src/workloads/startup.js';
import { FakeInstance, makeFakeContext } from '../../helpers/fake-instance.js';

describe('startup params', () => {
  it('applies defaults and rejects unknown keys and bad types', () => {
    expect(startupParams.parse({})).toEqual({ starts: 3 });
    expect(startupParams.safeParse({ start: 3 }).success).toBe(false);
    expect(startupParams.safeParse({ starts: 0 }).success).toBe(false);
    expect(startupParams.safeParse({ starts: '3' }).success).toBe(false);
  });
});

describe('startup run', () => {
  it('starts N fresh instances one after another, records ready and stages, stops each right away', async () => {
    const started: FakeInstance[] = [];
    let live = 0;
    let maxLive = 0;
    const f = makeFakeContext<StartupParams>({
      params: { starts: 3 },
      instance: new FakeInstance(),
      startInstance: async () => {
        const n = started.length + 1;
        const inst = new FakeInstance({ name: `fresh-${n}`, stages: { cgroupReady: 2 * n, runtimeStarted: 30 + n } });
        const stop = inst.stop.bind(inst);
        inst.stop = async () => {
          live--;
          await stop();
        };
        live++;
        maxLive = Math.max(maxLive, live);
        started.push(inst);
        return { instance: inst, readyMs: 100 + n };
      },
    });
    const values = await startupWorkload.run(f.ctx);
    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['ready-ms', 101],
      ['stage-cgroup-ready-ms', 2],
      ['stage-runtime-started-ms', 31],
      ['ready-ms', 102],
      ['stage-cgroup-ready-ms', 4],
      ['stage-runtime-started-ms', 32],
      ['ready-ms', 103],
      ['stage-cgroup-ready-ms', 6],
      ['stage-runtime-started-ms', 33],
    ]);
    expect(started.map((i) => i.stopCalls)).toEqual([1, 1, 1]);
    expect(maxLive).toBe(1);
    expect(JSON.parse(f.raw.get(values[0]!.rawLog!)!)).toMatchObject({ start: 1, instance: 'fresh-1', readyMs: 101 });
    const declared = new Set(startupWorkload.metrics.map((m) => m.name));
    for (const v of values) expect(declared.has(v.metric)).toBe(true);
  });

  it('names stages in kebab case', () => {
    expect(stageMetricName('qemuStarted')).toBe('stage-qemu-started-ms');
    expect(stageMetricName('guest kernel')).toBe('stage-guest-kernel-ms');
    expect(stageMetricName('agentReady')).toBe('stage-agent-ready-ms');
  });
});
