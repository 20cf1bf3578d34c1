/**
 * The isolation categories read from cell.extra: partitioning time series,
 * the memory-limit gradient, density and the noisy neighbour. Malformed extra
 * is skipped with a note, never a crash, and strings stay text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { buildModel, chartConfig, type LineChartSpec } from '../../../src/report/model.js';
import { gradientReading, slope } from '../../../src/report/isolation/index.js';
import { renderHtml } from '../../../src/report/html.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderPngs } from '../../../src/report/png.js';
import { FIXTURE_DIR, HOSTILE } from '../../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;
const iso = (r: RunResults, id: string) => buildModel(r).categories.find((c) => c.id === id)?.isolation ?? null;

describe('isolation views from cell.extra', () => {
  const r = load('isolation.json');

  it('partition: a share and a cap chart per resource, target line, table with mechanism and error', () => {
    const v = iso(r, 'partition')!;
    expect(v.charts.map((c) => c.id)).toEqual([
      'chart-partition-cpu-share',
      'chart-partition-cpu-cap',
      'chart-partition-disk-share',
      'chart-partition-disk-cap',
      'chart-partition-net-share',
      'chart-partition-net-cap',
    ]);
    const cpu = v.charts[0] as LineChartSpec;
    expect(cpu.series.map((s) => s.label)).toEqual(['native', 'container:runc', 'vm:q35-tcg', 'target 80%']);
    expect(cpu.series[3]!.dashed).toBe(true);
    expect(cpu.series[0]!.hollow![0]).toBe(true); // outside the counted window
    const shares = v.tables.find((t) => t.id === 'partition-shares')!;
    const vmCpu = shares.rows.find((x) => x.cells[0] === 'CPU' && x.backend === 'vm:q35-tcg')!;
    expect(vmCpu.cells.slice(2, 6)).toEqual(['80%', '79.40%', '−0.60 pp', 'cpu.shares (cgroup v1), weights 1000:250']);
    expect(shares.rows.find((x) => x.cells[0] === 'Disk')!.cells[5]).toBe(
      'blkio throttle (cgroup v1): hard caps 160:40 IOPS',
    );
    expect(v.notes.join(' ')).toMatch(/hard throttles, not weights/);
    // The generic relative-mean bar gives way to these charts.
    expect(buildModel(r).categories.find((c) => c.id === 'partition')!.chart).toBeNull();
  });

  it('memory gradient: one line per backend, the end marked, cliff vs gradient read from the data', () => {
    const v = iso(r, 'memory-gradient')!;
    const chart = v.charts[0] as LineChartSpec;
    expect(chart.series).toHaveLength(3);
    const vm = chart.series.find((s) => s.label.startsWith('vm:q35-tcg'))!;
    expect(vm.label).toContain('guest OOM at 75%');
    expect(vm.crosses?.at(-1)).toBe(true);
    expect(vm.points.at(-1)).toEqual({ x: 75, y: 0 });
    expect(chart.series.find((s) => s.label.startsWith('native'))!.marks?.at(-1)).toBe('native: OOM-killed at 100%');
    expect(v.findings[0]).toMatch(/A cliff, not a gradient/);
    expect(v.findings.join(' ')).toMatch(
      /native: no gradient: flat \(−8(\.\d)?% over 25% → 75%\), then OOM-killed at 100%/,
    );
  });

  it('reads a gradient when throughput falls before the end', () => {
    expect(
      gradientReading(
        [
          { pct: 25, mibPerS: 100 },
          { pct: 75, mibPerS: 60 },
        ],
        'OOM-killed at 100%',
      ),
    ).toMatch(/^a gradient: throughput fell 40%/);
    expect(
      gradientReading(
        [
          { pct: 25, mibPerS: 100 },
          { pct: 75, mibPerS: 95 },
        ],
        'OOM-killed at 100%',
      ),
    ).toMatch(/^no gradient: flat/);
    expect(slope([0, 1, 2], [0, 230, 460])).toBeCloseTo(230);
  });

  it('density: MemAvailable delta and PSS lines with the slope in the legend, stop reason and KSM', () => {
    const v = iso(r, 'density')!;
    const chart = v.charts[0] as LineChartSpec;
    expect(chart.series.map((s) => s.label)).toContain('vm:q35-tcg summed PSS (+230 MiB/instance)');
    expect(chart.series.map((s) => s.label)).toContain('vm:q35-tcg MemAvailable Δ (+232 MiB/instance)');
    const row = v.tables[0]!.rows.find((x) => x.backend === 'vm:q35-tcg')!;
    expect(row.cells.join(' | ')).toMatch(/budget: summed PSS 900 MiB of 4 instances exceeds the 768 MiB budget/);
    expect(v.findings.join('\n')).toMatch(/vm:q35-tcg: .*in a 768 MiB budget: 3 \(measured/);
    expect(v.findings.join('\n')).toMatch(
      /container:runc: .*not reached: projected \d+.*stopped at cap 4 \(the scenario's bound, not a result\)/,
    );
    expect(row.cells.join(' | ')).toMatch(/off; 4 MiB still merged from earlier/);
  });

  it('noisy neighbour: per resource, the part of the victim alone kept beside the unrestrained and each held neighbour', () => {
    const v = iso(r, 'noisy-neighbor')!;
    expect(v.charts.map((c) => c.id)).toEqual([
      'chart-noisy-neighbor-cpu',
      'chart-noisy-neighbor-memory',
      'chart-noisy-neighbor-disk',
      'chart-noisy-neighbor-network',
    ]);
    const disk = v.charts[2]!;
    if (disk.type !== 'bar') throw new Error('bar expected');
    expect(disk.labels).toEqual(['native', 'container:runc', 'vm:q35-tcg']);
    expect(disk.series.map((s) => s.label)).toEqual([
      'unrestrained neighbour',
      'held by bfq io weight (soft)',
      'held by IOPS throttle (hard)',
    ]);
    expect(disk.series[0]!.labelsAbove).toEqual(['90%', '90%', '30%']);
    expect(disk.series[1]!.labelsAbove).toEqual(['95%', '95%', '65%']);
    const cfg = chartConfig(disk) as { data: { datasets: { isobenchLabels?: unknown }[] } };
    expect(cfg.data.datasets[0]!.isobenchLabels).toEqual(['90%', '90%', '30%']);
    // Memory bandwidth has no mechanism of its own: said plainly.
    expect(v.notes.join('\n')).toMatch(/memory bandwidth: none/);
    expect(v.findings.join('\n')).toMatch(
      /Disk, vm:q35-tcg: beside an unrestrained neighbour the victim keeps 30%; IOPS throttle \(hard\) protects the most \(77%\)/,
    );
  });

  it('renders in HTML (escaped), Markdown and one PNG per chart', async () => {
    const html = renderHtml(r, { rawBase: './' });
    expect(html).toContain('id="chart-partition-cpu-share"');
    expect(html).toContain('id="partition-shares"');
    expect(html).not.toContain(HOSTILE); // the mechanism reason carries one: escaped
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const md = renderMarkdown(r);
    const sec = md.split('## Isolation')[1]!.split('\n## ')[0]!;
    expect(sec).toMatch(/### Partitioning over time/);
    expect(sec).toMatch(/\| CPU \| vm:q35-tcg \| 80% \| 79\.40% \| −0\.60 pp \|/);
    expect(sec).toMatch(/OOM-killed at 100%/);
    expect(sec).not.toContain('<script>');
    const pngs = (await renderPngs(r)).map((p) => p.name);
    for (const n of [
      'partition-cpu-share.png',
      'partition-net-cap.png',
      'memory-gradient-curve.png',
      'density-memory.png',
      'noisy-neighbor-disk.png',
    ])
      expect(pngs).toContain(n);
  });
});

describe('malformed extra', () => {
  function withExtra(workload: string, extra: unknown): RunResults {
    const r = load('isolation.json');
    for (const c of r.cells)
      if (c.workload === workload && c.backend === 'container:runc') (c as { extra?: unknown }).extra = extra;
    return r;
  }

  it('skips malformed entries with a note and keeps the good backends', () => {
    const r = withExtra('partition', {
      'cpu-share': [{ repetition: 1, data: { series: 'nope', achievedPct: '80' } }],
      'disk-cap': 'not a list',
      'net-share': [null, 42],
    });
    const v = iso(r, 'partition')!;
    // The note names the first field the workload's extra schema refused (src/workloads/extras/partition.ts).
    expect(v.skipped.join('\n')).toMatch(
      /container:runc: extra "cpu-share" skipped \(repetition 1: targetPct: .*expected number/,
    );
    expect(v.skipped.join('\n')).toMatch(/container:runc: extra "disk-cap" skipped/);
    expect(v.skipped.join('\n')).toMatch(/container:runc: extra "net-share" skipped \(2 entries/);
    const cpu = v.charts.find((c) => c.id === 'chart-partition-cpu-share') as LineChartSpec;
    expect(cpu.series.map((s) => s.label)).toEqual(['native', 'vm:q35-tcg', 'target 80%']);
    expect(renderHtml(r, { rawBase: './' })).toContain('id="skipped-partition"');
  });

  it('never crashes on odd shapes in any category, and escapes hostile keys and units', async () => {
    const odd: unknown[] = [
      null,
      7,
      'x',
      [],
      {},
      [{ repetition: 'a', data: [] }],
      { 'memory-gradient': [{ data: { steps: [{ pct: 'x' }] } }] },
      { density: [{ data: { levels: [{ instances: 1 }] } }] },
    ];
    for (const extra of odd) {
      for (const w of ['partition', 'memory-gradient', 'density', 'noisy-neighbor']) {
        const r = withExtra(w, extra);
        expect(() => buildModel(r)).not.toThrow();
        expect(() => renderMarkdown(r)).not.toThrow();
      }
    }
    const r = withExtra('noisy-neighbor', {
      [`neighbor-${HOSTILE}`]: [{ repetition: 1, data: { unit: HOSTILE, alone: 10, withNeighbor: 5 } }],
    });
    const html = renderHtml(r, { rawBase: './' });
    expect(html).not.toContain(HOSTILE);
    const v = iso(r, 'noisy-neighbor')!;
    expect(v.charts.some((c) => c.title.includes(HOSTILE))).toBe(true); // text in the chart JSON, escaped by jsonForScript
    await expect(renderPngs(r)).resolves.toBeDefined();
  });

  it('a run without extra has no isolation view', () => {
    expect(buildModel(load('run-a.json')).categories.every((c) => c.isolation === null)).toBe(true);
  });
});
