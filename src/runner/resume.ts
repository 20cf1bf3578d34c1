/**
 * Taking a run's lock, and resuming safely: the run's state directory is its
 * lock (a second run or resume of a live run is refused, naming the holder);
 * a dead holder's leftovers are removed and its host settings restored before
 * anything is created; the recorded scenario is the one used (a different
 * file given now is refused with a diff). Which cells are carried over and
 * whether they can be trusted is the plan's (plan/resume.ts).
 */
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import type { CgroupLayout } from '../host/cgroup.js';
import { removeLeftovers, scanLeftovers } from '../ops/leftovers.js';
import { loadScenario, validateScenarioData } from '../scenario/loader.js';
import type { Scenario } from '../scenario/schema.js';
import type { RunResults } from '../results/types.js';
import { RunState, restoreHostSetting } from '../core/state.js';
import { scenarioChanges } from './plan/resume.js';

/**
 * Lock the run. When a dead owner held it (a SIGKILL, a power loss), its
 * leftovers go first: the new owner reuses the same names.
 */
export async function acquireRun(
  runId: string,
  shortId: string,
  layout: CgroupLayout,
  log: (s: string) => void = () => undefined,
): Promise<RunState> {
  const { state, predecessor } = await RunState.claim(runId, shortId);
  try {
    if (predecessor) {
      const scan = await scanLeftovers(layout, { only: shortId, ownLock: true });
      // Our own fresh state directory is not a leftover.
      const { removed, failed } = await removeLeftovers(scan.leftovers.filter((l) => l.name !== state.dir));
      if (removed.length)
        log(`removed ${removed.length} leftover(s) of the earlier attempt (pid ${predecessor.owner.pid})`);
      if (failed.length)
        throw new IsobenchError(
          'RUN_FAILED',
          `leftovers of the earlier attempt of run ${runId} could not be removed: ${failed.join('; ')}; ` +
            'run `isobench doctor --cleanup`',
        );
      for (const h of state.hostSettings()) {
        const err = await restoreHostSetting(h);
        if (err)
          throw new IsobenchError('RUN_FAILED', `could not restore a host setting the earlier attempt changed: ${err}`);
        await state.forgetHostSetting(h.file);
        log(`restored ${h.file} as the earlier attempt found it`);
      }
    }
    return state;
  } catch (e) {
    await state.release().catch(() => undefined);
    throw e;
  }
}

/**
 * The scenario a resume runs: the recorded one, re-validated. A file given
 * now must describe the same scenario (after defaults), or the resume is
 * refused: figures from different parameters would be merged.
 */
export async function resumeScenario(
  previous: RunResults,
  runDir: string,
  givenFile: string | undefined,
): Promise<Scenario> {
  const where = `${path.join(runDir, 'results.json')}: scenario`;
  const recorded = validateScenarioData(JSON.parse(JSON.stringify(previous.scenario ?? null)) as unknown, where);
  if (!recorded.scenario)
    throw new IsobenchError('BAD_RESULTS', `${where}: the recorded scenario is not valid; the run cannot be resumed`, {
      details: recorded.problems.slice(0, 10),
    });
  if (givenFile !== undefined) {
    const given = (await loadScenario(givenFile)).scenario;
    const diff = scenarioChanges(recorded.scenario, given);
    if (diff.length)
      throw new IsobenchError(
        'BAD_ARGS',
        `${givenFile} differs from the scenario run ${previous.runId} recorded; ` +
          'resume with the same file, or give --resume no scenario file to use the recorded one',
        {
          details: diff.map((d) => `  ${d}`),
        },
      );
  }
  return recorded.scenario;
}
