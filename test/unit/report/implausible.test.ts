import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';
import { computeHeadline } from '../../../src/report/headline.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

/** run-a with the container's cpu overhead flagged as the plausibility check would flag it. */
function flagged(): RunResults {
  const r = load('run-a.json');
  const o = r.overheads.find((x) => x.backend === 'container:runc' && x.workload === 'cpu')!;
  o.implausible = {
    reason: 'container:runc beats native by 52.0% on a cpu figure',
    hint: 'compare the environment',
    rawLogs: ['raw/x.log'],
  };
  r.cells.find((c) => c.backend === 'container:runc' && c.workload === 'disk')!.metrics[0]!.notes = [
    'not comparable: reads did not reach the device',
  ];
  // The headline is computed once when results are written: recompute it for the planted flag.
  return { ...r, headline: computeHeadline(r) };
}

describe('reports show plausibility flags', () => {
  it('markdown: the flagged overhead reads "implausible" with its reason; metric notes are printed', () => {
    const md = renderMarkdown(flagged());
    expect(md).toMatch(/implausible \(.*kept out of capacity/);
    expect(md).toContain('container:runc beats native by 52.0% on a cpu figure');
    expect(md).toContain('not comparable: reads did not reach the device');
  });
  it('html: a flag badge with the reason', () => {
    const html = renderHtml(flagged(), { rawBase: '' });
    expect(String(html)).toMatch(/⚠ implausible/);
    expect(String(html)).toContain('not comparable: reads did not reach the device');
  });
});
