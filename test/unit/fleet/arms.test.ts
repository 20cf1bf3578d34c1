/**
 * The Kubernetes arms as figures: the arm script (the CPU workload's probes in
 * time slots) run for real, arm logs recorded under runc and runsc on this host
 * (test/fixtures/arms, made by record.ts) parsed by the CPU workload's parsers,
 * a cut log refused, and a fleet directory with those logs giving overhead rows
 * per arm in the fleet report, paired by round when the arms took turns.
 */
import { execa } from 'execa';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { armOverheads, armScript, cpuArmProbes, parseArmLog, type ArmLog } from '../../../src/fleet/arms.js';
import { fleetSampleRows, loadFleet } from '../../../src/fleet/merge.js';
import { renderFleetHtml, renderFleetMarkdown } from '../../../src/report/fleet.js';
import { parseSysbenchCpu } from '../../../src/workloads/parsers/sysbench.js';
import { ParseError } from '../../../src/workloads/parsers/common.js';
import { sysbenchCpuArgv, cpuParams, cpuWorkload } from '../../../src/workloads/cpu.js';
import { isobench } from '../../helpers/cli.js';

const FIX = 'test/fixtures/arms';
const work = mkdtempSync(path.join(tmpdir(), 'isobench-arms-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const fixture = (f: string): string => readFileSync(path.join(FIX, f), 'utf8');

describe('kubernetes arm logs', () => {
  it('the arm script runs the CPU workload probes and its log parses into one value per probe', async () => {
    const probes = cpuArmProbes({ seconds: 1 }, 1);
    expect(probes.map((p) => p.tag)).toEqual(['cpu-sysbench-1t', 'cpu-matrixprod-1', 'cpu-syscall-null']);
    expect(probes[0]!.argv).toEqual(sysbenchCpuArgv(cpuParams.parse({ seconds: 1 }), 1));
    const script = armScript(
      {
        arm: 'runc',
        node: 'here',
        index: 0,
        arms: 1,
        rounds: 1,
        slotSeconds: 10,
        start: Math.floor(Date.now() / 1000) + 1,
      },
      probes,
    );
    const r = await execa('sh', ['-c', script], { reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    const log = parseArmLog(r.all ?? '');
    expect(log).toMatchObject({ arm: 'runc', node: 'here', rounds: 1, done: true, missed: [] });
    expect(Object.keys(log.measured[0]!.values).sort()).toEqual([
      'matrixprod-bogo-ops-1t',
      'sysbench-events-1t',
      'syscall-ops',
    ]);
    expect(log.measured[0]!.errors).toEqual({});
  }, 60_000);

  it("names its probes as the CPU workload does, metric for metric, and honours a scenario's probes: choice", () => {
    for (const [vcpus, allVcpus] of [
      [1, true],
      [2, true],
      [2, false],
    ] as const) {
      const params = cpuParams.parse({ seconds: 1, allVcpus });
      const workload = cpuWorkload.probes!(params, { vcpus, memoryMiB: 256 });
      expect(
        cpuArmProbes(params, vcpus).map((p) => [p.probe, p.metric]),
        `${vcpus} vCPUs`,
      ).toEqual(workload.map((p) => [p.name, p.metrics[0]]));
    }
    expect(cpuArmProbes({ seconds: 1 }, 2, ['sysbench-1t', 'syscall']).map((p) => p.tag)).toEqual([
      'cpu-sysbench-1t',
      'cpu-syscall-null',
    ]);
  });

  it('recorded runc and runsc logs: every round parsed by the workload parsers, in their slots', () => {
    const runc = parseArmLog(fixture('runc-node-a.txt'));
    const runsc = parseArmLog(fixture('runsc-node-a.txt'));
    for (const l of [runc, runsc]) {
      expect(l.done).toBe(true);
      expect(l.measured).toHaveLength(4);
      for (const r of l.measured)
        expect(Object.keys(r.values).sort()).toEqual(['matrixprod-bogo-ops-1t', 'sysbench-events-1t', 'syscall-ops']);
    }
    // The same number the CPU workload's parser reads from the probe's own output.
    const block = fixture('runsc-node-a.txt')
      .split('### isobench-probe cpu-sysbench-1t begin\n')[1]!
      .split('### isobench-probe')[0]!;
    expect(runsc.measured[0]!.values['sysbench-events-1t']).toBe(parseSysbenchCpu(block).eventsPerSecond);
    // Turns: runsc (arm 1) starts its round one slot after runc's (arm 0).
    expect(runsc.measured[0]!.begin - runc.measured[0]!.begin).toBeGreaterThanOrEqual(runc.slotSeconds);
  });

  it('a log cut inside a probe is a ParseError; a failed probe is recorded with its exit', () => {
    expect(() => parseArmLog(fixture('runsc-node-a.truncated.txt'))).toThrow(ParseError);
    expect(() => parseArmLog('just a pod log\n')).toThrow(/not an isobench arm log/);
    const failed = fixture('runc-node-a.txt').replace(
      /### isobench-probe cpu-syscall-null end rc=0/,
      '### isobench-probe cpu-syscall-null end rc=137',
    );
    const log = parseArmLog(failed);
    expect(log.measured[0]!.errors['syscall-ops']).toMatch(/^exit 137/);
    expect(log.measured[0]!.values['syscall-ops']).toBeUndefined();
  });

  it('interleaved arms are paired by round; arms that overlapped in time fall back to unpaired, and say so', () => {
    const runc = parseArmLog(fixture('runc-node-a.txt'));
    const runsc = parseArmLog(fixture('runsc-node-a.txt'));
    const { rows } = armOverheads([runc, runsc]);
    expect(rows.map((r) => [r.arm, r.metric, r.design, r.n])).toEqual([
      ['runsc', 'sysbench-events-1t', 'interleaved', 4],
      ['runsc', 'matrixprod-bogo-ops-1t', 'interleaved', 4],
      ['runsc', 'syscall-ops', 'interleaved', 4],
    ]);
    // Paired: the mean of the per-round log ratios.
    const sys = rows.find((r) => r.metric === 'syscall-ops')!;
    const d = runc.measured.map((r, i) =>
      Math.log(runsc.measured[i]!.values['syscall-ops']! / r.values['syscall-ops']!),
    );
    expect(sys.overheadPct).toBeCloseTo((1 - Math.exp(d.reduce((a, b) => a + b, 0) / d.length)) * 100, 6);
    expect(sys.overheadPctCi95[0]).toBeLessThan(sys.overheadPct);
    // gVisor intercepts every system call: the syscall probe costs far more than the threshold.
    expect(sys.verdict).toBe('overhead');
    // Same logs, runsc's rounds moved onto runc's: they shared the node, nothing is paired.
    const together: ArmLog = {
      ...runsc,
      measured: runsc.measured.map((r, i) => ({ ...r, begin: runc.measured[i]!.begin, end: runc.measured[i]!.end })),
    };
    const o = armOverheads([runc, together]).rows[0]!;
    expect(o.design).toBe('overlapping');
    expect(o.n).toEqual([4, 4]);
    expect(o.note).toMatch(/overlapped in time/);
    expect(armOverheads([runsc]).notes[0]).toMatch(/no runc arm log/);
  });

  it('a fleet directory with recorded arm logs has overhead rows per arm in the fleet report', async () => {
    const dir = path.join(work, 'kf');
    mkdirSync(path.join(dir, 'arms'), { recursive: true });
    writeFileSync(
      path.join(dir, 'fleet.json'),
      JSON.stringify({
        fleetSchemaVersion: 1,
        fleetId: 'kf',
        engine: 'k8s',
        scenarioName: 'k8s-arms',
        scenarioFile: '/s.yaml',
        createdAt: '2026-01-01T00:00:00Z',
        hosts: ['node-a'],
        runIdScheme: 'x',
      }),
    );
    // Collected as arms/<arm>-<node>.log (the fixtures are .txt: *.log is git-ignored).
    for (const a of ['runc', 'runsc'])
      cpSync(path.join(FIX, `${a}-node-a.txt`), path.join(dir, 'arms', `${a}-node-a.log`));
    const m = await loadFleet(dir);
    expect(m.arms.logs.map((l) => [l.arm, l.node, l.error])).toEqual([
      ['runc', 'node-a', undefined],
      ['runsc', 'node-a', undefined],
    ]);
    expect(m.arms.rows.filter((r) => r.arm === 'runsc')).toHaveLength(3);
    // kata and KubeVirt could not run here: their missing logs are named, not silently absent.
    expect(m.arms.notes.join('\n')).toMatch(/node node-a: no log from kata-qemu, kubevirt \(2 of 4 arms collected\)/);
    const md = renderFleetMarkdown(m, null);
    expect(md).toContain('## Kubernetes arms: runc vs runsc vs kata vs KubeVirt');
    expect(md).toMatch(
      /\| node-a \| runsc \| syscall-ops \(bogo-ops\/s\) \| interleaved, paired by round \(n=4\) \| [\d,.]+ \| [\d,.]+ \| \+\d+(\.\d)?% \[/,
    );
    const html = renderFleetHtml(m, { reportDir: path.join(work, 'reports', 'kf'), capacity: null });
    expect((html.match(/<tr data-arm="runsc" data-node="node-a">/g) ?? []).length).toBe(3);
    // The arms' values join the fleet's samples: backend k8s, the arm as variant, the node as host.
    const rows = fleetSampleRows(m);
    expect(rows.filter((r) => r.backend === 'k8s' && r.variant === 'runsc' && r.host === 'node-a')).toHaveLength(12);
  });

  it('end to end: fleet k8s writes the arms, the collected logs land in arms/, isobench report shows the rows', async () => {
    const results = path.join(work, 'results');
    const reports = path.join(work, 'reports');
    const env = { ISOBENCH_RESULTS: results, ISOBENCH_REPORTS: reports };
    const w = await isobench(
      [
        'fleet',
        'k8s',
        'test/fixtures/scenarios/k8s-arms.yaml',
        '--nodes',
        'node-a',
        '--fleet-id',
        'ke',
        '--workload-image',
        'w:1',
        '--vm-image',
        'vm:1',
        '--arm-start',
        '2026-12-07T09:00:00Z',
      ],
      env,
    );
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain('Arms (runc, runsc, kata-qemu, kubevirt) take turns from 2026-12-07T09:00:00.000Z');
    // collect.sh writes each arm's log where the report reads it.
    const collect = readFileSync(path.join(results, 'ke', 'k8s', 'collect.sh'), 'utf8');
    for (const a of ['runc', 'runsc', 'kata-qemu', 'kubevirt'])
      expect(collect).toContain(`> ${path.join(results, 'ke', 'arms', `${a}-node-a.log`)}`);
    for (const a of ['runc', 'runsc'])
      cpSync(path.join(FIX, `${a}-node-a.txt`), path.join(results, 'ke', 'arms', `${a}-node-a.log`));
    const r = await isobench(['report', path.join(results, 'ke')], env);
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(path.join(reports, 'ke', 'summary.md'), 'utf8');
    expect(md.match(/^\| node-a \| runsc \| /gm)).toHaveLength(3);
    expect(md).toContain('no log from kata-qemu, kubevirt');
  }, 120_000);
});
