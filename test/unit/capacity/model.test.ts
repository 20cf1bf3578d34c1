/**
 * The capacity model on hand-worked examples. Fixture figures: see test/helpers/capacity-fixture.ts.
 *
 * Default reserve: 1 core + 4 % memory.
 *   host 64 cores / 256 GiB → usable 63 cores, 256 × 1024 × 0.96 = 251658.24 MiB
 *   host 32 cores /  64 GiB → usable 31 cores,  64 × 1024 × 0.96 =  62914.56 MiB
 * Cost factors k = 1/ratio (cpu/sysbench-events-nt):
 *   container 1/0.99 = 1.010101 (best 1 since CI hi 1.01 > 1, worst 1/0.97 = 1.030928)
 *   vm (kvm)  1/0.95 = 1.052632 (best 1/0.98 = 1.020408, worst 1/0.92 = 1.086957)
 * Footprints F = PSS_b − PSS_native:
 *   container 10 − 2 = 8   (best 9 − 2.2 = 6.8,   worst 11 − 1.8 = 9.2)
 *   vm        202 − 2 = 200 (best 190 − 2.2 = 187.8, worst 214 − 1.8 = 212.2)
 */
import { describe, expect, it } from 'vitest';
import { planCapacity } from '../../../src/capacity/index.js';
import type { BackendPlan, CapacityPlan } from '../../../src/capacity/model.js';
import type { HostSpec } from '../../../src/capacity/spec.js';
import { IsobenchError } from '../../../src/errors.js';
import { capacityFixture } from '../../helpers/capacity-fixture.js';
import { difference, overhead } from '../../../src/stats/index.js';

const host64: HostSpec = { cores: 64, memoryGiB: 256, diskIops: 100000, netGbps: 25, name: 'test', source: 'test' };
const host32: HostSpec = { cores: 32, memoryGiB: 64, name: 'small', source: 'test' };

function b(plan: CapacityPlan, label: string): BackendPlan {
  const x = plan.backends.find((p) => p.label === label);
  if (!x) throw new Error(`no backend ${label}`);
  return x;
}

