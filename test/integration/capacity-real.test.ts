/**
 * Capacity on a real run made here: the numbers `isobench capacity` prints trace
 * back to the run's own measured figures (overhead ratios with their CIs, footprint
 * summaries, raw logs), and the report shows the capacity section.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench } from '../helpers/cli.js';
import { checkTrace } from '../helpers/capacity-trace.js';
import { planCapacity } from '../../src/capacity/index.js';
import { loadResultsFile } from '../../src/results/io.js';

let root: string;
let env: Record<string, string>;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ib-capacity-'));
  env = { ISOBENCH_RESULTS: path.join(root, 'results'), ISOBENCH_REPORTS: path.join(root, 'reports') };
  const r = await isobench(['run', 'test/fixtures/scenarios/capacity-short.yaml', '--run-id', 'cap'], env);
  if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('capacity from a real run', () => {
  it('every figure traces back to the run', async () => {
    const run = await loadResultsFile(path.join(root, 'results', 'cap', 'results.json'));
    const plan = planCapacity(run, {
      host: { cores: 64, memoryGiB: 256, name: 'h', source: 'test' },
      instance: { vcpus: 2, memoryMiB: 2048 },
    });
    const seen = checkTrace(plan, run);
    expect(seen.some((s) => s.kind === 'measured' && s.backend === 'container:runc')).toBe(true);
    for (const s of seen)
      if (s.kind === 'measured')
        for (const log of s.rawLogs ?? []) expect(existsSync(path.join(root, 'results', 'cap', log))).toBe(true);
  });
  it('the CLI prints the plan (text and JSON) citing the run', async () => {
    const t = await isobench(
      [
        'capacity',
        '--run',
        'cap',
        '--host',
        'cores=64,memoryGiB=256',
        '--instance',
        'vcpus=2,memoryMiB=2048',
        '--target',
        '100',
      ],
      env,
    );
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('container:runc');
    expect(t.stdout).toContain('run cap');
    const j = await isobench(
      [
        'capacity',
        '--run',
        'cap',
        '--host',
        'cores=64,memoryGiB=256',
        '--instance',
        'vcpus=2,memoryMiB=2048',
        '--json',
      ],
      env,
    );
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toBeTruthy();
  });
  it('bad specs are bad input', async () => {
    const r = await isobench(
      ['capacity', '--run', 'cap', '--host', 'cores=-1', '--instance', 'vcpus=2,memoryMiB=2048'],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('the report has the capacity section and chart', () => {
    const html = readFileSync(path.join(root, 'reports', 'cap', 'index.html'), 'utf8');
    expect(html).toMatch(/Capacity/);
    expect(existsSync(path.join(root, 'reports', 'cap', 'capacity.png'))).toBe(true);
  });
});
