/**
 * The isolation workloads on a QEMU VM (TCG here) beside runc containers, checked
 * from the data: a VM's marginal host memory per idle instance is far above a
 * container's; weights on the QEMU process's cgroup give the 80:20 CPU split and
 * a quota the 50% cap; the memory gradient of a VM ends in a recorded guest event
 * (OOM kill or the guest refusing the allocation), bounded in time. Nothing of
 * this test is left afterwards (QEMU, cgroups, taps, netns).
 */
import { existsSync, readdirSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerBackend } from '../../src/backends/container.js';
import type { Backend, Instance, InstanceSpec } from '../../src/backends/types.js';
import { VmBackend } from '../../src/backends/vm.js';
import { listNetns } from '../../src/net/bench.js';
import { startInstance } from '../../src/runner/lifecycle.js';
import { run } from '../../src/util/proc.js';
import { densityParams, densityWorkload } from '../../src/workloads/density.js';
import { memoryGradientParams, memoryGradientWorkload } from '../../src/workloads/memory-gradient.js';
import { noisyNeighborParams, noisyNeighborWorkload } from '../../src/workloads/noisy-neighbor.js';
import { partitionParams, partitionWorkload } from '../../src/workloads/partition.js';
import { planPartition } from '../../src/workloads/partition-params.js';
import type { Workload } from '../../src/workloads/types.js';
import { makeTestContext, type TestContext } from '../helpers/context.js';
import { makeWorkloadContext } from '../helpers/workload-context.js';

function cgroupsOf(prefix: string): string[] {
  const out: string[] = [];
  for (const ctl of ['cpu', 'memory', 'cpuset', 'blkio']) {
    const dir = `/sys/fs/cgroup/${ctl}/isobench`;
    if (existsSync(dir))
      for (const d of readdirSync(dir, { withFileTypes: true }))
        if (d.isDirectory() && d.name.startsWith(prefix)) out.push(`${ctl}/${d.name}`);
  }
  return out;
}

