import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/results/types.js';
import { bootstrapRatioCi, compareRuns, regressions, renderCompareHtml, renderCompareMarkdown, verdictFor, type Comparison } from '../../src/report/compare.js';
import { FIXTURE_DIR, fakeResults } from '../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;
const find = (cmp: Comparison, backend: string, workload: string, metric: string) => {
  const e = cmp.entries.find((x) => x.backend === backend && x.workload === workload && x.metric === metric);
  if (!e) throw new Error(`no entry ${backend} ${workload} ${metric}`);
  return e;
};

describe('compareRuns on recorded result files', () => {
  const a = load('run-a.json');
  const b = load('run-b.json');
  const cmp = compareRuns(a, b);

  it('flags the planted 20% throughput regression', () => {
    const e = find(cmp, 'container:runc', 'cpu', 'events_per_s');
    expect(e.verdict).toBe('regressed');
    expect(e.changePct!).toBeGreaterThan(-25);
    expect(e.changePct!).toBeLessThan(-15);
    expect(e.changePctCi95![1]).toBeLessThan(0);
  });

  it('calls the planted 1% change within noise', () => {
    const e = find(cmp, 'native', 'memory', 'bandwidth');
    expect(Math.abs(e.changePct!)).toBeLessThan(3);
    expect(e.verdict).toBe('within-noise');
  });

  it('calls a 25% lower start-up time improved (lower is better)', () => {
    const e = find(cmp, 'vm:q35-tcg', 'startup', 'ready-ms');
    expect(e.changePct!).toBeLessThan(-15);
    expect(e.verdict).toBe('improved');
  });

  it('is deterministic', () => {
    expect(compareRuns(a, b)).toEqual(cmp);
  });

  it('regressions() applies the --fail-on-regression threshold', () => {
    expect(regressions(cmp, 10).map((e) => `${e.backend}/${e.workload}/${e.metric}`)).toEqual(['container:runc/cpu/events_per_s']);
    expect(regressions(cmp, 30)).toEqual([]);
  });

  it('compares a run with itself as all within noise', () => {
    const self = compareRuns(a, a);
    expect(self.entries.every((e) => e.verdict === 'within-noise')).toBe(true);
    expect(regressions(self, 0)).toEqual([]);
  });

  it('renders Markdown and escaped, self-contained HTML', () => {
    const md = renderCompareMarkdown(cmp);
    expect(md).toMatch(/\*\*1 regressed\*\*/);
    expect(md).toMatch(/events\\_per\\_s.*\*\*REGRESSED\*\*/);
    const hostile = fakeResults({ runId: 'x<script>alert(1)</script>', seed: 4 });
    const html = renderCompareHtml(compareRuns(a, hostile));
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('x&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});

describe('verdicts and bootstrap', () => {
  it('takes the metric direction into account', () => {
    expect(verdictFor(-20, [-25, -15], true, 2)).toBe('regressed');
    expect(verdictFor(-20, [-25, -15], false, 2)).toBe('improved');
    expect(verdictFor(20, [15, 25], false, 2)).toBe('regressed');
    expect(verdictFor(1.5, [1, 2], true, 2)).toBe('within-noise');
    expect(verdictFor(8, [-1, 15], true, 2)).toBe('within-noise');
  });

  it('bootstraps a CI of the ratio that contains the true ratio', () => {
    const a = [100, 101, 99, 100.5, 99.5, 100.2];
    const b = a.map((x) => x * 1.2);
    const [lo, hi] = bootstrapRatioCi(a, b, { seed: 7 });
    expect(lo).toBeLessThanOrEqual(1.2);
    expect(hi).toBeGreaterThanOrEqual(1.2);
    expect(hi - lo).toBeLessThan(0.05);
  });

  it('says insufficient data with a single value and marks one-sided metrics', () => {
    const a = load('run-a.json');
    const b = structuredClone(a);
    const cell = b.cells.find((c) => c.backend === 'native' && c.workload === 'cpu')!;
    cell.metrics[0]!.values = [1000];
    cell.metrics.push({ metric: 'new_metric', unit: 'x', higherIsBetter: true, values: [1, 2, 3], repetitions: [1, 2, 3], rawLogs: [], summary: null });
    const cmp = compareRuns(a, b);
    expect(find(cmp, 'native', 'cpu', 'events_per_s').verdict).toBe('insufficient-data');
    expect(find(cmp, 'native', 'cpu', 'new_metric').verdict).toBe('only-in-b');
  });
});