describe('capacity model: memory binds (1 vCPU, 4096 MiB on 64c/256G, target 1000)', () => {
  const plan = planCapacity(capacityFixture(), { host: host64, instance: { vcpus: 1, memoryMiB: 4096 }, target: 1000 });

  it('computes usable capacity after the default reserve', () => {
    expect(plan.reserve).toEqual({ cores: 1, memoryPct: 4, memoryMiB: 0 });
    expect(plan.usable.cpu).toBe(63);
    expect(plan.usable.memory).toBeCloseTo(251658.24, 6);
    expect(plan.usable.disk).toBe(100000);
    expect(plan.usable.network).toBe(25000);
  });

  it('native: cpu 63/1 = 63, memory floor(251658.24/4096 = 61.44) = 61 → 61, memory binds; hosts ceil(1000/61) = 17', () => {
    const n = b(plan, 'native');
    expect(n.resources.cpu.fit?.value).toBe(63);
    expect(n.resources.memory.fit?.value).toBe(61);
    expect(n.expected).toEqual({ instancesPerHost: 61, binding: ['memory'], hostsNeeded: 17 });
    expect(n.best.instancesPerHost).toBe(61);
    expect(n.worst.instancesPerHost).toBe(61);
  });

  it('container: cpu floor(63/1.0101 = 62.37) = 62, memory floor(251658.24/4104 = 61.32) = 61 → memory binds', () => {
    const c = b(plan, 'container:runc');
    expect(c.resources.cpu.cost?.value).toBeCloseTo(1.010101, 5);
    expect(c.resources.cpu.fit?.value).toBe(62);
    expect(c.resources.memory.overhead?.value).toBeCloseTo(8, 9);
    expect(c.resources.memory.cost?.value).toBeCloseTo(4104, 9);
    expect(c.resources.memory.fit?.value).toBe(61);
    expect(c.expected).toEqual({ instancesPerHost: 61, binding: ['memory'], hostsNeeded: 17 });
    // best: cpu k = 1 → 63; memory 4102.8 → 61.34 → 61
    expect(c.best.instancesPerHost).toBe(61);
    // worst: cpu 63/1.030928 = 61.11 → 61; memory 4105.2 → 61.30 → 61: a tie, both bind
    expect(c.worst).toEqual({ instancesPerHost: 61, binding: ['cpu', 'memory'], hostsNeeded: 17 });
  });

  it('vm: cpu floor(63×0.95 = 59.85) = 59, memory floor(251658.24/4296 = 58.58) = 58 → memory binds; worst flips to cpu', () => {
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.cpu.fit?.value).toBe(59);
    expect(v.resources.memory.cost?.value).toBeCloseTo(4296, 9);
    expect(v.resources.memory.fit?.value).toBe(58);
    expect(v.expected).toEqual({ instancesPerHost: 58, binding: ['memory'], hostsNeeded: 18 }); // 1000/58 = 17.24
    // best: cpu 63×0.98 = 61.74 → 61; memory 4283.8 → 58.75 → 58
    expect(v.best).toEqual({ instancesPerHost: 58, binding: ['memory'], hostsNeeded: 18 });
    // worst: cpu 63×0.92 = 57.96 → 57; memory 4308.2 → 58.41 → 58 → cpu binds at 57; 1000/57 = 17.54 → 18
    expect(v.worst).toEqual({ instancesPerHost: 57, binding: ['cpu'], hostsNeeded: 18 });
    expect(v.instancesPerHost).toMatchObject({ value: 58, best: 58, worst: 57 });
    expect(v.hostsNeeded).toMatchObject({ value: 18, best: 18, worst: 18 });
  });

  it('density container:VM = 61/58 = 1.0517 (range 61/58 .. 61/57 = 1.0702)', () => {
    expect(plan.densityRatios).toHaveLength(1);
    const d = plan.densityRatios[0]!;
    expect(d.container).toBe('container:runc');
    expect(d.vm).toBe('vm:q35-kvm');
    expect(d.expected).toBeCloseTo(61 / 58, 9);
    expect(d.range[0]).toBeCloseTo(61 / 58, 9);
    expect(d.range[1]).toBeCloseTo(61 / 57, 9);
  });

  it('RuntimeClass podFixed: vm memory ceil(200 + 11.99 Welch half-width) = 212Mi, cpu ceil(1 × (1/0.92 − 1) × 1000 = 86.96) = 87m', () => {
    const vm = plan.runtimeClasses.find((r) => r.backend === 'vm:q35-kvm')!;
    expect(vm.memoryMi).toBe(212);
    expect(vm.memoryExpectedMi).toBe(200);
    expect(vm.cpuMillicores).toBe(87);
    expect(vm.cpuExpectedMillicores).toBe(53); // (1/0.95 − 1) × 1000 = 52.63
    const ct = plan.runtimeClasses.find((r) => r.backend === 'container:runc')!;
    expect(ct.memoryMi).toBe(9); // ceil(8 + Welch half-width 0.97)
    expect(ct.cpuMillicores).toBe(31); // (1/0.97 − 1) × 1000 = 30.93
    expect(ct.handler).toBe('runc');
    expect(plan.runtimeClasses.some((r) => r.backend === 'native')).toBe(false);
  });
});

