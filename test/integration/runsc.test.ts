/**
 * Smoke test of the gVisor runtime (runsc, --platform=ptrace) through the same
 * container backend: it starts, exec works, the netstack answers on the veth,
 * and stop leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerBackend } from '../../src/backends/container.js';
import type { Instance, InstanceSpec } from '../../src/backends/types.js';
import { CgroupHandle } from '../../src/host/cgroup.js';
import { listNetns } from '../../src/net/bench.js';
import { makeTestContext, type TestContext } from '../helpers/context.js';
import { makeWorkloadContext } from '../helpers/workload-context.js';
import {
  DEVICE_CHECK_MAX,
  DEVICE_CHECK_METRIC,
  DEVICE_CHECK_MIN,
  diskParams,
  diskWorkload,
} from '../../src/workloads/disk.js';
import { networkParams, networkWorkload, type MetricFailure } from '../../src/workloads/network.js';
// Plausibility reads each provider's declared caveats (runsc's O_DIRECT note): the registry must be loaded.
import '../../src/backends/providers/index.js';
import { checkPlausibility } from '../../src/stats/plausibility.js';
import { summarize } from '../../src/stats/index.js';
import type { BackendResult, Cell } from '../../src/results/types.js';

describe('container backend (runsc smoke)', () => {
  let t: TestContext;
  let backend: ContainerBackend;
  const started: Instance[] = [];

  beforeAll(async () => {
    t = await makeTestContext({ network: true });
    backend = new ContainerBackend(t.ctx, { runtime: 'runsc', runscPlatform: 'ptrace' });
    await backend.prepare();
  });

  afterAll(async () => {
    for (const i of started) await i.stop().catch(() => undefined);
    await t?.dispose();
  });

  it('starts, execs, answers on the network and cleans up', async () => {
    const info = backend.info();
    expect(info).toMatchObject({ variant: 'runsc', accelerator: 'runsc' });
    expect(info.warnings.join(' ')).toMatch(/O_DIRECT/);

    const name = `${t.ctx.shortId}-gv`;
    // pidsLimit as a run gets it (the scenario default): gVisor-ptrace runs a host process per guest task, and iperf3 plus the sentry pass 128.
    const s: InstanceSpec = {
      name,
      vcpus: 1,
      cpus: [1],
      memoryMiB: 256,
      pidsLimit: 1024,
      disk: { sizeMiB: 64, mode: 'dir' },
      network: true,
    };
    const inst = await backend.start(s);
    started.push(inst);

    const r = await inst.exec(['/bin/sh', '-c', 'echo hello from $(uname -s); exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('hello from Linux\n');
    // gVisor's own dmesg says it is the sandbox, not the host kernel.
    expect((await inst.exec(['/bin/dmesg'])).stdout).toMatch(/gVisor/i);

    const ping = await t.ctx.net!.exec(['busybox', 'ping', '-c', '1', '-W', '3', inst.address!], { timeoutMs: 6_000 });
    expect(ping.code).toBe(0);

    const cg = new CgroupHandle(t.ctx.host.cgroup, `isobench/${name}`);
    expect((await cg.readLimits()).memoryBytes).toBe(256 * 2 ** 20);
    const fp = await inst.footprint();
    expect(fp.processes).toBeGreaterThanOrEqual(2); // sandbox + gofer
    expect(fp.hostPssBytes).toBeGreaterThan(0);

    await inst.stop();
    expect(await backend.list()).toEqual([]);
    expect(await cg.exists()).toBe(false);
    expect(
      (await listNetns()).filter((n) => n.startsWith(`isobench-${t.ctx.shortId}-`) && !n.endsWith('-bench')),
    ).toEqual([]);
  });

  it('disk: gVisor drops O_DIRECT, so not every byte fio reads comes from the device: the figures are marked not comparable', async () => {
    const s: InstanceSpec = {
      name: `${t.ctx.shortId}-gd`,
      vcpus: 1,
      cpus: [1],
      memoryMiB: 256,
      pidsLimit: 1024,
      disk: { sizeMiB: 128, mode: 'image' },
      network: false,
    };
    const inst = await backend.start(s);
    started.push(inst);
    const w = makeWorkloadContext({
      backend,
      bctx: t.ctx,
      params: diskParams.parse({ sizeMiB: 32, runtimeSeconds: 1 }),
      instance: inst,
      spec: s,
      timeoutMs: 120_000,
    });
    const values = await diskWorkload.run(w.ctx);
    const check = values.find((v) => v.metric === DEVICE_CHECK_METRIC);
    expect(check, w.progress.join('; ')).toBeDefined();
    // Not the 1 byte per byte of an O_DIRECT path: a cache served reads (below), or readahead read more (above).
    expect(
      check!.value < DEVICE_CHECK_MIN || check!.value > DEVICE_CHECK_MAX,
      `device bytes per fio byte ${check!.value}`,
    ).toBe(true);
    // The results mark every disk figure of this cell and flag its overheads.
    const cell: Cell = {
      backend: 'container:runsc',
      workload: 'disk',
      state: 'complete',
      metrics: values.map((v) => ({
        metric: v.metric,
        unit: '',
        higherIsBetter: true,
        values: [v.value, v.value],
        repetitions: [1, 2],
        rawLogs: [v.rawLog ?? '', v.rawLog ?? ''],
        summary: summarize([v.value, v.value]),
      })),
    };
    const info = { ...backend.info(), label: 'container:runsc' } as BackendResult;
    const out = checkPlausibility([cell], [info], []);
    const iops = out.cells[0]!.metrics.find((m) => m.metric === 'randread-iops')!;
    expect(iops.notes?.join(' ')).toMatch(/gvisor#3626/);
    expect(iops.notes?.join(' ')).toMatch(
      /not comparable: (reads did not reach the device|the device read .* readahead)/,
    );
    await inst.stop();
  }, 240_000);

  it('network: iperf3 and the UDP ping-pong work through the netstack; the TCP ping-pong failure is recorded per metric with its cause', async () => {
    const s: InstanceSpec = {
      name: `${t.ctx.shortId}-gn`,
      vcpus: 1,
      cpus: [1],
      memoryMiB: 256,
      pidsLimit: 1024,
      disk: { sizeMiB: 64, mode: 'dir' },
      network: true,
    };
    const inst = await backend.start(s);
    started.push(inst);
    const w = makeWorkloadContext({
      backend,
      bctx: t.ctx,
      params: networkParams.parse({ seconds: 2, omitSeconds: 0, latencySeconds: 1 }),
      instance: inst,
      spec: s,
      timeoutMs: 60_000,
    });
    const values = await networkWorkload.run(w.ctx);
    const names = values.map((v) => v.metric);
    expect(names).toEqual(
      expect.arrayContaining([
        'tcp-to-instance-gbps',
        'tcp-from-instance-gbps',
        'udp-rr-rtt-p50-us',
        'udp-rr-rtt-p99-us',
      ]),
    );
    for (const v of values) expect(v.value, v.metric).toBeGreaterThan(0);
    const failure = w.extras.get('metricFailures') as MetricFailure | undefined;
    // sockperf's TCP server sendto()s with an unset address: Linux ignores it, gVisor refuses it.
    expect(failure?.metrics).toEqual(['rr-rtt-avg-us', 'rr-rtt-p50-us', 'rr-rtt-p99-us', 'rr-rtt-p999-us']);
    expect(failure?.error).toMatch(/errno=97/);
    expect(names).not.toContain('rr-rtt-p50-us');
    await inst.stop();
  }, 240_000);
});
