/**
 * The headline tells each category in its own terms, is computed once and
 * stored in results.json, and the renderers print the stored figures.
 * Read on a real quick run (native vs runc, test/fixtures/results/aa-quick-2.json;
 * its measured values as recorded, its derived blocks refreshed with this estimator).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/results/types.js';
import { computeHeadline } from '../../src/report/headline.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderHtml } from '../../src/report/html.js';
import { FIXTURE_DIR } from '../helpers/fake-results.js';

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

  it('the memory gradient as where it broke and how', () => {
    expect(ct('memory-gradient').value).toBe('OOM-killed at 100% of the limit');
    expect(ct('memory-gradient').detail).toMatch(/last completed step 75%; throughput −19\.2% from the first to the last completed step/);
    expect(row('memory-gradient').baseline).toMatch(/^native \(plain processes\): OOM-killed at 100% of the limit/);
  });

  it("noisy neighbour as the victim's degradation, with native (no isolation) beside it", () => {
    expect(ct('noisy-neighbor').value).toBe('victim cpu −15.7% with a neighbour');
    expect(ct('noisy-neighbor').detail).toMatch(/cpu 15\.7%, memory 10\.3%, disk -4\.78%, network 5\.08%/);
    expect(row('noisy-neighbor').baseline).toMatch(/native \(plain processes\): victim cpu \+0\.813% with a neighbour/);
  });

  it('never says "same as native" and every inconclusive cell says what would decide it', () => {
    for (const r of run.headline) {
      for (const e of r.entries) {
        expect(e.value).not.toMatch(/same as native/i);
        if (e.verdict === 'inconclusive') expect(e.detail).toMatch(/repetitions per side would|flagged outlier/);
        if (r.kind !== 'isolation' && e.verdict) expect(e.detail).toMatch(/smallest detectable/);
      }
    }
  });

  it('Markdown and HTML print the stored figures', () => {
    const md = renderMarkdown(run);
    const html = renderHtml(run, { rawBase: './' });
    for (const cat of ['partition', 'memory-gradient', 'noisy-neighbor', 'cpu']) {
      expect(md).toContain(ct(cat).value.replace(/_/g, '\\_'));
      expect(html).toContain(ct(cat).value);
    }
  });
});