describe('capacity model: CPU binds (4 vCPU, 2048 MiB on 64c/256G, target 100)', () => {
  const plan = planCapacity(capacityFixture(), { host: host64, instance: { vcpus: 4, memoryMiB: 2048 }, target: 100 });

  it('native: cpu floor(63/4 = 15.75) = 15 vs memory floor(122.88) = 122 → 15, cpu; 7 hosts', () => {
    expect(b(plan, 'native').expected).toEqual({ instancesPerHost: 15, binding: ['cpu'], hostsNeeded: 7 });
    expect(b(plan, 'native').resources.memory.fit?.value).toBe(122);
  });

  it('container: cpu floor(63×0.99/4 = 15.59) = 15 → 15, cpu; 7 hosts', () => {
    expect(b(plan, 'container:runc').expected).toEqual({ instancesPerHost: 15, binding: ['cpu'], hostsNeeded: 7 });
  });

  it('vm: cpu floor(63×0.95/4 = 14.96) = 14 vs memory floor(251658.24/2248 = 111.95) = 111 → 14, cpu; ceil(100/14) = 8 hosts', () => {
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.memory.fit?.value).toBe(111);
    expect(v.expected).toEqual({ instancesPerHost: 14, binding: ['cpu'], hostsNeeded: 8 });
    expect(v.best.instancesPerHost).toBe(15); // 63×0.98/4 = 15.435
    expect(v.worst.instancesPerHost).toBe(14); // 63×0.92/4 = 14.49
  });

  it('the 4-vCPU RuntimeClass cpu figure scales with the vCPUs: ceil(4 × 86.96) = 348m', () => {
    expect(plan.runtimeClasses.find((r) => r.backend === 'vm:q35-kvm')!.cpuMillicores).toBe(348);
  });
});

describe("capacity model: the VM's footprint makes the difference (0.1 vCPU, 128 MiB on 32c/64G)", () => {
  const plan = planCapacity(capacityFixture(), { host: host32, instance: { vcpus: 0.1, memoryMiB: 128 } });

  it('native: cpu 31/0.1 = 310 vs memory floor(62914.56/128 = 491.52) = 491 → 310, cpu', () => {
    expect(b(plan, 'native').expected).toEqual({ instancesPerHost: 310, binding: ['cpu'], hostsNeeded: null });
  });

  it('container: cpu floor(31×0.99/0.1 = 306.9) = 306 vs memory floor(62914.56/136 = 462.6) = 462 → 306, cpu', () => {
    expect(b(plan, 'container:runc').expected.instancesPerHost).toBe(306);
    expect(b(plan, 'container:runc').expected.binding).toEqual(['cpu']);
  });

  it('vm: cpu floor(31×0.95/0.1 = 294.5) = 294, but memory floor(62914.56/328 = 191.81) = 191 → 191, memory', () => {
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.cpu.fit?.value).toBe(294);
    expect(v.resources.memory.fit?.value).toBe(191);
    expect(v.expected.instancesPerHost).toBe(191);
    expect(v.expected.binding).toEqual(['memory']);
    // density container:VM = 306/191 = 1.602
    expect(plan.densityRatios[0]!.expected).toBeCloseTo(306 / 191, 9);
  });

  it('break-even (5 %): extra footprint 200 − 8 = 192 MiB → m ≥ 192/0.05 − 200 = 3640 MiB (ends from the Welch CIs of the footprints)', () => {
    expect(plan.breakEven).toHaveLength(1);
    const be = plan.breakEven[0]!;
    expect(be.vm).toBe('vm:q35-kvm');
    expect(be.reference).toBe('container:runc');
    expect(be.thresholdPct).toBe(5);
    expect(be.extraFootprintMiB.value).toBeCloseTo(192, 9);
    // F's ends are the 95% CI of the difference (src/stats), the estimator the report shows: paired by round
    // (the fixture's values carry their rounds), so a tighter interval than the old Welch 200 ± 12.0.
    const r = capacityFixture();
    const vals = (backend: string) =>
      r.cells
        .find((c) => c.backend === backend && c.workload === 'footprint')!
        .metrics.find((m) => m.metric === 'pss-mib')!;
    const fVm = difference(vals('native'), vals('vm:q35-kvm'), false, Number.POSITIVE_INFINITY)!;
    const fCt = difference(vals('native'), vals('container:runc'), false, Number.POSITIVE_INFINITY)!;
    expect(fVm.design).toBe('paired');
    expect(fVm.diff).toBeCloseTo(200, 9);
    expect(be.extraFootprintMiB.best).toBeCloseTo(fVm.ci95[0] - fCt.ci95[1], 9);
    expect(be.extraFootprintMiB.worst).toBeCloseTo(fVm.ci95[1] - fCt.ci95[0], 9);
    expect(be.memoryMiB.value).toBeCloseTo(3640, 6);
    expect(be.memoryMiB.best).toBeCloseTo((fVm.ci95[0] - fCt.ci95[1]) / 0.05 - fVm.ci95[0], 6);
    expect(be.memoryMiB.worst).toBeCloseTo((fVm.ci95[1] - fCt.ci95[0]) / 0.05 - fVm.ci95[1], 6);
    // at 128 MiB the VM loses 192/(128 + 200) = 58.5 % of memory capacity vs the container
    expect(be.lossAtDemandPct.value).toBeCloseTo((100 * 192) / 328, 6);
  });

  it('the sweep shows the VM catching up as memory per instance grows', () => {
    const at = (m: number, label: string) =>
      plan.sweep.find((r) => r.memoryMiB === m)!.backends.find((x) => x.label === label)!;
    expect(plan.sweep.map((r) => r.memoryMiB)).toEqual([128, 256, 512, 1024, 2048, 4096, 8192, 16384]);
    // 128 MiB: as above
    expect(at(128, 'vm:q35-kvm')).toMatchObject({ expected: 191, binding: ['memory'] });
    // 16 GiB: container floor(62914.56/16392 = 3.838) = 3; vm floor(62914.56/16584 = 3.794) = 3 → equal
    expect(at(16384, 'container:runc')).toMatchObject({ expected: 3, binding: ['memory'] });
    expect(at(16384, 'vm:q35-kvm')).toMatchObject({ expected: 3, binding: ['memory'] });
    // 1 GiB: container floor(62914.56/1032 = 60.96) = 60; vm floor(62914.56/1224 = 51.40) = 51
    expect(at(1024, 'container:runc').expected).toBe(60);
    expect(at(1024, 'vm:q35-kvm').expected).toBe(51);
  });
});

