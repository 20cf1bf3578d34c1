import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { rawBaseFor, writeCompareReport, writeFleetCompareReport, writeReport } from '../../../src/report/write.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;
const work = mkdtempSync(path.join(tmpdir(), 'isobench-write-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('writeReport', () => {
  it('computes raw links relative to the report', () => {
    expect(rawBaseFor('/x/reports/r1', '/x/results/r1')).toBe('../../results/r1/');
    expect(rawBaseFor('/x/r1', '/x/r1')).toBe('./');
  });

  it('writes index.html, summary.md and PNGs, replacing an older report whole', async () => {
    const r = load('run-a.json');
    const runDir = path.join(work, 'results', r.runId);
    const reports = path.join(work, 'reports');
    mkdirSync(path.join(reports, r.runId), { recursive: true });
    writeFileSync(path.join(reports, r.runId, 'stale.png'), 'old');

    const out = await writeReport(r, runDir, reports);
    expect(out.dir).toBe(path.join(reports, r.runId));
    expect(out.index).toBe(path.join(out.dir, 'index.html'));
    const files = readdirSync(out.dir);
    expect(files).toContain('index.html');
    expect(files).toContain('summary.md');
    expect(files).toContain('summary.png');
    // The capacity section uses the default host profile (loaded here, not in the renderers).
    expect(files).toContain('capacity.png');
    expect(readFileSync(out.index, 'utf8')).toContain('id="chart-capacity"');
    expect(files).not.toContain('stale.png');
    expect(statSync(out.dir).mode & 0o777).toBe(0o755);
    expect(readFileSync(out.index, 'utf8')).toContain(`href="../../results/${r.runId}/raw/native/cpu/rep1.log"`);
    // No temporary directories are left behind.
    expect(readdirSync(reports)).toEqual([r.runId]);
  });

  it('refuses a run id that is a path', async () => {
    const r = { ...load('run-a.json'), runId: '../evil' };
    await expect(writeReport(r, work, path.join(work, 'reports2'))).rejects.toThrow(/not a plain name/);
    expect(existsSync(path.join(work, 'evil'))).toBe(false);
  });
});

// compare output goes through the same writer as run reports: whole folders, replaced atomically.
describe('writeCompareReport', () => {
  it('writes index.html and compare.md into compare-<A>-vs-<B>, replacing an older comparison whole', async () => {
    const reports = path.join(work, 'reports-cmp');
    mkdirSync(path.join(reports, 'compare-a1-vs-b1'), { recursive: true });
    writeFileSync(path.join(reports, 'compare-a1-vs-b1', 'stale.html'), 'old');
    const out = await writeCompareReport('a1', 'b1', { html: '<p>cmp</p>', markdown: '# cmp' }, reports);
    expect(out.dir).toBe(path.join(reports, 'compare-a1-vs-b1'));
    expect(readdirSync(out.dir).sort()).toEqual(['compare.md', 'index.html']);
    expect(readFileSync(out.index, 'utf8')).toBe('<p>cmp</p>');
    expect(readFileSync(path.join(out.dir, 'compare.md'), 'utf8')).toBe('# cmp');
    expect(readdirSync(reports)).toEqual(['compare-a1-vs-b1']);
    await expect(writeCompareReport('../a', 'b1', { html: '', markdown: '' }, reports)).rejects.toThrow(
      /not a plain name/,
    );
  });

  it('writes a fleet comparison per host and refuses a host name that leaves the folder', async () => {
    const reports = path.join(work, 'reports-fleet-cmp');
    const out = await writeFleetCompareReport(
      'fa',
      'fb',
      [
        { host: 'h1', html: 'one' },
        { host: 'h2', html: 'two' },
      ],
      '# fleet',
      reports,
    );
    expect(readFileSync(path.join(out.dir, 'h2', 'index.html'), 'utf8')).toBe('two');
    expect(readFileSync(path.join(out.dir, 'compare.md'), 'utf8')).toBe('# fleet');
    await expect(writeFleetCompareReport('fa', 'fb', [{ host: '../../x', html: 'bad' }], '', reports)).rejects.toThrow(
      /not inside its folder/,
    );
    // The failed write left the earlier comparison and no temporary folder.
    expect(readdirSync(reports)).toEqual(['compare-fa-vs-fb']);
    expect(existsSync(path.join(work, 'x'))).toBe(false);
  });
});
