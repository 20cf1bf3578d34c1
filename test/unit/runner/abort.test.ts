/**
 * The executor's abort path, in seconds, on the fake provider: an abort (what Ctrl-C does through cli.ts)
 * while a tool hangs in an instance must end the run at once, as interrupted (not as a failed workload),
 * with every instance stopped, the partial results written and the run's lock released. The scenario's
 * timeouts are a minute long, so only the abort path can end the run within the test's 10 s.
 */
import { TEST_STATE_ROOT } from '../../helpers/state-root.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  fakeInstancesOf,
  fakeStages,
  liveFakeInstances,
  type FakeStage,
} from '../../../src/backends/providers/fake.js';
import { loadResults } from '../../../src/results/io.js';
import { runScenario, shortIdOf } from '../../../src/runner/run.js';
import { fakeScenario } from '../../helpers/fake-run.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'ib-abort-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(TEST_STATE_ROOT, { recursive: true, force: true });
});

/** Run with `c` hanging at its nth arrival at `stage`, and abort 50 ms after it got there. */
async function abortWhileHanging(id: string, stage: FakeStage, nth: number) {
  const scenario = fakeScenario(id, [{ kind: 'fake', name: 'c', faults: [{ at: stage, nth, do: 'hang' }] }], {
    timeouts: { bootSeconds: 60, execSeconds: 60, workloadSeconds: 60, runMinutes: 5 },
  });
  const file = path.join(work, `${id}.yaml`);
  writeFileSync(file, stringify(scenario));
  const ac = new AbortController();
  let abortedAt = 0;
  let startedBefore = -1;
  const onStage = (e: { runId: string; backend: string; stage: FakeStage; nth: number }): void => {
    if (e.runId !== id || e.backend !== 'fake:c' || e.stage !== stage || e.nth !== nth) return;
    setTimeout(() => {
      abortedAt = Date.now();
      startedBefore = fakeInstancesOf(id).length;
      ac.abort('SIGINT');
    }, 50);
  };
  fakeStages.on('stage', onStage);
  try {
    const out = await runScenario({
      scenarioFile: file,
      runId: id,
      resultsRoot: path.join(work, 'results'),
      quiet: true,
      signal: ac.signal,
    });
    return { out, stoppedMs: Date.now() - abortedAt, abortedAt, startedBefore };
  } finally {
    fakeStages.off('stage', onStage);
  }
}

describe('abort while something hangs', () => {
  for (const [stage, nth, what] of [
    ['exec', 2, 'a tool hangs in a running instance'],
    ['start', 1, 'an instance hangs while booting'],
    ['start', 3, 'an extra instance of a workload hangs while booting'],
    ['prepare', 1, 'a backend hangs while being prepared'],
  ] as const) {
    it(`${what}: ends within 2 s, interrupted, starts nothing more, stops every instance, releases its lock`, {
      timeout: 10_000,
    }, async () => {
      const id = `abort-${stage}-${nth}`;
      const { out, stoppedMs, abortedAt, startedBefore } = await abortWhileHanging(id, stage, nth);
      expect(abortedAt, 'the hang was reached').toBeGreaterThan(0);
      expect(stoppedMs).toBeLessThan(2000);
      expect(out.exitCode).toBe(1);
      expect(out.results.status).toBe('partial');
      expect(out.results.statusReason).toBe('interrupted (SIGINT)');
      // Interrupted, not failed: no cell blames the workload or the backend for the abort.
      expect(out.results.cells.filter((c) => c.state === 'failed')).toEqual([]);
      expect(liveFakeInstances(id)).toEqual([]);
      if (stage !== 'prepare') expect(fakeInstancesOf(id).length).toBeGreaterThan(0);
      // Nothing was started after the abort.
      expect(fakeInstancesOf(id).length).toBe(startedBefore);
      // What was written to disk says the same, and the lock is gone.
      expect((await loadResults(out.runDir)).statusReason).toBe('interrupted (SIGINT)');
      expect(existsSync(path.join(TEST_STATE_ROOT, shortIdOf(id)))).toBe(false);
    });
  }
});
