import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, isobench } from '../helpers/cli.js';

describe('isobench CLI', () => {
  it('--help lists every subcommand and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['doctor', 'scenarios', 'images', 'run', 'report', 'compare', 'capacity'])
      expect(r.stdout).toContain(c);
    expect(r.stdout).toMatch(/Exit codes: 0 success, 1 a run or check failed, 2 bad input/);
  });
  it('run --help documents its options', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    for (const o of ['--backends', '--run-id', '--resume', '--no-report']) expect(r.stdout).toContain(o);
  });
  it('an unknown command or option is bad input (exit 2)', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run', '--bogus', 'x.yaml'])).code).toBe(2);
  });
  it('scenarios validate: each bad file gets its own line, exit 2', async () => {
    const r = await cli([
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
    const r = await cli(['scenarios', 'validate', 'scenarios/quick.yaml', 'scenarios/full.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  it('report and compare on a missing run are bad input with one line', async () => {
    const r = await cli(['report', 'no-such-run']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no run "no-such-run"/);
  });
  it('capacity without its required options is bad input', async () => {
    const r = await cli(['capacity', '--host', 'cores=4,memoryGiB=8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--run <run-id> is required/);
  });
});

describe('isobench compare (CLI, recorded results)', () => {
  const reports = mkdtempSync(path.join(os.tmpdir(), 'ib-compare-'));
  const env = { ISOBENCH_REPORTS: reports };
  afterAll(() => rmSync(reports, { recursive: true, force: true }));
  it('flags the planted 20% regression: exit 1 with --fail-on-regression 10', async () => {
    const r = await cli(
      ['compare', 'test/fixtures/results/run-a.json', 'test/fixtures/results/run-b.json', '--fail-on-regression', '10'],
      env,
    );
    expect(r.stdout).toMatch(/REGRESSED/);
    expect(r.stderr).toMatch(
      /1 regression\(s\) worse by more than 10% \(one-sided, Holm-corrected at 2\.5% across the \d+ headline rows\)/,
    );
    expect(r.stderr).toMatch(/container:runc cpu events_per_s/);
    expect(r.code).toBe(1);
  });
  it('without a threshold it reports and exits 0', async () => {
    const r = await cli(['compare', 'test/fixtures/results/run-a.json', 'test/fixtures/results/run-b.json'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no practical difference/);
    expect(r.stdout).not.toMatch(/within noise/i);
  });
  it('a corrupt results file is bad input (exit 2) with one line', async () => {
    const r = await cli(['compare', 'test/fixtures/results/run-a.json', 'package.json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('a bad threshold is bad input', async () => {
    const r = await cli(
      [
        'compare',
        'test/fixtures/results/run-a.json',
        'test/fixtures/results/run-b.json',
        '--fail-on-regression',
        'ten',
      ],
      env,
    );
    expect(r.code).toBe(2);
  });
});

describe('crafted input to the CLI: exit 2, one line, nothing written outside reports/', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ib-crafted-'));
  const reports = path.join(work, 'reports');
  const results = path.join(work, 'results');
  const env = { ISOBENCH_REPORTS: reports, ISOBENCH_RESULTS: results };
  const evilTarget = path.join(os.tmpdir(), `ib-evil-${process.pid}`);
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(evilTarget, { recursive: true, force: true });
  });
  const crafted = (runId: string, name: string): string => {
    const r = JSON.parse(readFileSync('test/fixtures/results/run-a.json', 'utf8')) as { runId: string };
    r.runId = runId;
    const f = path.join(work, name);
    writeFileSync(f, JSON.stringify(r));
    return f;
  };

  it('compare with a runId that climbs out of reports/ is refused', async () => {
    const evil = crafted(`x/../../../../../../..${evilTarget}`, 'evil.json');
    const r = await cli(['compare', 'test/fixtures/results/run-a.json', evil], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/compare: second run: run id .* is not a plain name/);
    expect(existsSync(evilTarget)).toBe(false);
    expect(existsSync(reports) ? readdirSync(reports) : []).toEqual([]);
  });

  it('report of a run whose results claim another id, "..", or a 300-character id is refused', async () => {
    for (const [id, dir] of [
      ['other-run', 'mine'],
      ['..', 'dots'],
      ['x'.repeat(300), 'long'],
    ] as const) {
      mkdirSync(path.join(results, dir), { recursive: true });
      writeFileSync(path.join(results, dir, 'results.json'), readFileSync(crafted(id, `${dir}.json`)));
      const r = await cli(['report', dir], env);
      expect(r.code, id).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    }
    expect(existsSync(reports) ? readdirSync(reports) : []).toEqual([]);
  });

  it('run: an empty, dotted or overlong --run-id and a missing scenario are bad input', async () => {
    for (const id of ['', '..', 'a/b', 'x'.repeat(300)]) {
      const r = await cli(['run', 'test/fixtures/scenarios/native-short.yaml', '--run-id', id, '--no-report'], env);
      expect(r.code, JSON.stringify(id)).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--run-id: run id .* is not a plain name/);
    }
    const none = await cli(['run'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/a scenario file is required/);
    expect(
      existsSync(results) ? readdirSync(results).filter((d) => !['mine', 'dots', 'long'].includes(d)) : [],
    ).toEqual([]);
  });

  it('validate goes on after a FIFO and an alias bomb, one line each', async () => {
    const fifo = path.join(work, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const bomb = path.join(work, 'bomb.yaml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    let prev = 'a';
    for (const n of 'bcdefghi') {
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
      prev = n;
    }
    writeFileSync(bomb, `${lines.join('\n')}\n`);
    const r = await cli(['scenarios', 'validate', fifo, bomb, 'scenarios/quick.yaml'], env);
    expect(r.code).toBe(2);
    const err = r.stderr.trim().split('\n');
    expect(err).toHaveLength(2);
    expect(err[0]).toMatch(/fifo\.yaml: cannot read scenario file \(a FIFO, not a regular file\)/);
    expect(err[1]).toMatch(/bomb\.yaml: invalid YAML: aliases expand too far/);
    expect(r.stdout).toContain('scenarios/quick.yaml: ok');
  });
});

describe('the installed command, a process of its own (the tests above call main() in process)', () => {
  it('exit codes reach the shell: 0 for --help, 2 for an unknown command and for a bad scenario', async () => {
    const help = await isobench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 success/);
    expect((await isobench(['frobnicate'])).code).toBe(2);
    const bad = await isobench(['scenarios', 'validate', 'test/fixtures/scenarios/bad/typo.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('typo.yaml:4: instance.vcpu: unknown key');
  });
  it('reads ISOBENCH_RESULTS when it runs: a missing run there is bad input naming it', async () => {
    const r = await isobench(['report', 'no-such-run'], { ISOBENCH_RESULTS: os.tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no run "no-such-run"/);
  });
});

describe('output into a pipe closed early (`isobench … | head -1`)', () => {
  it('ends with exit 0 and no EPIPE stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const { ROOT } = await import('../helpers/cli.js');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/isobench.js'), 'capacity', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Read nothing and close our end at once: every write of the help text then meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });
});