describe('capacity model: disk and network', () => {
  it('disk binds with the most pessimistic iops metric (randwrite 0.80 for the VM)', () => {
    // vcpus 1, 1024 MiB, 2000 IOPS on 100000 IOPS: native 50; vm k = 1/0.80 = 1.25 → 2500 → 40;
    // best 1/0.86 → 100000×0.86/2000 = 43 exactly (floor must not give 42); worst 1/0.75 → 37.5 → 37
    const plan = planCapacity(capacityFixture(), { host: host64, instance: { vcpus: 1, memoryMiB: 1024, iops: 2000 } });
    expect(b(plan, 'native').expected).toMatchObject({ instancesPerHost: 50, binding: ['disk'] });
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.disk.cost?.value).toBeCloseTo(2500, 9);
    expect(v.expected).toMatchObject({ instancesPerHost: 40, binding: ['disk'] });
    expect(v.best.instancesPerHost).toBe(43);
    expect(v.worst.instancesPerHost).toBe(37);
    const src = plan.sources[v.resources.disk.overhead!.sources[0]!]!;
    expect(src).toMatchObject({ kind: 'measured', workload: 'disk', metric: 'randwrite-iops' });
  });

  it('network: 500 Mbit/s each on 25 Gbit/s; vm tcp-mbps-up 0.60 → 500/0.6 = 833.3 → floor(25000/833.33) = 30', () => {
    const plan = planCapacity(capacityFixture(), { host: host64, instance: { vcpus: 1, memoryMiB: 1024, mbps: 500 } });
    expect(b(plan, 'native').expected).toMatchObject({ instancesPerHost: 50, binding: ['network'] });
    expect(b(plan, 'vm:q35-kvm').expected).toMatchObject({ instancesPerHost: 30, binding: ['network'] });
    // container: worst of up (0.95) and down (0.97) → 0.95: 25000×0.95/500 = 47.5 → 47
    expect(b(plan, 'container:runc').expected).toMatchObject({ instancesPerHost: 47, binding: ['network'] });
  });

  it('without a host disk capacity the iops demand does not constrain', () => {
    const plan = planCapacity(capacityFixture(), { host: host32, instance: { vcpus: 1, memoryMiB: 1024, iops: 2000 } });
    expect(b(plan, 'vm:q35-kvm').resources.disk.status).toBe('not-constrained');
    expect(b(plan, 'vm:q35-kvm').resources.disk.fit).toBeNull();
  });
});

