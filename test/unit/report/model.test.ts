import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { escapeHtml, jsonForScript, rawHref, renderHtml } from '../../../src/report/html.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { buildModel, costFactor, fmtNum } from '../../../src/report/model.js';
import { renderPngs } from '../../../src/report/png.js';
import { FIXTURE_DIR, HOSTILE } from '../../helpers/fake-results.js';
import { recomputeDerived } from '../../../src/report/derive.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

describe('report model', () => {
  it('orders columns native first and categories in the fixed order', () => {
    const m = buildModel(load('run-a.json'));
    expect(m.columns.map((c) => c.label)).toEqual(['native', 'container:runc', 'vm:q35-tcg']);
    expect(m.compared.map((c) => c.label)).toEqual(['container:runc', 'vm:q35-tcg']);
    expect(m.emulated.map((c) => c.label)).toEqual(['vm:q35-tcg']);
    expect(m.categories.map((c) => c.id)).toEqual(['cpu', 'memory', 'disk', 'network', 'startup', 'footprint']);
    expect(m.categories.find((c) => c.id === 'startup')!.distributions.map((d) => d.id)).toEqual([
      'cdf-startup-ready-ms',
    ]);
    expect(m.headline.find((r) => r.category === 'cpu')!.metric).toBe('events_per_s');
  });

  it('expresses a throughput slowdown as a cost factor > 1', () => {
    const m = buildModel(load('run-a.json'));
    const o = m.headline.find((r) => r.category === 'cpu')!.entries.find((e) => e.backend === 'vm:q35-tcg')!.overhead!;
    const f = costFactor(o);
    expect(f.value).toBeGreaterThan(5);
    expect(f.ci[0]).toBeLessThanOrEqual(f.value);
    expect(f.ci[1]).toBeGreaterThanOrEqual(f.value);
  });

  it('renders unknown workloads and backends that are not in backends[]', () => {
    const r = load('run-a.json');
    r.cells.push({
      backend: 'container:runsc',
      workload: 'noisy-neighbor',
      state: 'complete',
      metrics: [
        {
          metric: 'victim_p99',
          unit: 'ms',
          higherIsBetter: false,
          values: [3, 4, 5],
          repetitions: [1, 2, 3],
          rawLogs: ['raw/a', 'raw/b', 'raw/c'],
          summary: null,
        },
      ],
    });
    r.cells.push({
      backend: 'native',
      workload: 'zz-custom',
      state: 'skipped',
      reason: 'not on this host',
      metrics: [],
    });
    const m = buildModel(r);
    expect(m.columns.map((c) => c.label)).toContain('container:runsc');
    expect(m.categories.map((c) => c.id).slice(-2)).toEqual(['noisy-neighbor', 'zz-custom']);
    expect(renderHtml(r, { rawBase: '' })).toContain('zz-custom');
  });

  it('formats numbers compactly', () => {
    expect(fmtNum(1234567)).toBe('1,234,567');
    expect(fmtNum(12.345)).toBe('12.3');
    expect(fmtNum(0.0012345)).toBe('0.00123');
    expect(fmtNum(Number.NaN)).toBe('—');
  });
});

describe('HTML safety', () => {
  it('escapes text and keeps embedded JSON inside its script element', () => {
    expect(escapeHtml(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
    const j = jsonForScript({ s: '</script><script>alert(1)</script>', t: '\u2028' });
    expect(j).not.toMatch(/<|>|\u2028/);
    expect(JSON.parse(j)).toEqual({ s: '</script><script>alert(1)</script>', t: '\u2028' });
  });

  it('never lets a raw log path become a script URL', () => {
    expect(rawHref('', 'javascript:alert(1)')).toBe('./javascript:alert(1)');
    expect(rawHref('../../results/x/', 'raw/a b#1.log')).toBe('../../results/x/raw/a%20b%231.log');
  });

  it('has no unescaped hostile string and no external resource', () => {
    const r = load('run-a.json');
    r.scenario = { name: `</script><img src=x onerror=alert(1)> ${HOSTILE}` };
    const html = renderHtml(r, { rawBase: '../../results/r/' });
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain(HOSTILE);
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(http/);
  });
});

describe('renderers on edge-case results', () => {
  const empty = (): RunResults => ({
    ...load('run-a.json'),
    status: 'failed',
    statusReason: 'preflight: qemu missing',
    cells: [],
    overheads: [],
    warnings: [],
    backends: [],
  });

  it('a failed run with no cells renders everywhere', async () => {
    const r = empty();
    expect(renderHtml(r, { rawBase: '' })).toContain('This run is failed');
    expect(renderMarkdown(r)).toContain('This run is FAILED');
    expect(await renderPngs(r)).toEqual([]);
  });

  it('a run without a native baseline renders with no overheads', async () => {
    const r = load('run-a.json');
    r.backends = r.backends.filter((b) => b.kind !== 'native');
    r.cells = r.cells.filter((c) => c.backend !== 'native');
    r.overheads = [];
    // What the runner would have stored for such a run: no comparisons, no headline.
    Object.assign(r, recomputeDerived(r));
    const m = buildModel(r);
    expect(m.headline).toEqual([]);
    expect(m.categories[0]!.chart!.title).toContain('container:runc');
    expect(renderMarkdown(r)).toContain('No overheads were computed');
    const pngs = await renderPngs(r);
    expect(pngs.map((p) => p.name)).not.toContain('summary.png');
    expect(pngs.length).toBeGreaterThan(5);
  });
});
