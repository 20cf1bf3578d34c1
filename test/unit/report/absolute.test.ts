/**
 * What the report says about a backend vs native: absolute differences for
 * per-instance costs (native ~0), direction-aware words for ratios, a clamped
 * headline axis, grouped warnings and the capacity section's inputs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Overhead, RunResults } from '../../../src/results/types.js';
import { differenceOfMeans } from '../../../src/stats/index.js';
import {
  buildModel,
  fmtOverheadValue,
  fmtOverheadCi,
  groupWarnings,
  valueRange,
  type BarSeries,
} from '../../../src/report/model.js';
import { renderHtml } from '../../../src/report/html.js';
import { loadCapacityHost } from '../../../src/report/write.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';
import { withComparisons } from '../../../src/report/derive.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

const ov = (p: Partial<Overhead>): Overhead => ({
  backend: 'vm',
  workload: 'cpu',
  metric: 'm',
  unit: 'events/s',
  higherIsBetter: true,
  ratio: 1,
  ratioCi95: [0.9, 1.1],
  overheadPct: 0,
  overheadPctCi95: [-10, 10],
  verdict: 'inconclusive',
  thresholdPct: 3,
  detectablePct: 5,
  repetitionsNeeded: 12,
  n: [3, 3],
  ...p,
});

describe('differenceOfMeans (Welch)', () => {
  it('matches a hand-worked Welch interval', () => {
    // a: mean 10, var 1, n 3; b: mean 20, var 4, n 3 → se² = 1/3 + 4/3, df = (5/3)² / ((1/9 + 16/9)/2) = 2.941
    const d = differenceOfMeans([9, 10, 11], [18, 20, 22])!;
    expect(d.diff).toBeCloseTo(10, 10);
    expect(d.df).toBeCloseTo(2.941, 2);
    const half = d.ci95[1] - d.diff;
    expect(half).toBeGreaterThan(4.1); // t(2.94) ≈ 3.22, × √(5/3) ≈ 4.16
    expect(half).toBeLessThan(4.2);
    expect(d.ci95[0]).toBeCloseTo(d.diff - half, 10);
  });

  it('works against a zero baseline, and is unbounded with one value', () => {
    expect(differenceOfMeans([0, 0, 0], [240, 241, 242])!.ci95[0]).toBeGreaterThan(235);
    expect(differenceOfMeans([0, 0, 0], [5, 5, 5])!.ci95).toEqual([5, 5]);
    expect(differenceOfMeans([1], [2, 3])!.ci95).toEqual([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(differenceOfMeans([], [1])).toBeNull();
  });
});

describe('comparison wording', () => {
  it('says a throughput at a tenth of native is slower, never "9.84× native"', () => {
    const o = ov({
      ratio: 0.1016,
      ratioCi95: [0.0343, 0.3011],
      overheadPct: 89.8,
      overheadPctCi95: [69.9, 96.6],
      verdict: 'overhead',
    });
    expect(fmtOverheadValue(o)).toBe('9.8× slower than native');
    expect(fmtOverheadCi(o)).toBe('[3.3×, 29×]');
  });

  it('says a time 21× native is slower, and small costs in percent with a direction', () => {
    expect(
      fmtOverheadValue(
        ov({
          unit: 'ms',
          higherIsBetter: false,
          ratio: 20.7,
          ratioCi95: [14.4, 29.7],
          overheadPct: 1968,
          verdict: 'overhead',
        }),
      ),
    ).toBe('21× native (slower)');
    expect(fmtOverheadValue(ov({ ratio: 0.881, overheadPct: 11.9 }))).toBe('11.9% slower');
    expect(fmtOverheadValue(ov({ ratio: 1.189, overheadPct: -18.9 }))).toBe('18.9% faster');
    expect(fmtOverheadValue(ov({ unit: 'CPU s/GB', higherIsBetter: false, ratio: 1.5, overheadPct: 50 }))).toBe(
      '50.0% worse',
    );
  });

  it('shows footprint as MiB per idle instance vs a 0 MiB native, with pss-mib as the headline', () => {
    const m = buildModel(load('run-a.json'));
    const row = m.headline.find((r) => r.category === 'footprint')!;
    expect(row.metric).toBe('pss-mib');
    expect(row.mode).toBe('absolute');
    const vm = row.entries.find((e) => e.backend === 'vm:q35-tcg')!;
    expect(vm.value).toMatch(/^\+2\d\d MiB per idle instance$/);
    expect(vm.ci).toMatch(/^\[\+\d+, \+\d+\] MiB$/);
    expect(vm.detail).toMatch(/vs 0 MiB native/);
    expect(vm.verdict).toBe('overhead');
    // Every footprint metric compares by difference, even cgroup-mib whose native is not 0.
    const fp = m.categories.find((c) => c.id === 'footprint')!;
    expect(fp.metrics.every((x) => x.mode === 'absolute')).toBe(true);
    expect(fp.chart!.title).toMatch(/mean per backend \(MiB\)/);
    // Start-up reads in seconds once above 1000 ms.
    expect(
      m.headline.find((r) => r.category === 'startup')!.entries.find((e) => e.backend === 'vm:q35-tcg')!.value,
    ).toMatch(/^\+3\.\d+ s to ready$/);
  });

  it('keeps absolute categories out of the cost-factor chart', () => {
    const m = buildModel(load('run-a.json'));
    expect(m.summaryChart!.labels.map((l) => (l as string[])[0])).toEqual(['CPU', 'Memory', 'Disk I/O', 'Network']);
    expect(m.summaryChart!.subtitle).toMatch(/Start-up, Per-instance footprint: absolute costs/);
  });
});

describe('headline axis', () => {
  const series = (values: number[], lo: number[], hi: number[]): BarSeries[] => [
    { label: 'x', colour: '#000', values, lo, hi, text: values.map(() => null) },
  ];

  it('follows the bars, not a CI spanning 10^9, and marks the clipping', () => {
    const r = valueRange(series([1.2, 9.8], [0.0001, 3.3], [200000, 29]), true, 1);
    expect(r.min!).toBeGreaterThan(0.1);
    expect(r.max!).toBeLessThan(100);
    expect(r.clipped).toBe(true);
  });

  it('keeps every whisker when they are near the bars', () => {
    const r = valueRange(series([1.2, 9.8], [0.7, 3.3], [1.8, 29]), true, 1);
    expect(r.min!).toBeLessThan(0.7);
    expect(r.max!).toBeGreaterThan(29);
    expect(r.clipped).toBe(false);
  });

  it('configures hard limits on log charts of the model', () => {
    // The fixture is a version-1 file: upgrade it first, so the edited overhead is the one the model reads.
    const r = withComparisons(load('run-a.json'));
    const o = r.overheads.find((x) => x.backend === 'container:runc' && x.metric === 'events_per_s')!;
    o.ratioCi95 = [0.00001, 100000];
    const m = buildModel(r);
    expect(m.summaryChart!.log).toBe(true);
    expect(m.summaryChart!.min!).toBeGreaterThan(0.01);
    expect(m.summaryChart!.max!).toBeLessThan(200);
    expect(m.summaryChart!.subtitle).toMatch(/clipped/);
  });
});

describe('warnings', () => {
  it('groups many warnings of one code and strips the repeated prefix and tail', () => {
    const ws = Array.from({ length: 6 }, (_, i) => ({
      code: 'NOISY',
      backend: 'native',
      workload: 'cpu',
      message: `native cpu m${i}: CV 1${i}.0% over 3 repetitions: too noisy for a fine-grained verdict; add repetitions`,
    }));
    const g = groupWarnings([{ code: 'HOST_BUSY', message: 'load 3.6' }, ...ws], []);
    expect(g.map((x) => [x.code, x.collapsed])).toEqual([
      ['HOST_BUSY', false],
      ['NOISY', true],
    ]);
    expect(g[1]!.summary).toMatch(/^6 metric × backend figures with a coefficient of variation above 10%/);
    expect(g[1]!.items[0]!.text).toBe('m0: CV 10.0% over 3 repetitions');
  });
});

describe('capacity section', () => {
  it('plans with the host profile passed in and the scenario instance', () => {
    const host = loadCapacityHost()!;
    const m = buildModel(load('run-a.json'), { capacityHost: host });
    expect(m.capacity.status).toBe('ok');
    expect(m.capacity.instance).toEqual({ vcpus: 2, memoryMiB: 512 });
    expect(m.capacity.plan!.backends.map((b) => b.label)).toEqual(['native', 'container:runc', 'vm:q35-tcg']);
    expect(m.capacity.emulated).toEqual(['vm:q35-tcg']);
    expect(m.capacity.chart!.stacked).toBe(true);
    expect(m.capacity.chart!.series.map((s) => s.label)[0]).toMatch(/^binding: /);
    expect(m.capacity.runtimeClassYaml).toContain('overhead:');
    expect(m.capacity.rerun).toBe(
      'isobench capacity --run 20260101-120000-quick --host example-64c-256g --instance vcpus=2,memoryMiB=512 [--target N] [--json]',
    );
  });

  it('renders without I/O when no host is given, saying how to get a plan', () => {
    const html = renderHtml(load('run-a.json'), { rawBase: '' });
    expect(html).toContain('No capacity plan in this report');
    expect(html).toContain('isobench capacity --run 20260101-120000-quick');
    const r = load('run-a.json');
    r.scenario = { name: 'no instance' };
    expect(buildModel(r, { capacityHost: loadCapacityHost()! }).capacity.reason).toMatch(/no instance spec/);
  });
});
