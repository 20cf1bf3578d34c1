/**
 * The headline tells each category in its own terms, is computed once and
 * stored in results.json, and the renderers print the stored figures.
 * Read on a real quick run (native vs runc, test/fixtures/results/aa-quick-2.json;
 * its measured values as recorded, its derived blocks refreshed with this estimator).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { computeHeadline } from '../../../src/report/headline.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

describe('headline on a real quick run', () => {
  const run = load('aa-quick-2.json');
  const row = (cat: string) => run.headline.find((r) => r.category === cat)!;
  const ct = (cat: string) => row(cat).entries.find((e) => e.backend === 'container:runc')!;

  it('is stored in results.json as the runner computed it, and recomputes to the same rows', () => {
    expect(run.schemaVersion).toBe(2);
    expect(run.headline.length).toBeGreaterThanOrEqual(9);
    expect(computeHeadline(run)).toEqual(run.headline);
  });

  it('footprint and density by PSS, as differences in MiB', () => {
    expect(row('footprint')).toMatchObject({ kind: 'absolute', metric: 'pss-mib' });
    expect(row('density')).toMatchObject({ kind: 'absolute', metric: 'marginal-pss-mib' });
    // Native reports no PSS for its idle process: counted as 0, and said so; no verdict without a native figure.
    expect(ct('footprint').value).toBe('+0.653 MiB per idle instance');
    expect(ct('footprint').detail).toMatch(/native reports no pss-mib: taken as 0/);
    expect(ct('footprint').verdict).toBeNull();
    // One repetition of density: the figure, no interval, no verdict.
    expect(ct('density').value).toBe('+0.372 MiB per extra instance');
    expect(ct('density').detail).toMatch(/n=1\/1: no interval, no verdict/);
  });

  it('partitioning as share achieved vs target (pp error) and cap error, not as a ratio to native', () => {
    expect(row('partition').kind).toBe('isolation');
    expect(ct('partition').value).toBe('CPU share off target by 0.171 pp');
    expect(ct('partition').detail).toMatch(/network: share 73\.9% vs 80% target, error 6\.06 pp, cap error -5\.66 %/);
    expect(ct('partition').detail).toMatch(/CPU: share 80\.2% vs 80% target, error 0\.171 pp, cap error \+18\.1 pp/);
    // One repetition: the figure without a verdict it cannot support.
    expect(ct('partition').verdict).toBeNull();
  });

  it('an old run without the gradient control says where it broke, and claims no shape', () => {
    expect(ct('memory-gradient').value).toBe('OOM-killed at 100% of the limit');
    expect(ct('memory-gradient').value).not.toMatch(/gradient|cliff/);
  });

  it('never says "same as native" and every inconclusive cell says what would decide it', () => {
    for (const r of run.headline) {
      for (const e of r.entries) {
        expect(e.value).not.toMatch(/same as native/i);
        if (e.verdict === 'inconclusive')
          expect(e.detail).toMatch(/repetitions per side would|pairs \(spread|flagged outlier/);
        if (r.kind !== 'isolation' && e.verdict) expect(e.detail).toMatch(/smallest detectable/);
      }
    }
  });

  it('Markdown and HTML print the stored figures', () => {
    const md = renderMarkdown(run);
    const html = renderHtml(run, { rawBase: './' });
    for (const cat of ['partition', 'memory-gradient', 'cpu']) {
      expect(ct(cat).value).not.toBe('');
      expect(md).toContain(ct(cat).value.replace(/_/g, '\\_'));
      expect(html).toContain(ct(cat).value);
    }
  });
});

describe('isolation rows in their own terms (metrics of the current workloads)', () => {
  const base = load('aa-quick-2.json');
  const m = (metric: string, values: number[]) => ({
    metric,
    unit: '%',
    higherIsBetter: true,
    values,
    repetitions: values.map((_, i) => i + 1),
    rawLogs: values.map(() => 'raw/x.log'),
    summary: null,
  });
  const withCell = (workload: string, metrics: ReturnType<typeof m>[]): RunResults => ({
    ...base,
    cells: [
      ...base.cells.filter((c) => !(c.backend === 'container:runc' && c.workload === workload)),
      { backend: 'container:runc', workload, state: 'complete', metrics },
    ],
  });
  const entry = (r: RunResults, cat: string) =>
    computeHeadline(r)
      .find((x) => x.category === cat)!
      .entries.find((e) => e.backend === 'container:runc')!;

  it('a failed cell shows the first line of its error, cut short (a VM error carries its console log)', () => {
    const console = `${'x'.repeat(300)}\n[ 4.0] Kernel panic`;
    const r: RunResults = {
      ...base,
      cells: [
        ...base.cells.filter((c) => !(c.backend === 'container:runc' && c.workload === 'memory-gradient')),
        {
          backend: 'container:runc',
          workload: 'memory-gradient',
          state: 'failed',
          stage: 'start',
          error: console,
          metrics: [],
        },
      ],
    } as RunResults;
    const e = entry(r, 'memory-gradient');
    expect(e.state).toBe('failed');
    expect(e.stateReason).toMatch(/^start: x+… \(the whole error is in the section below\)$/);
    expect(e.stateReason!.length).toBeLessThan(320);
    expect(e.stateReason).not.toContain('Kernel panic');
  });

  it('the memory gradient: gradient or cliff from limited/unlimited, and where it broke', () => {
    const grad = entry(
      withCell('memory-gradient', [
        m('min-ratio-pct', [72, 76]),
        m('oom-at-pct', [150, 150]),
        m('last-ok-pct', [125, 125]),
      ]),
      'memory-gradient',
    );
    expect(grad.value).toBe('a gradient: lowest limited/unlimited 74%, OOM-killed at 150% of the limit');
    const cliff = entry(
      withCell('memory-gradient', [m('min-ratio-pct', [98, 101]), m('oom-at-pct', [125, 125])]),
      'memory-gradient',
    );
    expect(cliff.value).toMatch(/^a cliff: lowest limited\/unlimited 99\.5%, OOM-killed at 125% of the limit$/);
  });

  it("noisy neighbour: the victim's figure kept, unrestrained and held by each mechanism", () => {
    const e = entry(
      withCell('noisy-neighbor', [
        m('cpu-kept-pct-unrestrained', [50, 52]),
        m('cpu-kept-pct-cpu-weight', [90, 92]),
        m('cpu-kept-pct-cpu-cap', [80, 78]),
      ]),
      'noisy-neighbor',
    );
    expect(e.value).toBe('victim cpu keeps 51% beside an unrestrained neighbour');
    expect(e.detail).toBe('cpu: 51% unrestrained, 91% held by cpu-weight, 79% held by cpu-cap');
  });
});
