/**
 * compare on three real quick.yaml runs of this host (one after the other, 2026-12-07): an A/A pair, and a
 * third run with every runc container under a 90% CPU limit (the planted regression of issue 23).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { compareRuns, gatedRows, regressions } from '../../../src/report/compare.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';
import '../../../src/workloads/index.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;
const aa1 = load('s5-aa-1.json');
const aa2 = load('s5-aa-2.json');
const planted = load('s5-planted.json');

describe('compare on an A/A pair and a planted CPU limit', () => {
  it('the A/A pair reads no row regressed or improved, and no gate fails', () => {
    const c = compareRuns(aa1, aa2);
    expect(c.entries.filter((e) => e.verdict === 'overhead' || e.verdict === 'better')).toEqual([]);
    for (const pct of [3, 10]) {
      expect(regressions(c, pct)).toEqual([]);
      expect(regressions(c, pct, 'all')).toEqual([]);
    }
  });

  it('the VM row whose overhead moved only because native did is set aside, with the reason', () => {
    // Native's random-access rate moved ~30% between the runs; the TCG VM's did not, so its overhead "moved".
    const e = compareRuns(aa1, aa2).entries.find((x) => x.backend === 'vm:q35-tcg' && x.metric === 'rnd-access-mops');
    expect(e?.nativeMovedAlone).toBe('overhead');
    expect(e?.verdict).toBe('inconclusive');
  });

  it('the headline gate holds one row per backend and category; --gate all holds every row', () => {
    const c = compareRuns(aa2, planted);
    const headline = gatedRows(c);
    expect(headline.map((e) => `${e.backend} ${e.metric}`)).toContain('container:runc sysbench-events-1t');
    expect(new Set(headline.map((e) => `${e.backend} ${e.workload}`)).size).toBe(headline.length);
    expect(gatedRows(c, 'all').length).toBeGreaterThan(3 * headline.length);
  });

  it('the planted 90% CPU limit fails --fail-on-regression 3 on the headline CPU figure', () => {
    const c = compareRuns(aa2, planted);
    expect(regressions(c, 3).map((e) => `${e.backend} ${e.metric}`)).toEqual(['container:runc sysbench-events-1t']);
    // The gate's margin costs power: at 10% (the size of the limit itself) it cannot tell; over every row the
    // family is too large for n=3 pairs a run (docs/statistics.md).
    expect(regressions(c, 10)).toEqual([]);
    expect(regressions(c, 3, 'all')).toEqual([]);
  });
});