describe('capacity model: degrading gracefully and honestly', () => {
  it('a workload absent from the run is "not measured in this run" (k = 1) and says so', () => {
    const plan = planCapacity(capacityFixture({ omitWorkloads: ['disk'] }), {
      host: host64,
      instance: { vcpus: 1, memoryMiB: 1024, iops: 2000 },
    });
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.disk.status).toBe('not-measured');
    expect(v.resources.disk.cost?.value).toBe(2000);
    expect(v.notes.join('\n')).toMatch(/disk: not measured in this run/);
  });

  it('falls back to sysbench-events-1t when -nt is missing, and says so', () => {
    const plan = planCapacity(capacityFixture({ omitMetrics: ['cpu/sysbench-events-nt'] }), {
      host: host64,
      instance: { vcpus: 1, memoryMiB: 1024 },
    });
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.cpu.overhead?.value).toBeCloseTo(2, 9); // 1/0.5
    expect(v.notes.join('\n')).toMatch(/sysbench-events-1t/);
  });

  it('falls back to rss-mib when PSS is missing, with a warning that it overstates', () => {
    const plan = planCapacity(capacityFixture({ omitMetrics: ['footprint/pss-mib'] }), {
      host: host64,
      instance: { vcpus: 1, memoryMiB: 1024 },
    });
    const v = b(plan, 'vm:q35-kvm');
    expect(v.resources.memory.overhead?.value).toBeCloseTo(225, 9); // 230 − 5
    expect(v.notes.join('\n')).toMatch(/overstates/);
  });

  it('derives the ratio from cell summaries when results.overheads is empty', () => {
    const plan = planCapacity(capacityFixture({ withOverheads: false }), {
      host: host64,
      instance: { vcpus: 4, memoryMiB: 2048 },
    });
    const v = b(plan, 'vm:q35-kvm');
    // ratio 950/1000 = 0.95 → same expected figures as with overheads (paired: the geometric mean of the
    // per-round ratios, within 0.01% of the ratio of means on these symmetric values)
    expect(v.resources.cpu.overhead?.value).toBeCloseTo(1 / 0.95, 3);
    // CI of the paired ratio (per-round log ratios, t on pairs − 1 df), as the run computes it: worst k = 1 / lower end.
    const r = capacityFixture({ withOverheads: false });
    const vals = (backend: string) =>
      r.cells
        .find((c) => c.backend === backend && c.workload === 'cpu')!
        .metrics.find((m) => m.metric === 'sysbench-events-nt')!;
    expect(v.resources.cpu.overhead?.worst).toBeCloseTo(
      1 / overhead(vals('native'), vals('vm:q35-kvm'), true)!.ratioCi95[0],
      9,
    );
    const src = plan.sources[v.resources.cpu.overhead!.sources[0]!]!;
    expect(src.kind).toBe('derived');
    expect(v.expected.instancesPerHost).toBe(14);
  });

  it('a measured speed-up is never turned into free capacity (k ≥ 1)', () => {
    const r = capacityFixture();
    for (const o of r.overheads)
      if (o.backend === 'container:runc' && o.workload === 'cpu') {
        o.ratio = 1.05;
        o.ratioCi95 = [1.02, 1.08];
      }
    const plan = planCapacity(r, { host: host64, instance: { vcpus: 4, memoryMiB: 2048 } });
    expect(b(plan, 'container:runc').resources.cpu.overhead).toMatchObject({ value: 1, best: 1, worst: 1 });
    expect(b(plan, 'container:runc').expected.instancesPerHost).toBe(15);
  });

  it('TCG: warns that the VM CPU overhead describes emulation and does not transfer to KVM', () => {
    const plan = planCapacity(capacityFixture({ vmAccelerator: 'tcg' }), {
      host: host64,
      instance: { vcpus: 2, memoryMiB: 2048 },
    });
    const v = b(plan, 'vm:q35-tcg');
    expect(v.emulated).toBe(true);
    expect(plan.warnings.join('\n')).toMatch(/TCG.*emulation.*do not transfer to a KVM host/);
    // cpu floor(63 × 0.14 / 2 = 4.41) = 4
    expect(v.expected).toMatchObject({ instancesPerHost: 4, binding: ['cpu'] });
    expect(plan.runtimeClasses.find((r) => r.backend === 'vm:q35-tcg')!.notes.join('\n')).toMatch(/emulation/);
  });

  it('matches the network metrics by pattern (tcp-to-instance-gbps / tcp-from-instance-gbps), never rr-rtt latency', () => {
    const r = capacityFixture();
    const rename = (m: string): string =>
      m === 'tcp-mbps-up' ? 'tcp-to-instance-gbps' : m === 'tcp-mbps-down' ? 'tcp-from-instance-gbps' : m;
    for (const c of r.cells) for (const m of c.metrics) m.metric = rename(m.metric);
    for (const o of r.overheads) o.metric = rename(o.metric);
    // a latency metric with a huge "overhead" that must not be picked up as a throughput figure
    r.overheads.push({
      ...r.overheads.find((o) => o.backend === 'vm:q35-kvm' && o.workload === 'network')!,
      metric: 'rr-rtt-p99-us',
      higherIsBetter: false,
      ratio: 9,
      ratioCi95: [8, 10],
    });
    const plan = planCapacity(r, { host: host64, instance: { vcpus: 1, memoryMiB: 1024, mbps: 500 } });
    expect(b(plan, 'vm:q35-kvm').expected).toMatchObject({ instancesPerHost: 30, binding: ['network'] });
    expect(plan.sources[b(plan, 'vm:q35-kvm').resources.network.overhead!.sources[0]!]).toMatchObject({
      metric: 'tcp-to-instance-gbps',
    });
  });

  it('a native-only run says there is nothing to compare', () => {
    const r = capacityFixture();
    r.backends = r.backends.filter((x) => x.kind === 'native');
    const plan = planCapacity(r, { host: host64, instance: { vcpus: 1, memoryMiB: 1024 } });
    expect(plan.backends.map((x) => x.label)).toEqual(['native']);
    expect(plan.warnings.join('\n')).toMatch(/measured no container or VM backend/);
    expect(plan.densityRatios).toEqual([]);
    expect(plan.breakEven).toEqual([]);
  });

  it('a partial run is flagged', () => {
    const plan = planCapacity(capacityFixture({ status: 'partial' }), {
      host: host64,
      instance: { vcpus: 1, memoryMiB: 1024 },
    });
    expect(plan.warnings.join('\n')).toMatch(/is partial/);
  });

  it('reserve: profile reserve, then explicit option, field by field', () => {
    const h: HostSpec = { ...host64, reserve: { cores: 4, memoryPct: 10 } };
    const p1 = planCapacity(capacityFixture(), { host: h, instance: { vcpus: 1, memoryMiB: 1024 } });
    expect(p1.reserve).toEqual({ cores: 4, memoryPct: 10, memoryMiB: 0 });
    expect(p1.usable.cpu).toBe(60);
    const p2 = planCapacity(capacityFixture(), {
      host: h,
      instance: { vcpus: 1, memoryMiB: 1024 },
      reserve: { cores: 2 },
    });
    expect(p2.reserve).toEqual({ cores: 2, memoryPct: 10, memoryMiB: 0 });
    expect(p2.sources['reserve.cores']).toMatchObject({ kind: 'input', origin: '--reserve' });
  });

  it('an instance that does not fit gives 0 per host and no host count', () => {
    const plan = planCapacity(capacityFixture(), {
      host: host32,
      instance: { vcpus: 64, memoryMiB: 1024 },
      target: 10,
    });
    expect(b(plan, 'native').expected).toEqual({ instancesPerHost: 0, binding: ['cpu'], hostsNeeded: null });
    expect(b(plan, 'native').hostsNeeded?.value).toBe(Number.POSITIVE_INFINITY);
  });

  it('a reserve that leaves nothing is BAD_ARGS', () => {
    expect(() =>
      planCapacity(capacityFixture(), { host: host32, instance: { vcpus: 1, memoryMiB: 1 }, reserve: { cores: 32 } }),
    ).toThrow(IsobenchError);
  });
});
