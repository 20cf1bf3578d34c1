/**
 * A fleet directory read into one model: host states with their logs (a run
 * that failed partway, a failed setup, an unreachable host), facts, hardware
 * groups, per-host figures with the spread and outlier hosts, the tidy
 * samples table, and the fleet report renderers over it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetSampleRows, fleetSummaryLines, loadFleet, unreachableFromLog } from '../../../src/fleet/merge.js';
import { isFleetDir, resolveFleetDir } from '../../../src/fleet/layout.js';
import { sampleRows } from '../../../src/results/io.js';
import type { RunResults } from '../../../src/results/types.js';
import { fleetCapacity, renderFleetHtml, renderFleetMarkdown } from '../../../src/report/fleet.js';
import { parseHostSpec } from '../../../src/capacity/index.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';

const work = mkdtempSync(path.join(tmpdir(), 'isobench-fleet-merge-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

/** Native CPU values scaled by `factor` (a slower or faster host). */
function scaled(r: RunResults, runId: string, factor: number, host: Record<string, unknown> = {}): RunResults {
  const c = structuredClone(r);
  c.runId = runId;
  c.host = { ...c.host, ...host };
  for (const cell of c.cells) {
    if (cell.backend !== 'native' || cell.workload !== 'cpu') continue;
    for (const m of cell.metrics) {
      m.values = m.values.map((v) => v * factor);
      if (m.summary)
        m.summary = {
          ...m.summary,
          mean: m.summary.mean * factor,
          median: m.summary.median * factor,
          ci95: [m.summary.ci95[0] * factor, m.summary.ci95[1] * factor],
        };
    }
  }
  return c;
}

function makeFleet(
  name: string,
  hosts: Record<string, RunResults | null>,
  extra: (dir: string) => void = () => undefined,
): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'fleet-logs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'fleet.json'),
    JSON.stringify({
      fleetSchemaVersion: 1,
      fleetId: name,
      engine: 'ansible',
      scenarioName: 'quick',
      scenarioFile: '/s.yaml',
      createdAt: '2026-01-01T00:00:00Z',
      hosts: Object.keys(hosts),
      runIdScheme: 'x',
    }),
  );
  for (const [h, r] of Object.entries(hosts)) {
    if (!r) continue;
    mkdirSync(path.join(dir, h), { recursive: true });
    writeFileSync(path.join(dir, h, 'results.json'), JSON.stringify(r));
  }
  extra(dir);
  return dir;
}

