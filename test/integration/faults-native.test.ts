/**
 * Faults on the real run path (native backend): a signal mid-run leaves a
 * partial result and nothing behind, resume completes it keeping what was
 * measured, and a hanging tool is killed at its timeout while the run goes on.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import type { RunResults } from '../../src/results/types.js';
import { shortIdOf } from '../../src/runner/run.js';

let resultsRoot: string;
const env = (): Record<string, string> => ({
  ISOBENCH_RESULTS: resultsRoot,
  ISOBENCH_REPORTS: path.join(resultsRoot, 'reports'),
});
const load = (id: string): RunResults =>
  JSON.parse(readFileSync(path.join(resultsRoot, id, 'results.json'), 'utf8')) as RunResults;

function isobenchCgroups(): string[] {
  const out: string[] = [];
  for (const ctl of ['cpu', 'memory', 'cpuset', 'pids']) {
    const dir = `/sys/fs/cgroup/${ctl}/isobench`;
    if (existsSync(dir))
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) out.push(`${ctl}/${d.name}`);
  }
  return out;
}

beforeAll(() => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-faults-'));
});
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

describe('signals and resume', () => {
  // SIGTERM and SIGHUP end the run the same way at every stage of the fault matrix
  // (test/unit/runner/fault-matrix.test.ts on the fake provider, test/slow/fault-matrix.test.ts on real
  // backends); the resume after them is this same path, so it runs once here.
  for (const sig of ['SIGINT'] as const) {
    it(`${sig} mid-run keeps a partial result, removes everything, and resume completes it`, async () => {
      const id = `sig-${sig.toLowerCase()}`;
      const child = execa(
        process.execPath,
        [
          path.join(ROOT, 'bin/isobench.js'),
          'run',
          'test/fixtures/scenarios/native-signal.yaml',
          '--run-id',
          id,
          '--no-report',
        ],
        {
          cwd: ROOT,
          env: { ...process.env, ...env() },
          reject: false,
          forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
          stdin: 'ignore',
        },
      );
      // Wait until the first measured repetition has been written, then interrupt.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const f = path.join(resultsRoot, id, 'results.json');
        if (existsSync(f) && readFileSync(f, 'utf8').includes('"repetitions": [\n')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(sig);
      const r = await child;
      expect(r.exitCode).toBe(130);
      const partial = load(id);
      expect(partial.status).toBe('partial');
      expect(partial.statusReason).toMatch(/interrupted/);
      const measured = partial.cells.flatMap((c) => c.metrics).reduce((n, m) => n + m.values.length, 0);
      expect(measured).toBeGreaterThan(0);
      expect(isobenchCgroups().filter((c) => c.includes(shortIdOf(partial.runId)))).toEqual([]);
      const ns = String((await execa('ip', ['netns', 'list'])).stdout);
      expect(ns).not.toContain(`isobench-${shortIdOf(partial.runId)}`);
      // The run's lock and state are gone: nothing was left to restore.
      expect(existsSync(`/run/isobench/${shortIdOf(partial.runId)}`)).toBe(false);

      const resumed = await isobench(
        ['run', 'test/fixtures/scenarios/native-signal.yaml', '--resume', id, '--no-report'],
        env(),
      );
      expect(resumed.code).toBe(0);
      const done = load(id);
      expect(done.status).toBe('complete');
      expect(done.startedAt).toBe(partial.startedAt);
      // What was measured before the signal is kept as it was.
      for (const c of partial.cells)
        for (const m of c.metrics) {
          const after = done.cells
            .find((x) => x.backend === c.backend && x.workload === c.workload)!
            .metrics.find((x) => x.metric === m.metric)!;
          expect(after.values.slice(0, m.values.length)).toEqual(m.values);
          expect(after.values).toHaveLength(2);
        }
    });
  }
});

// The forced exit and the resume of a killed run are the runner's, whatever the backend: they run on the
// fake provider (a few seconds each instead of half a minute), still in a real process, since only a real
// process can be forced out (process.exit) or SIGKILLed.
describe('forced exit and resume safety (fake provider, real process)', () => {
  it('a second SIGINT forces the exit, still releases everything in order and writes a valid partial results.json', async () => {
    const id = 'double-sigint';
    const child = execa(
      process.execPath,
      [
        path.join(ROOT, 'bin/isobench.js'),
        'run',
        'test/fixtures/scenarios/fake-short.yaml',
        '--run-id',
        id,
        '--no-report',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...env() },
        reject: false,
        forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
        stdin: 'ignore',
      },
    );
    const f = path.join(resultsRoot, id, 'results.json');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(f) && readFileSync(f, 'utf8').includes('"repetitions": [\n')))
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/SIGINT again: forcing exit/);
    const partial = load(id);
    expect(partial.status).toBe('partial');
    expect(partial.endedAt).not.toBe(null);
    expect(partial.statusReason).toMatch(/interrupted/);
    const sid = shortIdOf(partial.runId);
    expect(isobenchCgroups().filter((c) => c.includes(sid))).toEqual([]);
    expect(String((await execa('ip', ['netns', 'list'])).stdout)).not.toContain(`isobench-${sid}`);
    expect(existsSync(`/run/isobench/${sid}`)).toBe(false);
    expect(readdirSync(os.tmpdir()).filter((d) => d.startsWith(`isobench-${sid}-`))).toEqual([]);
    // The results pair is consistent.
    const samples = readFileSync(path.join(resultsRoot, id, 'samples.jsonl'), 'utf8');
    expect(createHash('sha256').update(samples).digest('hex')).toBe(partial.samples?.sha256);

    // A resume with a scenario that differs from the recorded one is refused with a diff...
    const changed = path.join(resultsRoot, 'changed.yaml');
    writeFileSync(
      changed,
      readFileSync(path.join(ROOT, 'test/fixtures/scenarios/fake-short.yaml'), 'utf8').replace(
        'repetitions: 2',
        'repetitions: 3',
      ),
    );
    const refused = await isobench(['run', changed, '--resume', id, '--no-report'], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/differs from the scenario run double-sigint recorded/);
    expect(refused.stderr).toContain('repetitions: recorded 2, given 3');
    expect(existsSync(`/run/isobench/${sid}`)).toBe(false);
    // ...and without a file the recorded scenario completes it.
    const resumed = await isobench(['run', '--resume', id, '--no-report'], env());
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(load(id).status).toBe('complete');
  });
});

describe('SIGKILL then resume (fake provider, real process)', () => {
  it('a resume of a killed run removes what the dead attempt left, then completes it', async () => {
    const id = 'killed-resume';
    const child = execa(
      process.execPath,
      [
        path.join(ROOT, 'bin/isobench.js'),
        'run',
        'test/fixtures/scenarios/fake-short.yaml',
        '--run-id',
        id,
        '--no-report',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...env() },
        reject: false,
        forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
        stdin: 'ignore',
      },
    );
    const f = path.join(resultsRoot, id, 'results.json');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(f) && readFileSync(f, 'utf8').includes('"repetitions": [\n')))
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await child;
    const sid = shortIdOf(id);
    // The dead attempt's state (its lock) and temp folder are still there: no handler ran.
    expect(existsSync(`/run/isobench/${sid}/state.json`)).toBe(true);
    expect(readdirSync(os.tmpdir()).filter((d) => d.startsWith(`isobench-${sid}-`)).length).toBeGreaterThan(0);
    const resumed = await isobench(['run', '--resume', id, '--no-report'], env());
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/removed \d+ leftover\(s\) of the earlier attempt/);
    expect(load(id).status).toBe('complete');
    expect(isobenchCgroups().filter((c) => c.includes(sid))).toEqual([]);
    expect(readdirSync(os.tmpdir()).filter((d) => d.startsWith(`isobench-${sid}-`))).toEqual([]);
    expect(existsSync(`/run/isobench/${sid}`)).toBe(false);
  });
});

describe('timeouts', () => {
  it('a workload that runs past workloadSeconds is killed, recorded as failed, and the run goes on', async () => {
    const t0 = Date.now();
    const r = await isobench(
      ['run', 'test/fixtures/scenarios/native-hang.yaml', '--run-id', 'hang', '--no-report'],
      env(),
    );
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(r.code).toBe(1);
    const res = load('hang');
    const cpu = res.cells.find((c) => c.workload === 'cpu')!;
    expect(cpu.state).toBe('failed');
    expect(cpu.state === 'failed' && cpu.error).toMatch(/did not finish within 4 s/);
    expect(res.cells.find((c) => c.workload === 'memory')!.state).toBe('complete');
    // The hung tool is the one with --time=30 (other runs on a shared host may run sysbench too).
    const sysbench = await execa('pgrep', ['-f', 'sysbench cpu .*--time=30 '], { reject: false });
    expect(String(sysbench.stdout)).toBe('');
    expect(isobenchCgroups().filter((c) => c.includes(shortIdOf(res.runId)))).toEqual([]);
  });

  it('a timed-out workload is cancelled: its instances are gone within 5 s and it starts none afterwards', async () => {
    const id = 'density-hang';
    const sid = shortIdOf(id);
    const child = execa(
      process.execPath,
      [
        path.join(ROOT, 'bin/isobench.js'),
        'run',
        'test/fixtures/scenarios/native-density-hang.yaml',
        '--run-id',
        id,
        '--no-report',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...env() },
        reject: false,
        forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
        stdin: 'ignore',
      },
    );
    // Native instances are cgroups named after the run.
    const ours = (): string[] =>
      existsSync('/sys/fs/cgroup/memory/isobench')
        ? readdirSync('/sys/fs/cgroup/memory/isobench').filter((d) => d.startsWith(sid))
        : [];
    let seen = '';
    const sweep = new Set<string>();
    const timedOut = new Promise<number>((resolve) => {
      child.stderr?.on('data', (b: Buffer) => {
        seen += b.toString();
        if (/density: failed: density did not finish/.test(seen)) resolve(Date.now());
      });
      void child.then(() => resolve(0));
    });
    const sampler = setInterval(() => {
      if (/native density: starting up to/.test(seen)) for (const c of ours()) sweep.add(c);
    }, 50);
    const t = await timedOut;
    clearInterval(sampler);
    expect(t, seen).toBeGreaterThan(0);
    // The run's long-lived instance was started before density; the rest were the sweep's.
    const main = /starting native instance (\S+)/.exec(seen)?.[1];
    sweep.delete(main ?? '');
    expect(sweep.size).toBeGreaterThan(1); // the sweep had instances up when the timeout hit
    let left = ours().filter((c) => sweep.has(c));
    while (left.length > 0 && Date.now() - t < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      left = ours().filter((c) => sweep.has(c));
    }
    expect(left, 'density instances still there 5 s after the timeout').toEqual([]);
    const r = await child;
    expect(r.exitCode).toBe(1);
    // The cancelled sweep started nothing after its timeout, while the next workload ran.
    const after = String(r.stderr).split(/density: failed: density did not finish[^\n]*\n/)[1] ?? '';
    expect(after).toMatch(/native memory-gradient/);
    expect(after).not.toMatch(/native density:/);
    const res = load(id);
    expect(res.cells.find((c) => c.workload === 'density')!.state).toBe('failed');
    expect(res.cells.find((c) => c.workload === 'memory-gradient')).toBeDefined();
    expect(ours()).toEqual([]);
  });
});
