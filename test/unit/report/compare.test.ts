import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import {
  calibrateBetweenRun,
  compareRuns,
  regressions,
  renderCompareHtml,
  renderCompareMarkdown,
  type Comparison,
} from '../../../src/report/compare.js';
import { FIXTURE_DIR, fakeResults } from '../../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;
const find = (cmp: Comparison, backend: string, workload: string, metric: string) => {
  const e = cmp.entries.find((x) => x.backend === backend && x.workload === workload && x.metric === metric);
  if (!e) throw new Error(`no entry ${backend} ${workload} ${metric}`);
  return e;
};

describe('compareRuns on recorded result files (overheads vs native, the default)', () => {
  const a = load('run-a.json');
  const b = load('run-b.json');
  const cmp = compareRuns(a, b);

  it('flags the planted 20% throughput regression of the container as an overhead whose lower bound clears 10%', () => {
    const e = find(cmp, 'container:runc', 'cpu', 'events_per_s');
    expect(e.basis).toBe('overhead');
    expect(e.verdict).toBe('overhead');
    // Throughput at 0.8× of A's (relative to native): cost 1 − 0.8 = +20%.
    expect(e.change!).toBeGreaterThan(15);
    expect(e.change!).toBeLessThan(25);
    expect(e.changeCi95![0]).toBeGreaterThan(10);
  });

  it('a 1% move of native alone is cancelled: the overheads show no practical difference, and native is not a row', () => {
    expect(cmp.entries.some((e) => e.backend === 'native')).toBe(false);
    const e = find(cmp, 'container:runc', 'memory', 'bandwidth');
    expect(Math.abs(e.change!)).toBeLessThan(3);
    expect(['no-practical-difference', 'small-difference', 'inconclusive']).toContain(e.verdict);
  });

  it('a 25% faster VM start-up (compared by difference, lower is better) is better', () => {
    const e = find(cmp, 'vm:q35-tcg', 'startup', 'ready-ms');
    expect(e.mode).toBe('absolute');
    expect(e.change!).toBeLessThan(0);
    expect(e.verdict).toBe('better');
  });

  it('is deterministic', () => {
    expect(compareRuns(a, b)).toEqual(cmp);
  });

  it('regressions() keeps only overhead verdicts whose CI lower bound exceeds the threshold', () => {
    expect(regressions(cmp, 10).map((e) => `${e.backend}/${e.workload}/${e.metric}`)).toEqual([
      'container:runc/cpu/events_per_s',
    ]);
    expect(regressions(cmp, 30)).toEqual([]);
  });

  it('compares a run with itself: no change anywhere (an interval too wide to decide stays inconclusive), no regression at any threshold', () => {
    const self = compareRuns(a, a);
    expect(
      self.entries.every(
        (e) => e.change === 0 && (e.verdict === 'no-practical-difference' || e.verdict === 'inconclusive'),
      ),
    ).toBe(true);
    expect(self.entries.filter((e) => e.verdict === 'no-practical-difference').length).toBeGreaterThanOrEqual(5);
    expect(regressions(self, 0)).toEqual([]);
  });

  it('says how many false flags to expect by chance, and what Holm corrected', () => {
    expect(cmp.multiplicity.metrics).toBeGreaterThan(10);
    expect(cmp.multiplicity.method).toBe('holm');
    expect(cmp.multiplicity.expectedFalseFlags).toBeCloseTo(cmp.multiplicity.metrics * 0.05, 9);
    const md = renderCompareMarkdown(cmp);
    expect(md).toMatch(/would read "regressed" or "improved" by chance alone/);
    expect(md).toMatch(
      /Holm's correction keeps the chance of any such false flag among all \d+ at 5%: \d+ verdict\(s\)/,
    );
    expect(md).toMatch(/Between-run variance: documented per-category defaults/);
  });

  it('renders Markdown and escaped, self-contained HTML, without "within noise"', () => {
    const md = renderCompareMarkdown(cmp);
    expect(md).toMatch(/\*\*1 regressed, /);
    expect(md).toMatch(/events\\_per\\_s.*\*\*REGRESSED \(overhead\)\*\*/);
    expect(md).not.toMatch(/within noise/i);
    const hostile = fakeResults({ runId: 'x<script>alert(1)</script>', seed: 4 });
    const html = renderCompareHtml(compareRuns(a, hostile));
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('x&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/within noise/i);
  });
});

describe('host drift', () => {
  // Run B: the same measurements, but the host got 30% faster at CPU for everyone (native and the container alike).
  const a = fakeResults({ runId: 'drift-a', seed: 11 });
  const b = fakeResults({
    runId: 'drift-b',
    seed: 11,
    scale: (_backend, workload, metric) => (workload === 'cpu' && metric === 'events_per_s' ? 1.3 : 1),
  });

  it('on overheads, a move of native and backend together cancels and is labelled as host drift beside the figure', () => {
    const e = find(compareRuns(a, b), 'container:runc', 'cpu', 'events_per_s');
    expect(['no-practical-difference', 'small-difference']).toContain(e.verdict);
    expect(e.nativeChange!.verdict).toBe('better');
    expect(renderCompareMarkdown(compareRuns(a, b))).toMatch(/native itself moved −?-?\d/);
  });

  it('with --absolute the raw change shows, labelled host drift, and is never a regression', () => {
    const back = compareRuns(b, a, { absolute: true }); // B -> A: everyone 30% slower
    const e = find(back, 'container:runc', 'cpu', 'events_per_s');
    expect(e.basis).toBe('absolute');
    expect(e.verdict).toBe('overhead');
    expect(e.hostDrift).toBe(true);
    expect(find(back, 'native', 'cpu', 'events_per_s').hostDrift).toBe(true);
    expect(regressions(back, 10)).toEqual([]);
  });
});

describe('edge cases', () => {
  it('says insufficient data with a single value and marks one-sided metrics', () => {
    const a = load('run-a.json');
    const b = structuredClone(a);
    const cell = b.cells.find((c) => c.backend === 'container:runc' && c.workload === 'cpu')!;
    cell.metrics[0]!.values = [1000];
    cell.metrics.push({
      metric: 'new_metric',
      unit: 'x',
      higherIsBetter: true,
      values: [1, 2, 3],
      repetitions: [1, 2, 3],
      rawLogs: [],
      summary: null,
    });
    const cmp = compareRuns(a, b);
    expect(find(cmp, 'container:runc', 'cpu', cell.metrics[0]!.metric).verdict).toBe('insufficient-data');
    expect(find(cmp, 'container:runc', 'cpu', 'new_metric').verdict).toBe('only-in-b');
  });
});

describe('between-run variance: a per-host A/A calibration', () => {
  const a = load('run-a.json');
  it('a run compared with itself calibrates every workload to 0; a planted move shows in its workload only', () => {
    const same = calibrateBetweenRun(a, a);
    expect(Object.keys(same)).toEqual(expect.arrayContaining(['cpu', 'memory', 'disk', 'network']));
    for (const v of Object.values(same)) expect(v).toEqual({ overhead: 0, raw: 0 });
    const b = structuredClone(a);
    for (const c of b.cells)
      if (c.backend === 'container:runc' && c.workload === 'cpu')
        for (const m of c.metrics) m.values = m.values.map((v) => v * 1.1);
    const moved = calibrateBetweenRun(a, b);
    // Two cpu figures of the container moved by ln 1.1 (of four cpu figures): tau^2 ~ (2/4 · ln(1.1)^2 − W) / 2.
    expect(moved.cpu!.overhead).toBeGreaterThan(0.03);
    expect(moved.cpu!.overhead).toBeLessThan(Math.log(1.1) / Math.sqrt(2));
    expect(moved.memory!.overhead).toBe(0);
  });
  it('compare says which source its between-run term came from', () => {
    const cal = calibrateBetweenRun(a, a);
    expect(compareRuns(a, load('run-b.json'), { calibration: cal }).betweenRun.source).toBe('calibration');
    expect(compareRuns(a, load('run-b.json')).betweenRun.source).toBe('default');
    expect(renderCompareMarkdown(compareRuns(a, load('run-b.json'), { calibration: cal }))).toMatch(
      /from the per-host A\/A calibration given, for cpu/,
    );
  });
});

describe('A/A: two real quick runs of one build', () => {
  it('no row reads regressed or improved after Holm, in either direction or with --absolute; the correction did work here', () => {
    const one = load('aa-quick-1.json');
    const two = load('aa-quick-2.json');
    let downgraded = 0;
    for (const cmp of [compareRuns(one, two), compareRuns(two, one), compareRuns(one, two, { absolute: true })]) {
      const flagged = cmp.entries.filter((e) => (e.verdict === 'overhead' || e.verdict === 'better') && !e.hostDrift);
      expect(flagged.map((e) => `${e.backend} ${e.metric}`)).toEqual([]);
      expect(regressions(cmp, 0)).toEqual([]);
      downgraded += cmp.multiplicity.downgraded;
    }
    // Uncorrected, some rows of this pair read changed at 95%: Holm is what keeps them from reading so.
    expect(downgraded).toBeGreaterThan(0);
  });
});
