/**
 * The runner's entry: one run of a scenario, or the resume of an earlier
 * attempt. This file takes the run's lock and decides what is resumed
 * (the recorded scenario, the carried cells checked before they are trusted);
 * execute.ts runs it: the plan (plan/), the preparation (prepare.ts), each
 * repetition (repetition.ts), the results (session.ts).
 */
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import { hostFacts, withMaskedCapabilities } from '../host/facts.js';
import { loadScenario } from '../scenario/loader.js';
import type { Scenario } from '../scenario/schema.js';
import type { RunState } from '../core/state.js';
import type { BackendResult, Cell, RunResults } from '../results/types.js';
import { assertRunId, loadResults, resolveRunDir } from '../results/io.js';
import { computeComparisons } from '../stats/comparisons.js';
import { acquireRun, resumeScenario } from './resume.js';
import { carriedCellProblems } from './plan/resume.js';
import { executeRun, type RunOptions, type RunOutcome } from './execute.js';
import { makeRunId, shortIdOf } from './session.js';

export type { RunOptions, RunOutcome } from './execute.js';
export { RunControl } from './control.js';
export { TOOL_VERSION, makeRunId, shortIdOf } from './session.js';

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  const host = withMaskedCapabilities(await hostFacts(), opts.maskCapabilities ?? []);
  // Resume: lock the run first, then trust only what the lock protects.
  let previous: RunResults | undefined;
  let runId: string;
  let runDir: string;
  let scenario: Scenario;
  let scenarioFile: string;
  let runState: RunState | undefined;
  if (opts.resume) {
    runDir = resolveRunDir(opts.resume, opts.resultsRoot);
    runId = assertRunId((await loadResults(runDir)).runId, `${path.join(runDir, 'results.json')}: runId`);
    runState = await acquireRun(runId, shortIdOf(runId), host.cgroup, (t) => process.stderr.write(`${t}\n`));
    try {
      previous = await loadResults(runDir);
      if (previous.runId !== runId)
        throw new IsobenchError('BAD_RESULTS', `${runDir}: results.json changed its runId while the lock was taken`);
      if (previous.status === 'complete')
        throw new IsobenchError('BAD_ARGS', `run ${runId} is already complete; nothing to resume`);
      scenario = await resumeScenario(previous, runDir, opts.scenarioFile);
      const bad = carriedCellProblems(previous, scenario);
      if (bad.length)
        throw new IsobenchError(
          'BAD_RESULTS',
          `${path.join(runDir, 'results.json')}: ${bad.length} carried-over cell problem(s); the run cannot be resumed`,
          { details: bad.slice(0, 20).map((b) => `  ${b}`) },
        );
      scenarioFile = opts.scenarioFile ?? previous.scenarioFile;
    } catch (e) {
      await runState.release().catch(() => undefined);
      throw e;
    }
  } else {
    if (opts.scenarioFile === undefined)
      throw new IsobenchError('BAD_ARGS', 'run: a scenario file is required (or --resume <run-id>)');
    scenarioFile = opts.scenarioFile;
    scenario = (await loadScenario(scenarioFile)).scenario;
    runId = opts.runId ?? makeRunId(scenario.name);
    assertRunId(runId, '--run-id');
    runDir = path.join(opts.resultsRoot, runId);
  }
  try {
    return await executeRun(
      { ...opts, scenarioFile },
      { host, scenario, runId, runDir, ...(previous ? { previous } : {}), ...(runState ? { runState } : {}) },
    );
  } catch (e) {
    await runState?.release().catch(() => undefined);
    throw e;
  }
}

/**
 * The run's ratio-of-means overheads (src/stats/comparisons.ts does the work; kept here for callers of the runner
 * API).
 */
export function computeOverheads(cells: Cell[], backends: BackendResult[]): RunResults['overheads'] {
  return computeComparisons(cells, backends).overheads;
}
