import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { mdEscape, renderMarkdown } from '../../../src/report/markdown.js';
import { FIXTURE_DIR, METRIC_ROWS } from '../../helpers/fake-results.js';
import { loadCapacityHost } from '../../../src/report/write.js';

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
    for (const t of ['CPU', 'Memory', 'Disk I/O', 'Network', 'Start-up', 'Per-instance footprint'])
      expect(head).toContain(`| ${t} |`);
    expect(head).toMatch(/no practical difference|small difference|inconclusive/);
    expect(head).not.toMatch(/within noise/i);
  });

  it('lists every metric × backend with median, CI and overhead', () => {
    const table = md.split('## Every metric')[1]!.split('##')[0]!;
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Category'));
    // Only backends that report a metric get a row (the VM-only start-up stage has one).
    expect(rows).toHaveLength(METRIC_ROWS);
    expect(table).toContain('| Median | Mean | Mean 95% CI |');
    expect(table).toMatch(/\| native \| [\d,.]+ \| [\d,.]+ \| \[[\d,.]+, [\d,.]+\] \|/);
    expect(table).toContain('baseline');
    // Throughput slowdowns read as slower, never as a bare factor.
    expect(table).toMatch(/events\\_per\\_s .*\| vm:q35-tcg \|.*\d× slower than native \[/);
    expect(table).not.toMatch(/\d× native \[/);
  });

  it('shows footprint and start-up as absolute differences, headlined by pss-mib', () => {
    const head = md.split('## Headline')[1]!.split('## ')[0]!;
    const fp = head.split('\n').find((l) => l.startsWith('| Per-instance footprint |'))!;
    expect(fp).toContain('pss-mib');
    expect(fp).toMatch(/\*\*\+2\d\d MiB per idle instance\*\* \[\+\d+, \+\d+\] MiB/);
    expect(fp).not.toMatch(/×/);
    const st = head.split('\n').find((l) => l.startsWith('| Start-up |'))!;
    expect(st).toMatch(/\+3\.\d+ s to ready/);
    expect(head).toMatch(/add repetitions/);
  });

  it('has a capacity section with its inputs, the rerun command, the TCG caveat and RuntimeClass', () => {
    const host = loadCapacityHost();
    expect(host?.name).toBe('example-64c-256g');
    const withCap = renderMarkdown(load('run-a.json'), { capacityHost: host! });
    const cap = withCap.split('## Capacity')[1]!.split('\n## ')[0]!;
    expect(cap).toContain('example-64c-256g');
    expect(cap).toContain('2 vCPU, 512 MiB');
    expect(cap).toMatch(
      /isobench capacity --run 20260101-120000-quick --host example-64c-256g --instance vcpus=2,memoryMiB=512/,
    );
    expect(cap).toMatch(/TCG emulation/);
    expect(cap).toContain('kind: RuntimeClass');
    expect(cap).toMatch(/\| vm:q35-tcg \(TCG\) \| \*\*\d+\*\*/);
    // Without a host profile the section says how to get one.
    expect(md.split('## Capacity')[1]).toMatch(/No capacity plan in this report/);
  });

  it('groups the noisy-metric warnings and states the methods', () => {
    const w = md.split('## Warnings')[1]!.split('## Methods')[0]!;
    expect(w).toMatch(/\*\*NOISY\*\* 5 metric × backend figures with a coefficient of variation above 10%/);
    expect(w).toContain('<details>');
    expect(w).not.toMatch(/native native disk/);
    expect(md).toMatch(/## Methods[\s\S]*confidence interval of the MEAN[\s\S]*Welch/);
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
