/**
 * Runs on the fake provider (src/backends/providers/fake.ts) through the CLI's main() in this process: a
 * scenario written from an object, `isobench run` with its real signal handlers, and what a test checks
 * afterwards (exit code, results.json, fake instances left running, the run's state directory).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { defaultIO, main } from '../../src/cli.js';
import { liveFakeInstances } from '../../src/backends/providers/fake.js';
import { stateRoot } from '../../src/core/state.js';
import { loadResults } from '../../src/results/io.js';
import type { RunResults } from '../../src/results/types.js';
import { shortIdOf } from '../../src/runner/run.js';

/** A fake backend entry of a scenario (see fake.ts for the fields). */
export type FakeEntry = { kind: 'fake'; name: string } & Record<string, unknown>;

/** A small scenario over fake backends: a native baseline `base` and the given others. */
export function fakeScenario(
  name: string,
  backends: FakeEntry[],
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    backends: [{ kind: 'fake', name: 'base', as: 'native' }, ...backends],
    instance: { vcpus: 1, memoryMiB: 64 },
    repetitions: 2,
    warmup: 1,
    timeouts: { bootSeconds: 5, execSeconds: 5, workloadSeconds: 20, runMinutes: 2 },
    workloads: { cpu: { seconds: 1, allVcpus: false }, startup: { starts: 2, warmup: 0 } },
    ...over,
  };
}

export interface FakeRunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  results: RunResults;
  /** Fake instances of the run still running (must be none). */
  live: string[];
  /** Whether the run's state directory (its lock) is still there. */
  stateLeft: boolean;
}

/**
 * `isobench run <scenario> --run-id <id> --no-report --quiet` in process (without a scenario: `--resume <id>`;
 * with `report`, the report is written). `onStderr` sees each write to stderr (a test can send a signal
 * when a line appears).
 */
export async function fakeRun(
  work: string,
  scenario: Record<string, unknown> | undefined,
  runId: string,
  o: { report?: boolean; onStderr?: (text: string) => void } = {},
): Promise<FakeRunResult> {
  const { onStderr } = o;
  const extra = o.report ? [] : ['--no-report'];
  const resultsRoot = path.join(work, 'results');
  let args: string[];
  if (scenario) {
    mkdirSync(work, { recursive: true });
    const file = path.join(work, `${runId}.yaml`);
    writeFileSync(file, stringify(scenario));
    args = ['run', file, '--run-id', runId, '--quiet', ...extra];
  } else args = ['run', '--resume', runId, '--quiet', ...extra];
  let stdout = '';
  let stderr = '';
  const t0 = Date.now();
  const code = await main(args, {
    ...defaultIO({ ISOBENCH_RESULTS: resultsRoot, ISOBENCH_REPORTS: path.join(work, 'reports') }),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: {
      write: (s: string) => {
        stderr += s;
        onStderr?.(s);
      },
    },
  });
  const ms = Date.now() - t0;
  const results = await loadResults(path.join(resultsRoot, runId));
  return {
    code,
    stdout,
    stderr,
    ms,
    results,
    live: liveFakeInstances(runId).map((r) => `${r.backend} ${r.name}`),
    stateLeft: existsSync(path.join(stateRoot(), shortIdOf(runId))),
  };
}