describe('fleet merge', () => {
  it('names every host that did not measure, with its stage and log; keeps the others', async () => {
    const partial = { ...load('partial.json'), runId: 'f-c' };
    const dir = makeFleet(
      'f',
      { a: load('run-a.json'), b: load('run-b.json'), c: partial, d: null, e: null, g: null, h: null },
      (d) => {
        /** A host's log file in the fleet's logs, as the play writes them. */
        const hostLog = (host: string, file: string, text: string): void => {
          mkdirSync(path.join(d, 'fleet-logs', host), { recursive: true });
          writeFileSync(path.join(d, 'fleet-logs', host, file), text);
        };
        hostLog('c', 'run.log', 'rc=1\nworkload memory failed');
        const stderr = 'E: Unable to locate package qemu';
        const task = 'setup: the README setup';
        hostLog('d', 'status.json', JSON.stringify({ stage: 'setup', task, error: 'non-zero return code', stderr }));
        hostLog('d', 'setup.log', stderr);
        // The play's connect step records ansible's message as it came, ssh's "\r\n" included.
        const error =
          'Data could not be sent to remote host "10.0.0.8". Make sure this host can be reached over ssh: ' +
          'ssh: connect to host 10.0.0.8 port 22: Connection refused\r\n';
        hostLog('h', 'status.json', JSON.stringify({ stage: 'connect', task: 'connect: reach the host', error }));
        writeFileSync(
          path.join(d, 'fleet-logs', 'ansible.log'),
          // With pipelining, ansible quotes ssh's own stderr, "\r\n" and all.
          '2026-01-01 p=1 u=root n=ansible | fatal: [e]: UNREACHABLE! => {"changed": false, "msg": "Data could not be sent to remote host \\"10.0.0.9\\". Make sure this host can be reached over ssh: ssh: connect to host 10.0.0.9 port 22: Connection timed out\\r\\n", "unreachable": true}\n',
        );
      },
    );
    expect(isFleetDir(dir)).toBe(true);
    expect(resolveFleetDir('f', work)).toBe(dir);
    expect(resolveFleetDir(path.join(dir, 'a'), work)).toBeNull();
    const m = await loadFleet(dir);
    const by = Object.fromEntries(m.hosts.map((h) => [h.name, h]));
    expect(by.a!.state).toBe('complete');
    expect(by.c!.state).toBe('partial');
    expect(by.c!.problem).toMatchObject({ stage: 'run', log: 'fleet-logs/c/run.log' });
    expect(by.d!.state).toBe('setup-failed');
    expect(by.d!.problem).toEqual({
      stage: 'setup',
      message: 'non-zero return code: E: Unable to locate package qemu',
      log: 'fleet-logs/d/setup.log',
    });
    expect(by.e!.state).toBe('unreachable');
    expect(by.e!.problem?.message).toBe(
      'Data could not be sent to remote host "10.0.0.9". Make sure this host can be reached over ssh: ' +
        'ssh: connect to host 10.0.0.9 port 22: Connection timed out',
    );
    expect(by.g!.state).toBe('not-run');
    const lines = fleetSummaryLines(m);
    expect(lines[0]).toBe('fleet f: 2/7 hosts complete');
    // One line per host, its log on it: ssh's line end does not split it.
    expect(lines.find((l) => l.startsWith('  e '))).toMatch(
      new RegExp(
        `unreachable +connect: Data could not .*timed out \\(log: ${path.join(dir, 'fleet-logs/ansible.log')}\\)$`,
      ),
    );
    expect(lines.find((l) => l.startsWith('  h '))).toMatch(
      new RegExp(
        `unreachable +connect: Data could not .*refused \\(log: ${path.join(dir, 'fleet-logs/ansible.log')}\\)$`,
      ),
    );
    expect(lines.every((l) => !/[\r\n]/.test(l))).toBe(true);
    expect(lines.find((l) => l.includes(' d '))).toContain(
      `setup: non-zero return code: E: Unable to locate package qemu (log: ${path.join(dir, 'fleet-logs/d/setup.log')})`,
    );

    // Facts side by side and one hardware group (the fixtures come from one machine).
    expect(by.a!.facts).toMatchObject({
      cpuModel: 'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz',
      kernel: '6.18.0-fc',
      accelerator: 'tcg',
      cpus: 2,
    });
    expect(m.groups).toHaveLength(1);
    expect(m.groups[0]!.hosts.sort()).toEqual(['a', 'b', 'c']);
    // Per figure: one value per measured host, and overheads vs native per host.
    const ready = m.figures.find(
      (f) => f.kind === 'overhead' && f.workload === 'cpu' && f.headline && f.backend === 'vm:q35-tcg',
    );
    expect(ready?.perHost.map((p) => p.host).sort()).toEqual(expect.arrayContaining(['a', 'b']));
    expect(m.notes[0]).toMatch(/at least 4 measured hosts.*has 3/);
  });

  it('spread across hosts, outlier hosts, groups by hardware model', async () => {
    const base = load('run-a.json');
    const hosts: Record<string, RunResults> = {
      h1: scaled(base, 'r1', 1.0),
      h2: scaled(base, 'r2', 1.01),
      h3: scaled(base, 'r3', 0.99),
      h4: scaled(base, 'r4', 1.02),
      slow: scaled(base, 'r5', 0.5, { cpuModel: 'AMD EPYC 7B12', kernel: '6.1.0-cloud' }),
    };
    const m = await loadFleet(makeFleet('g', hosts));
    const cpu = m.figures.find(
      (f) => f.kind === 'value' && f.backend === 'native' && f.workload === 'cpu' && f.headline,
    )!;
    expect(cpu.perHost).toHaveLength(5);
    expect(cpu.outliers).toEqual(['slow']);
    const h1 = cpu.perHost.find((p) => p.host === 'h1')!.value;
    expect(cpu.spread!.min).toBeCloseTo(h1 * 0.5, 6);
    expect(cpu.spread!.max).toBeCloseTo(h1 * 1.02, 6);
    expect(cpu.spread!.spreadPct).toBeCloseTo(((1.02 - 0.5) / 1.0) * 100, 6);
    expect(m.groups.map((g) => g.hosts)).toEqual([['h1', 'h2', 'h3', 'h4'], ['slow']]);

    // One tidy table: every host's rows, each with its inventory name.
    const rows = fleetSampleRows(m);
    expect(rows.length).toBe(5 * sampleRows(base).length);
    expect(new Set(rows.map((r) => r.host))).toEqual(new Set(Object.keys(hosts)));

    // Capacity per hardware model, from each host's own figures.
    const cap = fleetCapacity(m, parseHostSpec('cores=64,memoryGiB=256'), { vcpus: 2, memoryMiB: 2048 });
    expect(cap).toHaveLength(2);
    expect(cap[0]!.backends.find((b) => b.label === 'container:runc')!.perHost.map((p) => p.host)).toEqual([
      'h1',
      'h2',
      'h3',
      'h4',
    ]);

    const html = renderFleetHtml(m, { reportDir: path.join(work, 'reports', 'g'), capacity: cap });
    expect(html).toContain('<td class="outlier" data-host="slow">');
    expect(html).not.toContain('<script>alert(1)</script>'); // the fixture's hostile hostname is escaped
    const md = renderFleetMarkdown(m, cap);
    expect(md).toMatch(/\| figure \| h1 \| h2 \| h3 \| h4 \| slow \| spread \| outliers \|/);
    expect(md).toContain('## Capacity per hardware model');
    // The outlier host with its facts beside the fleet median.
    expect(md).toMatch(
      /## Outlier hosts[\s\S]*\| slow \| CPU · events\\_per\\_s · native \| [\d,.]+ \| [\d,.]+ \| AMD EPYC 7B12 \| 6\.1\.0-cloud \|/,
    );
    expect(html).toContain('<section id="outliers">');
  });

  it('spread within each hardware model (CPU model, cores, memory): median, CV across hosts, hosts outside named', async () => {
    const base = load('run-a.json');
    const hosts: Record<string, RunResults> = {
      m1: scaled(base, 's1', 1.0),
      m2: scaled(base, 's2', 1.01),
      m3: scaled(base, 's3', 0.99),
      m4: scaled(base, 's4', 0.9),
      // Same CPU, more memory: another hardware model.
      big: scaled(base, 's5', 1.0, { memTotalBytes: 64 * 2 ** 30 }),
      amd: scaled(base, 's6', 0.5, { cpuModel: 'AMD EPYC 7B12' }),
    };
    const m = await loadFleet(makeFleet('hm', hosts));
    expect(m.models.map((x) => [x.key, x.hosts])).toEqual([
      ['Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz · 2 CPUs · 24 GiB', ['m1', 'm2', 'm3', 'm4']],
      ['Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz · 2 CPUs · 64 GiB', ['big']],
      ['AMD EPYC 7B12 · 2 CPUs · 24 GiB', ['amd']],
    ]);
    const cpu = m.figures.find(
      (f) => f.kind === 'value' && f.backend === 'native' && f.workload === 'cpu' && f.headline,
    )!;
    const v = cpu.perHost.find((p) => p.host === 'm1')!.value;
    const s = m.models[0]!.figures.find((f) => f.figureId === cpu.id)!;
    const xs = [1.0, 1.01, 0.99, 0.9].map((k) => k * v);
    const mean = xs.reduce((a, b) => a + b, 0) / 4;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
    expect(s.n).toBe(4);
    expect(s.median).toBeCloseTo(0.995 * v, 6);
    expect(s.cvPct).toBeCloseTo((sd / mean) * 100, 6);
    // The band is the CPU threshold (3%): m4 is 9.5% below the median, the others within 0.6%.
    expect(s.bandPct).toBe(3);
    expect(s.outside.map((o) => o.host)).toEqual(['m4']);
    expect(s.outside[0]!.devPct).toBeCloseTo(((0.9 - 0.995) / 0.995) * 100, 6);
    // One host: no spread, nobody outside.
    expect(m.models[1]!.figures.find((f) => f.figureId === cpu.id)).toMatchObject({ n: 1, cvPct: null, outside: [] });

    const md = renderFleetMarkdown(m, null);
    expect(md).toContain('## Spread within each hardware model');
    expect(md).toMatch(
      /\| Intel\(R\) Xeon\(R\) Platinum 8481C CPU @ 2\.70GHz · 2 CPUs · 24 GiB \| CPU · events\\_per\\_s · native \(events\/s\) \| 4 \| [\d,.]+ \| [\d.]+% \| ±3% \| m4 \(-9\.5%\) \|/,
    );
    const html = renderFleetHtml(m, { reportDir: path.join(work, 'reports', 'hm'), capacity: null });
    expect(html).toContain('<td class="outlier" data-outside="m4">m4 (-9.5%)</td>');
    expect(html).toContain('<td>one host</td>');
  });

  it('single runs: samples carry the hostname; ansible UNREACHABLE lines are parsed', () => {
    const r = load('run-a.json');
    expect(sampleRows(r)[0]!.host).toBe('bench-01 <script>alert(1)</script>');
    const { hostname: _drop, ...noName } = r.host as Record<string, unknown>;
    expect(sampleRows({ ...r, host: noName })[0]).not.toHaveProperty('host');
    const u = unreachableFromLog('x | fatal: [web-1]: UNREACHABLE! => {"msg": "no route"}\nx | ok: [web-2]\n');
    expect([...u]).toEqual([['web-1', 'no route']]);
  });
});
