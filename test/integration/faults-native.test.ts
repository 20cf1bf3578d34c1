/**
 * Faults on the real run path (native backend): a signal mid-run leaves a
 * partial result and nothing behind, resume completes it keeping what was
 * measured, and a hanging tool is killed at its timeout while the run goes on.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import type { RunResults } from '../../src/results/types.js';
import { shortIdOf } from '../../src/runner/run.js';

let resultsRoot: string;
const env = (): Record<string, string> => ({ ISOBENCH_RESULTS: resultsRoot, ISOBENCH_REPORTS: path.join(resultsRoot, 'reports') });
const load = (id: string): RunResults => JSON.parse(readFileSync(path.join(resultsRoot, id, 'results.json'), 'utf8')) as RunResults;

function isobenchCgroups(): string[] {
  const out: string[] = [];
  for (const ctl of ['cpu', 'memory', 'cpuset', 'pids']) {
    const dir = `/sys/fs/cgroup/${ctl}/isobench`;
    if (existsSync(dir)) for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) out.push(`${ctl}/${d.name}`);
  }
  return out;
}

beforeAll(() => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-faults-'));
});
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

describe('signals and resume', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} mid-run keeps a partial result, removes everything, and resume completes it`, async () => {
      const id = `sig-${sig.toLowerCase()}`;
      const child = execa(process.execPath, [path.join(ROOT, 'bin/isobench.js'), 'run', 'test/fixtures/scenarios/native-short.yaml', '--run-id', id, '--no-report'], {
        cwd: ROOT,
        env: { ...process.env, ...env() },
        reject: false,
        stdin: 'ignore',
      });
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

      const resumed = await isobench(['run', 'test/fixtures/scenarios/native-short.yaml', '--resume', id, '--no-report'], env());
      expect(resumed.code).toBe(0);
      const done = load(id);
      expect(done.status).toBe('complete');
      expect(done.startedAt).toBe(partial.startedAt);
      // What was measured before the signal is kept as it was.
      for (const c of partial.cells)
        for (const m of c.metrics) {
          const after = done.cells.find((x) => x.backend === c.backend && x.workload === c.workload)!.metrics.find((x) => x.metric === m.metric)!;
          expect(after.values.slice(0, m.values.length)).toEqual(m.values);
          expect(after.values).toHaveLength(2);
        }
    });
  }
});

describe('timeouts', () => {
  it('a workload that runs past workloadSeconds is killed, recorded as failed, and the run goes on', async () => {
    const t0 = Date.now();
    const r = await isobench(['run', 'test/fixtures/scenarios/native-hang.yaml', '--run-id', 'hang', '--no-report'], env());
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(r.code).toBe(1);
    const res = load('hang');
    const cpu = res.cells.find((c) => c.workload === 'cpu')!;
    expect(cpu.state).toBe('failed');
    expect(cpu.state === 'failed' && cpu.error).toMatch(/did not finish within 8 s/);
    expect(res.cells.find((c) => c.workload === 'memory')!.state).toBe('complete');
    const sysbench = await execa('pgrep', ['-f', 'sysbench cpu'], { reject: false });
    expect(String(sysbench.stdout)).toBe('');
    expect(isobenchCgroups().filter((c) => c.includes(shortIdOf(res.runId)))).toEqual([]);
  });
});