describe('isolation workloads: VM vs container', () => {
  let t: TestContext;
  let vm: Backend;
  let ct: Backend;
  const mains: Instance[] = [];
  const specs = new Map<Backend, InstanceSpec>();

  beforeAll(async () => {
    t = await makeTestContext({ network: true });
    vm = new VmBackend(t.ctx, { machine: 'q35', accel: 'auto', bootTimeoutMs: 90_000 });
    ct = new ContainerBackend(t.ctx, { runtime: 'runc' });
    await vm.prepare();
    await ct.prepare();
    for (const [b, tag] of [
      [vm, 'v'],
      [ct, 'c'],
    ] as const) {
      const spec: InstanceSpec = {
        name: `${t.ctx.shortId}-${tag}`,
        vcpus: 1,
        cpus: [1],
        memoryMiB: 256,
        pidsLimit: 256,
        disk: { sizeMiB: 64, mode: 'dir' },
        network: false,
      };
      specs.set(b, spec);
      mains.push((await startInstance(b, spec, 90_000)).instance);
    }
  }, 240_000);

  afterAll(async () => {
    for (const m of mains) await m.stop().catch(() => undefined);
    await t?.dispose();
    expect(cgroupsOf(t.ctx.shortId)).toEqual([]);
    expect((await listNetns()).filter((n) => n.includes(t.ctx.shortId))).toEqual([]);
    expect(existsSync(`/run/isobench/${t.ctx.shortId}`)).toBe(false);
    const q = await run(['pgrep', '-f', `qemu-system.*${t.ctx.shortId}`]);
    expect(q.stdout.trim()).toBe('');
  });

  async function runOn<P>(b: Backend, w: Workload<P>, params: P) {
    const main = mains[b === vm ? 0 : 1] as Instance;
    const l = makeWorkloadContext({
      backend: b,
      bctx: t.ctx,
      params,
      instance: main,
      spec: specs.get(b) as InstanceSpec,
      timeoutMs: 120_000,
    });
    try {
      const values = Object.fromEntries((await w.run(l.ctx)).map((v) => [v.metric, v.value]));
      return { values, extras: l.extras, records: l.records };
    } finally {
      await l.stopExtras();
      for (const i of l.started) expect(cgroupsOf(i.name), i.name).toEqual([]);
    }
  }

  it('density: VMs fill a memory budget that containers do not (instances per budget differs), slope with a CI', async () => {
    // 4 levels minimum; a 500 MiB budget is crossed by the 3rd 256 MiB VM (~215 MiB PSS each) at the latest by the 4th.
    const p = densityParams.parse({ maxInstances: 4, settleSeconds: 1, instanceMemoryMiB: 256, memoryBudgetMiB: 500 });
    const v = await runOn(vm, densityWorkload, p);
    const c = await runOn(ct, densityWorkload, p);
    const vd = v.extras.get('density') as { stopped: { reason: string }; fit: { pss: { ci95: number[] } } };
    const cd = c.extras.get('density') as { stopped: { reason: string } };
    console.log(
      `density marginal PSS: VM ${v.values['marginal-pss-mib']?.toFixed(1)} ± ${v.values['marginal-pss-ci95-mib']?.toFixed(1)} MiB (${vd.stopped.reason}, in budget ${v.values['instances-in-budget']}), container ${c.values['marginal-pss-mib']?.toFixed(2)} MiB (${cd.stopped.reason}, projected ${c.values['instances-per-budget-projected']})`,
    );
    expect(vd.stopped.reason).toBe('budget');
    expect(v.values['instances-in-budget']).toBeGreaterThanOrEqual(1);
    expect(v.values['instances-in-budget']).toBeLessThanOrEqual(3);
    expect(cd.stopped.reason).toBe('cap');
    expect(c.values['instances-in-budget']).toBeUndefined();
    expect(c.values['instances-per-budget-projected']).toBeGreaterThan(
      10 * (v.values['instances-in-budget'] ?? Infinity),
    );
    expect(v.values['marginal-pss-mib']).toBeGreaterThan(10 * (c.values['marginal-pss-mib'] ?? Infinity));
  }, 300_000);

  it('partition cpu on VMs: weights on the QEMU cgroups give 80:20 within 5 pp, the quota holds 50% within 5 pp', async () => {
    const r = await runOn(
      vm,
      partitionWorkload,
      partitionParams.parse({ resources: ['cpu'], cpu: { seconds: 3, capSeconds: 2 } }),
    );
    console.log(
      `VM cpu share A ${r.values['cpu-share-a-pct']?.toFixed(1)}%, cap ${r.values['cpu-cap-pct']?.toFixed(1)}%`,
    );
    expect(r.values['cpu-share-error-pp']).toBeLessThanOrEqual(5);
    expect(r.values['cpu-cap-error-pp']).toBeLessThanOrEqual(5);
  }, 240_000);

  it("partition disk on VMs: QEMU's direct I/O reaches isobench's own loop device; weights set and read back where the host has them (else the share skipped with its reason); the cap holds", async () => {
    const r = await runOn(
      vm,
      partitionWorkload,
      partitionParams.parse({ resources: ['disk'], disk: { seconds: 3, aloneSeconds: 2, fileMiB: 16, capIops: 100 } }),
    );
    const plan = planPartition(['disk'], t.ctx.host.capabilities);
    const skipped = r.records
      .filter((x) => x.name === 'skippedParts')
      .map((x) => x.data as { part: string; reason: string });
    console.log(
      `VM host path: disk share ${plan.diskShare ? 'measured' : 'skipped'}; skipped: ${skipped.map((x) => `${x.part} (${x.reason})`).join('; ') || 'none'}`,
    );
    expect(skipped.map((x) => x.part)).toEqual(plan.skipped.map((x) => x.part));
    if (plan.diskShare) {
      const ds = r.extras.get('disk-share') as {
        mechanism: string;
        weightsReadBack: number[];
        device: { path: string; scheduler: string; loopDirectIo: boolean };
        workConserving: { alonePct: number; baselineIops: number; verdict: string };
      };
      // Under TCG both guests share one emulated CPU: the split is as much the CPU's as the device's (logged, not asserted).
      console.log(
        `VM disk share A ${r.values['disk-share-a-pct']?.toFixed(1)}% (${r.values['disk-a-iops']?.toFixed(0)}:${r.values['disk-b-iops']?.toFixed(0)} IOPS), A alone ${ds.workConserving.alonePct}% of unweighted (${ds.workConserving.verdict})`,
      );
      expect(ds.mechanism).toMatch(/^bfq weights 1000:250|^io\.cost/);
      expect(ds.device.loopDirectIo).toBe(true);
      expect(r.values['disk-b-iops']).toBeGreaterThan(0);
      expect(ds.workConserving.baselineIops).toBeGreaterThan(0);
    } else {
      expect(r.values['disk-share-a-pct']).toBeUndefined();
      expect(skipped[0]?.reason).toMatch(/^(not on this host|masked for this run): /);
    }
    if (plan.diskCap) {
      console.log(`VM disk cap ${r.values['disk-cap-iops']?.toFixed(0)} IOPS of 100`);
      expect(Math.abs(r.values['disk-cap-error-pct'] ?? 100)).toBeLessThanOrEqual(15);
    }
    const { stdout: loops } = await execa('losetup', ['-a']);
    expect(loops).not.toMatch(/isobench-.*partdisk-/);
  }, 300_000);

  it('noisy neighbour on VMs: a CPU cap on the neighbour QEMU protects the victim VM that an unrestrained one halves', async () => {
    const r = await runOn(
      vm,
      noisyNeighborWorkload,
      noisyNeighborParams.parse({ kinds: ['cpu'], seconds: 2, leadSeconds: 1 }),
    );
    console.log(
      `VM neighbour: ${Object.entries(r.values)
        .map(([k, v]) => `${k}=${v.toFixed(1)}`)
        .join(' ')}`,
    );
    expect(r.values['cpu-kept-pct-unrestrained']).toBeLessThan(80);
    expect(r.values['cpu-kept-pct-cpu-cap']).toBeGreaterThan((r.values['cpu-kept-pct-unrestrained'] ?? 100) + 15);
  }, 300_000);

  it('memory gradient on a VM: usable memory measured inside, each step beside a control, ends in a recorded guest event', async () => {
    const t0 = performance.now();
    const r = await runOn(
      vm,
      memoryGradientWorkload,
      memoryGradientParams.parse({ limitMiB: 256, steps: [25, 75, 125], secondsPerStep: 1, stepTimeoutSeconds: 60 }),
    );
    const g = r.extras.get('memory-gradient') as {
      ending: string;
      usableMiB: number;
      meminfoAvailMiB: number;
      steps: Array<{ pct: number; outcome: string; pctOfUsable: number; control: { outcome: string } }>;
    };
    console.log(
      `VM gradient: usable ${g.usableMiB} MiB of 256; ${g.steps.map((s) => `${s.pct}% (${s.pctOfUsable}% usable):${s.outcome}/control ${s.control.outcome}`).join(' ')}`,
    );
    expect(['oom-killed', 'alloc-failed']).toContain(g.ending);
    // The guest's kernel and agent take part of its RAM: usable is measured below the nominal limit.
    expect(g.usableMiB).toBeLessThan(256);
    expect(g.usableMiB).toBe(g.meminfoAvailMiB);
    expect(g.steps[0]?.pctOfUsable).toBeGreaterThan(25);
    // The control (same working set, no effective limit) completes where the limited run ended.
    expect(g.steps[g.steps.length - 1]?.control.outcome).toBe('ok');
    expect(r.values['throughput-at-25pct']).toBeGreaterThan(0);
    expect(r.values['ratio-at-25pct']).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(200_000);
  }, 240_000);
});
