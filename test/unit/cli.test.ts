import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench } from '../helpers/cli.js';

describe('isobench CLI', () => {
  it('--help lists every subcommand and the exit codes', async () => {
    const r = await isobench(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['doctor', 'scenarios', 'images', 'run', 'report', 'compare', 'capacity']) expect(r.stdout).toContain(c);
    expect(r.stdout).toMatch(/Exit codes: 0 success, 1 a run or check failed, 2 bad input/);
  });
  it('run --help documents its options', async () => {
    const r = await isobench(['run', '--help']);
    expect(r.code).toBe(0);
    for (const o of ['--backends', '--run-id', '--resume', '--no-report']) expect(r.stdout).toContain(o);
  });
  it('an unknown command or option is bad input (exit 2)', async () => {
    expect((await isobench(['frobnicate'])).code).toBe(2);
    expect((await isobench(['run', '--bogus', 'x.yaml'])).code).toBe(2);
  });
  it('scenarios validate: each bad file gets its own line, exit 2', async () => {
    const r = await isobench([
      'scenarios',
      'validate',
      'test/fixtures/scenarios/bad/typo.yaml',
      'test/fixtures/scenarios/bad/negative-vcpus.yaml',
      'test/fixtures/scenarios/bad/unknown-workload.yaml',
      'test/fixtures/scenarios/bad/invalid-yaml.yaml',
    ]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('typo.yaml:4: instance.vcpu: unknown key');
    expect(lines[1]).toContain('negative-vcpus.yaml:4: instance.vcpus: must be >= 1');
    expect(lines[2]).toContain('unknown-workload.yaml:4: workloads.cpux: unknown workload');
    expect(lines[3]).toContain('invalid-yaml.yaml');
    expect(lines[3]).toContain('invalid YAML');
  });
  it('scenarios validate accepts the shipped scenarios', async () => {
    const r = await isobench(['scenarios', 'validate', 'scenarios/quick.yaml', 'scenarios/full.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  it('report and compare on a missing run are bad input with one line', async () => {
    const r = await isobench(['report', 'no-such-run']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no run "no-such-run"/);
  });
  it('capacity without its required options is bad input', async () => {
    const r = await isobench(['capacity', '--host', 'cores=4,memoryGiB=8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--run <run-id> is required/);
  });
});

describe('isobench compare (CLI, recorded results)', () => {
  const reports = mkdtempSync(path.join(os.tmpdir(), 'ib-compare-'));
  const env = { ISOBENCH_REPORTS: reports };
  afterAll(() => rmSync(reports, { recursive: true, force: true }));
  it('flags the planted 20% regression: exit 1 with --fail-on-regression 10', async () => {
    const r = await isobench(['compare', 'test/fixtures/results/run-a.json', 'test/fixtures/results/run-b.json', '--fail-on-regression', '10'], env);
    expect(r.stdout).toMatch(/REGRESSED/);
    expect(r.stderr).toMatch(/1 regression\(s\) whose 95% CI lower bound exceeds 10%/);
    expect(r.stderr).toMatch(/container:runc cpu events_per_s/);
    expect(r.code).toBe(1);
  });
  it('without a threshold it reports and exits 0', async () => {
    const r = await isobench(['compare', 'test/fixtures/results/run-a.json', 'test/fixtures/results/run-b.json'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no practical difference/);
    expect(r.stdout).not.toMatch(/within noise/i);
  });
  it('a corrupt results file is bad input (exit 2) with one line', async () => {
    const r = await isobench(['compare', 'test/fixtures/results/run-a.json', 'package.json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('a bad threshold is bad input', async () => {
    const r = await isobench(['compare', 'test/fixtures/results/run-a.json', 'test/fixtures/results/run-b.json', '--fail-on-regression', 'ten'], env);
    expect(r.code).toBe(2);
  });
});
