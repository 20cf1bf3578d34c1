/**
 * Traceability: every number in a capacity plan carries source ids, and every
 * measured source resolves to the run's own measured figure (overhead ratio + CI,
 * or a cell's mean + t CI) and raw logs. Also the command end to end.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  capacityChartData,
  capacitySweepChartData,
  planCapacity,
  renderJson,
  renderMarkdown,
  renderRuntimeClassYaml,
  renderText,
  runCapacityCommand,
} from '../../../src/capacity/index.js';
import type { CapacityPlan, Figure, SourceRef } from '../../../src/capacity/model.js';
import type { HostSpec } from '../../../src/capacity/spec.js';
import { IsobenchError } from '../../../src/errors.js';
import { capacityFixture } from '../../helpers/capacity-fixture.js';
import { checkTrace } from '../../helpers/capacity-trace.js';

const host: HostSpec = { cores: 64, memoryGiB: 256, diskIops: 100000, netGbps: 25, name: 'test', source: 'test' };

describe('capacity trace: fixture run', () => {
  const run = capacityFixture();
  const plan = planCapacity(run, { host, instance: { vcpus: 2, memoryMiB: 2048, iops: 500, mbps: 200 }, target: 1000 });

  it('every source id resolves, and every measured source is the run’s own figure', () => {
    const seen = checkTrace(plan, run);
    expect(seen.some((s) => s.kind === 'measured')).toBe(true);
  });

  it('every non-native figure that depends on a measurement cites it', () => {
    for (const b of plan.backends.filter((x) => x.kind !== 'native')) {
      for (const r of ['cpu', 'memory', 'disk', 'network'] as const) {
        const rc = b.resources[r];
        expect(rc.status).toBe('measured');
        const measured = (f: Figure | null): SourceRef[] =>
          (f?.sources ?? []).map((id) => plan.sources[id]!).filter((s) => s.kind === 'measured');
        expect(measured(rc.overhead).length, `${b.label} ${r} overhead`).toBeGreaterThan(0);
        expect(measured(rc.cost).length, `${b.label} ${r} cost`).toBeGreaterThan(0);
        expect(measured(rc.fit).length, `${b.label} ${r} fit`).toBeGreaterThan(0);
      }
      expect(b.instancesPerHost.sources.some((id) => plan.sources[id]!.kind === 'measured')).toBe(true);
      expect(b.hostsNeeded!.sources).toContain('target');
    }
  });

  it('the numbers are computed from the cited figures', () => {
    const vm = plan.backends.find((b) => b.kind === 'vm')!;
    const cpuSrc = plan.sources[vm.resources.cpu.overhead!.sources[0]!]!;
    expect(cpuSrc).toMatchObject({
      kind: 'measured',
      backend: 'vm:q35-kvm',
      workload: 'cpu',
      metric: 'sysbench-events-nt',
      stat: 'overhead.ratio',
    });
    if (cpuSrc.kind !== 'measured') throw new Error('unreachable');
    expect(vm.resources.cpu.cost!.value).toBeCloseTo(2 / cpuSrc.value, 12);
    expect(vm.resources.cpu.cost!.worst).toBeCloseTo(2 / cpuSrc.ci95[0], 12);

    const [vmPss, nativePss] = vm.resources.memory.overhead!.sources.map((id) => plan.sources[id]!) as [
      SourceRef,
      SourceRef,
    ];
    expect(vmPss).toMatchObject({
      backend: 'vm:q35-kvm',
      workload: 'footprint',
      metric: 'pss-mib',
      stat: 'summary.mean',
    });
    expect(nativePss).toMatchObject({ backend: 'native', workload: 'footprint', metric: 'pss-mib' });
    if (vmPss.kind !== 'measured' || nativePss.kind !== 'measured') throw new Error('unreachable');
    expect(vm.resources.memory.overhead!.value).toBeCloseTo(vmPss.value - nativePss.value, 12);
    expect(vm.resources.memory.cost!.value).toBeCloseTo(2048 + vmPss.value - nativePss.value, 12);
    expect(vmPss.rawLogs).toEqual([
      'raw/vm-q35-kvm/footprint/pss-mib-rep1.log',
      'raw/vm-q35-kvm/footprint/pss-mib-rep2.log',
      'raw/vm-q35-kvm/footprint/pss-mib-rep3.log',
    ]);

    const rc = plan.runtimeClasses.find((r) => r.backend === 'vm:q35-kvm')!;
    expect(rc.sources).toEqual(expect.arrayContaining([vmPss.id, nativePss.id, cpuSrc.id, 'instance.vcpus']));
  });

  it('inputs and defaults are sources too', () => {
    expect(plan.sources['host.cores']).toMatchObject({ kind: 'input', value: 64 });
    expect(plan.sources['instance.memoryMiB']).toMatchObject({ kind: 'input', value: 2048, origin: '--instance' });
    expect(plan.sources['reserve.cores']).toMatchObject({ kind: 'default', value: 1 });
    expect(plan.sources['target']).toMatchObject({ kind: 'input', value: 1000 });
  });

  it('the text output lists each measured source with run, backend, workload/metric and raw log', () => {
    const text = renderText(plan);
    for (const s of Object.values(plan.sources)) {
      if (s.kind !== 'measured') continue;
      expect(text).toContain(`${s.id}: run ${run.runId}, backend ${s.backend}, ${s.workload}/${s.metric}`);
      if (s.rawLogs.length > 0) expect(text).toContain(s.rawLogs[0]!);
    }
    // cost cells cite their sources
    const vm = plan.backends.find((b) => b.kind === 'vm')!;
    expect(text).toContain(`‹${vm.resources.cpu.overhead!.sources[0]}›`);
  });

  it('the derived path (no results.overheads) still traces to the means of the cells', () => {
    const r2 = capacityFixture({ withOverheads: false });
    const p2 = planCapacity(r2, { host, instance: { vcpus: 2, memoryMiB: 2048 } });
    checkTrace(p2, r2);
    expect(Object.values(p2.sources).some((s) => s.kind === 'derived')).toBe(true);
  });
});

describe('capacity rendering', () => {
  const run = capacityFixture({ vmAccelerator: 'tcg' });
  const plan = planCapacity(run, { host, instance: { vcpus: 2, memoryMiB: 2048 }, target: 100 });

  it('text: aligned table, TCG warning, sweep, break-even, RuntimeClass', () => {
    const text = renderText(plan);
    expect(text).toMatch(
      /WARNING: vm:q35-tcg ran under TCG \(emulation, no hardware virtualization\): its CPU overhead describes emulation, and the CPU-bound VM figures do not transfer to a KVM host/,
    );
    expect(text).toContain('Instances per host');
    expect(text).toContain('What if: instances per host as memory per instance grows');
    expect(text).toMatch(/Break-even: vm:q35-tcg's extra fixed footprint vs container:runc/);
    expect(text).toContain('kind: RuntimeClass');
    // the rows of the instances table line up: the "best" column ends at the same offset
    const lines = text.split('\n');
    const start = lines.indexOf('Instances per host');
    const tableLines = lines.slice(start + 1, start + 5);
    const col = tableLines[0]!.indexOf('best') + 'best'.length;
    for (const l of tableLines.slice(1)) expect(l[col - 1]).toMatch(/\d/);
  });

  it('RuntimeClass YAML parses and carries podFixed', async () => {
    const { parseAllDocuments } = await import('yaml');
    const docs = parseAllDocuments(renderRuntimeClassYaml(plan)).map((d) => d.toJS() as Record<string, any>);
    expect(docs).toHaveLength(2);
    const vm = docs.find((d) => d.metadata.name === 'isobench-vm-q35-tcg')!;
    expect(vm.kind).toBe('RuntimeClass');
    expect(vm.overhead.podFixed.memory).toBe('212Mi'); // ceil(200 + Welch half-width 11.99)
    // 2 vCPU × (1/0.13 − 1) × 1000 = 13384.6 → 13385m
    expect(vm.overhead.podFixed.cpu).toBe('13385m');
  });

  it('JSON round-trips and never contains Infinity', () => {
    const p = planCapacity(run, { host: { ...host, cores: 2 }, instance: { vcpus: 4, memoryMiB: 2048 }, target: 5 });
    const j = JSON.parse(renderJson(p)) as CapacityPlan;
    expect(j.runId).toBe(run.runId);
    expect(j.backends[0]!.hostsNeeded!.value).toBeNull();
    expect(j.sources).toEqual(JSON.parse(JSON.stringify(p.sources)));
  });

  it('markdown has the table, the warning and the sources', () => {
    const md = renderMarkdown(plan);
    expect(md).toContain('## Capacity plan (run `fixture-capacity-1`)');
    expect(md).toContain('> **Warning:** vm:q35-tcg ran under TCG');
    expect(md).toMatch(/\| vm:q35-tcg \| tcg \| \d+ \(\d+–\d+\) \| cpu/);
    expect(md).toContain('```yaml');
  });

  it('chart data: one stacked dataset per binding resource', () => {
    const c = capacityChartData(plan);
    expect(c.labels).toEqual(['native', 'container:runc', 'vm:q35-tcg']);
    for (const [i, b] of plan.backends.entries()) {
      const total = c.datasets.reduce((a, d) => a + d.data[i]!, 0);
      expect(total).toBe(b.expected.instancesPerHost);
      const ds = c.datasets.find((d) => d.label === b.expected.binding[0])!;
      expect(ds.data[i]).toBe(b.expected.instancesPerHost);
    }
    expect(c.datasets.every((d) => d.stack === 'instances')).toBe(true);
    expect(c.notes.join('\n')).toMatch(/TCG/);
    const s = capacitySweepChartData(plan);
    expect(s.labels).toEqual([128, 256, 512, 1024, 2048, 4096, 8192, 16384]);
    expect(s.datasets).toHaveLength(3);
  });
});

describe('runCapacityCommand', () => {
  const root = mkdtempSync(join(tmpdir(), 'isobench-results-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const writeRun = (id: string, content: string): string => {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, 'results.json'), content);
    return join(root, id);
  };
  const good = capacityFixture({ runId: 'run-good' });
  const goodDir = writeRun('run-good', JSON.stringify(good));

  async function rejects(args: Parameters<typeof runCapacityCommand>[0], code: string, msg: RegExp): Promise<void> {
    try {
      await runCapacityCommand(args);
    } catch (e) {
      expect(e).toBeInstanceOf(IsobenchError);
      expect((e as IsobenchError).code).toBe(code);
      expect((e as IsobenchError).exitCode).toBe(2);
      expect((e as IsobenchError).message).toMatch(msg);
      return;
    }
    throw new Error('expected an error');
  }

  it('by run id: text, exit 0', async () => {
    const r = await runCapacityCommand({
      run: 'run-good',
      host: 'cores=64,memoryGiB=256',
      instance: 'vcpus=2,memoryMiB=2048',
      target: '1000',
      resultsRoot: root,
    });
    expect(r.exitCode).toBe(0);
    expect(r.text).toContain('isobench capacity · run run-good (complete)');
    expect(r.text).toContain('hosts for 1000');
  });

  it('by run dir and with --json and a host profile', async () => {
    const r = await runCapacityCommand({
      run: goodDir,
      host: 'example-64c-256g',
      instance: 'vcpus=2,memoryMiB=2048',
      json: true,
      resultsRoot: '/nonexistent',
    });
    const plan = JSON.parse(r.text) as CapacityPlan;
    expect(plan.host.name).toBe('example-64c-256g');
    checkTrace(plan, good);
  });

  it('bad specs and target are BAD_ARGS before the results are read', async () => {
    await rejects(
      { run: 'nope', host: 'cores=64', instance: 'vcpus=2,memoryMiB=2048', resultsRoot: root },
      'BAD_ARGS',
      /--host is missing "memoryGiB"/,
    );
    await rejects(
      { run: 'run-good', host: 'cores=64,memoryGiB=256', instance: 'vcpus=2', resultsRoot: root },
      'BAD_ARGS',
      /--instance is missing "memoryMiB"/,
    );
    await rejects(
      {
        run: 'run-good',
        host: 'cores=64,memoryGiB=256',
        instance: 'vcpus=2,memoryMiB=1',
        target: '1.5',
        resultsRoot: root,
      },
      'BAD_ARGS',
      /^--target must be a whole number of instances > 0, got "1.5"$/,
    );
    await rejects(
      { run: 'missing-run', host: 'cores=64,memoryGiB=256', instance: 'vcpus=2,memoryMiB=1', resultsRoot: root },
      'BAD_ARGS',
      /^--run missing-run: no such run id under/,
    );
  });

  it('corrupt or foreign results are BAD_RESULTS', async () => {
    const args = (run: string) => ({
      run,
      host: 'cores=64,memoryGiB=256',
      instance: 'vcpus=2,memoryMiB=2048',
      resultsRoot: root,
    });
    writeRun('corrupt', '{"schemaVersion": 1, "runId": ');
    // The one results loader (results/io.ts) words these, the same for capacity, report and compare.
    await rejects(args('corrupt'), 'BAD_RESULTS', /results\.json: not valid JSON/);
    writeRun('v3', JSON.stringify({ ...good, schemaVersion: 3 }));
    await rejects(args('v3'), 'BAD_RESULTS', /schemaVersion 3 is not supported \(this isobench reads 1 and 2;/);
    writeRun('foreign', JSON.stringify({ name: 'something else' }));
    await rejects(args('foreign'), 'BAD_RESULTS', /not an isobench results file: schemaVersion: /);
    writeRun('noarrays', JSON.stringify({ ...good, cells: undefined }));
    await rejects(args('noarrays'), 'BAD_RESULTS', /not an isobench results file: cells: /);
    writeRun('array', '[]');
    await rejects(args('array'), 'BAD_RESULTS', /expected a JSON object/);
    mkdirSync(join(root, 'empty-run'));
    await rejects(args('empty-run'), 'BAD_RESULTS', /has no results\.json/);
  });
});
