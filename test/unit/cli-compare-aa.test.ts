/**
 * compare as CI would run it. The A/A pair is two real quick runs of one build
 * on this machine (scenarios/quick.yaml, --backends native,container, taken
 * one after the other while other work loaded the host): compare must not
 * cry wolf on them. The planted regression is a copy of a recorded run with
 * the container's CPU throughput cut by 15%: compare must fail and name it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunResults } from '../../src/results/types.js';
import { cli } from '../helpers/cli.js';

const FIX = 'test/fixtures/results';

describe('isobench compare: an A/A pair passes, a planted 15% CPU regression fails', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ib-compare-aa-'));
  const env = { ISOBENCH_REPORTS: tmp };
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('two real quick runs of the same build: --fail-on-regression 10 exits 0, in both directions and with --absolute', async () => {
    const a = JSON.parse(readFileSync(path.join(FIX, 'aa-quick-1.json'), 'utf8')) as RunResults;
    const b = JSON.parse(readFileSync(path.join(FIX, 'aa-quick-2.json'), 'utf8')) as RunResults;
    expect(a.rootfsHash).toBe(b.rootfsHash);
    expect(a.runId).not.toBe(b.runId);
    for (const [x, y, extra] of [
      ['aa-quick-1.json', 'aa-quick-2.json', []],
      ['aa-quick-2.json', 'aa-quick-1.json', []],
      ['aa-quick-1.json', 'aa-quick-2.json', ['--absolute']],
    ] as const) {
      const r = await cli(
        ['compare', path.join(FIX, x), path.join(FIX, y), '--fail-on-regression', '10', ...extra],
        env,
      );
      expect(r.stderr, `${x} -> ${y} ${extra.join(' ')}`).not.toMatch(/regression\(s\)/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/by chance alone/);
    }
  });

  it('a copy with the container 15% slower at CPU exits 1 and names the metric', async () => {
    const base = JSON.parse(readFileSync(path.join(FIX, 'run-a.json'), 'utf8')) as RunResults;
    const slow = structuredClone(base);
    slow.runId = `${base.runId}-planted`;
    const cell = slow.cells.find((c) => c.backend === 'container:runc' && c.workload === 'cpu')!;
    const m = cell.metrics.find((x) => x.metric === 'events_per_s')!;
    m.values = m.values.map((v) => v * 0.85);
    const file = path.join(tmp, 'planted.json');
    writeFileSync(file, JSON.stringify(slow));
    const r = await cli(['compare', path.join(FIX, 'run-a.json'), file, '--fail-on-regression', '10'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /1 regression\(s\) worse by more than 10% \(one-sided, Holm-corrected at 2\.5% across the \d+ headline rows\)/,
    );
    expect(r.stderr).toMatch(/container:runc cpu events_per_s: \+1[4-6]\.\d%/);
    // Nothing else fails: the untouched metrics and the VM stay put.
    expect(r.stderr.match(/^ {2}\S/gm)).toHaveLength(1);
  });
});
