import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/results/types.js';
import { mdEscape, renderMarkdown } from '../../src/report/markdown.js';
import { FIXTURE_DIR } from '../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

describe('renderMarkdown', () => {
  const md = renderMarkdown(load('run-a.json'));

  it('states the status and warns loudly about TCG', () => {
    expect(md).toContain('**Status:** complete');
    expect(md).toMatch(/VM FIGURES ARE TCG EMULATION/);
    expect(md).toContain('vm:q35-tcg ran under TCG software emulation');
  });

  it('has a headline row per category with both backends', () => {
    const head = md.split('## Headline')[1]!.split('## Every metric')[0]!;
    expect(head).toContain('| Category | Metric | container:runc | vm:q35-tcg |');
    for (const t of ['CPU', 'Memory', 'Disk I/O', 'Network', 'Start-up', 'Per-instance footprint']) expect(head).toContain(`| ${t} |`);
    expect(head).toMatch(/within noise/);
  });

  it('lists every metric × backend with median, CI and overhead', () => {
    const table = md.split('## Every metric')[1]!.split('##')[0]!;
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Category'));
    expect(rows).toHaveLength(11 * 3);
    expect(table).toMatch(/\| native \| [\d,.]+ \| \[[\d,.]+, [\d,.]+\] \|/);
    expect(table).toContain('baseline');
  });

  it('escapes hostile strings and table pipes', () => {
    expect(md).not.toContain('<script>');
    expect(md).toContain('&lt;script&gt;');
    expect(mdEscape('a|b\nc')).toBe('a\\|b c');
  });

  it('reports a partial run and its failed cell', () => {
    const p = renderMarkdown(load('partial.json'));
    expect(p).toContain('This run is PARTIAL');
    expect(p).toMatch(/vm:q35-tcg × disk\*\*: failed: exec: fio exited 1/);
    expect(p).not.toContain('<script>');
  });
});
