import { describe, expect, it } from 'vitest';
import { stageMetricName, startupParams, startupWorkload, type StartupParams } from '../../../src/workloads/startup.js';
import { FakeInstance, fakeStarted, makeFakeContext } from '../../helpers/fake-instance.js';
import { STARTUP_DEFINITION } from '../../../src/backends/types.js';

describe('startup params', () => {
  it('applies defaults and rejects unknown keys and bad types', () => {
    expect(startupParams.parse({})).toEqual({ starts: 3 });
    expect(startupParams.safeParse({ start: 3 }).success).toBe(false);
    expect(startupParams.safeParse({ starts: 0 }).success).toBe(false);
    expect(startupParams.safeParse({ starts: '3' }).success).toBe(false);
  });
});

describe('startup run', () => {
  it('starts N fresh instances one after another, records the start-up figure, its stages and the backend marks, stops each right away', async () => {
    const started: FakeInstance[] = [];
    let live = 0;
    let maxLive = 0;
    const f = makeFakeContext<StartupParams>({
      params: { starts: 3 },
      instance: new FakeInstance(),
      startInstance: async () => {
        const n = started.length + 1;
        // launched at 10+n ms, payload signalled 40 ms later, network attached in 5 ms (n=2 has no network)
        const timing = {
          launchedMs: 10 + n,
          payloadReadyMs: 50 + n,
          ...(n === 2 ? {} : { networkAttachMs: 5 }),
          signal: 'fake marker',
        };
        const inst = new FakeInstance({ name: `fresh-${n}`, stages: { cgroupReady: 2 * n }, timing });
        const stop = inst.stop.bind(inst);
        inst.stop = async () => {
          live--;
          await stop();
        };
        live++;
        maxLive = Math.max(maxLive, live);
        started.push(inst);
        return fakeStarted(inst, 100 + n);
      },
    });
    const extras: Array<[string, unknown]> = [];
    f.ctx.recordExtra = (name, data) => extras.push([name, data]);
    const values = await startupWorkload.run(f.ctx);
    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['startup-ms', 40],
      ['stage-prepare-ms', 11],
      ['stage-network-attach-ms', 5],
      ['stage-payload-to-first-exec-ms', 50],
      ['ready-ms', 101],
      ['stage-cgroup-ready-ms', 2],
      ['startup-ms', 40],
      ['stage-prepare-ms', 12],
      ['stage-payload-to-first-exec-ms', 50],
      ['ready-ms', 102],
      ['stage-cgroup-ready-ms', 4],
      ['startup-ms', 40],
      ['stage-prepare-ms', 13],
      ['stage-network-attach-ms', 5],
      ['stage-payload-to-first-exec-ms', 50],
      ['ready-ms', 103],
      ['stage-cgroup-ready-ms', 6],
    ]);
    expect(started.map((i) => i.stopCalls)).toEqual([1, 1, 1]);
    expect(maxLive).toBe(1);
    expect(JSON.parse(f.raw.get(values[0]!.rawLog!)!)).toMatchObject({
      start: 1,
      instance: 'fresh-1',
      readyMs: 101,
      startup: { startupMs: 40, definition: STARTUP_DEFINITION },
    });
    const declared = new Set(startupWorkload.metrics.map((m) => m.name));
    for (const v of values) expect(declared.has(v.metric)).toBe(true);
    // The definition and how the payload signalled go into results.json (cell.extra.startup).
    expect(extras).toHaveLength(1);
    expect(extras[0]![0]).toBe('startup');
    expect(extras[0]![1]).toMatchObject({
      definition: STARTUP_DEFINITION,
      signal: 'fake marker',
      starts: [{ start: 1, startupMs: 40 }, { start: 2 }, { start: 3 }],
    });
  });

  it('names stages in kebab case', () => {
    expect(stageMetricName('qemuStarted')).toBe('stage-qemu-started-ms');
    expect(stageMetricName('guest kernel')).toBe('stage-guest-kernel-ms');
    expect(stageMetricName('agentReady')).toBe('stage-agent-ready-ms');
  });
});
