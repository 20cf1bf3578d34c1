/**
 * Taking a run's lock, and resuming safely: the run's state directory is its
 * lock (a second run or resume of a live run is refused, naming the holder);
 * a dead holder's leftovers are removed and its host settings restored before
 * anything is created; the recorded scenario is the one used (a different
 * file given now is refused with a diff); every carried-over cell is checked
 * against the schema and the workload registry before it is trusted.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { IsobenchError } from '../errors.js';
import type { CgroupLayout } from '../host/cgroup.js';
import { removeLeftovers, scanLeftovers } from '../host/leftovers.js';
import { loadScenario, validateScenarioData } from '../scenario/loader.js';
import type { Scenario } from '../scenario/schema.js';
import { getWorkload } from '../workloads/registry.js';
import '../workloads/index.js';
import type { RunResults } from '../results/types.js';
import { RunState, restoreHostSetting } from '../core/state.js';

/**
 * Lock the run. When a dead owner held it (a SIGKILL, a power loss), its
 * leftovers go first: the new owner reuses the same names.
 */
export async function acquireRun(runId: string, shortId: string, layout: CgroupLayout, log: (s: string) => void = () => undefined): Promise<RunState> {
  const { state, predecessor } = await RunState.claim(runId, shortId);
  try {
    if (predecessor) {
      const scan = await scanLeftovers(layout, { only: shortId, ownLock: true });
      // Our own fresh state directory is not a leftover.
      const { removed, failed } = await removeLeftovers(scan.leftovers.filter((l) => l.name !== state.dir));
      if (removed.length) log(`removed ${removed.length} leftover(s) of the earlier attempt (pid ${predecessor.owner.pid})`);
      if (failed.length) throw new IsobenchError('RUN_FAILED', `leftovers of the earlier attempt of run ${runId} could not be removed: ${failed.join('; ')}; run \`isobench doctor --cleanup\``);
      for (const h of state.hostSettings()) {
        const err = await restoreHostSetting(h);
        if (err) throw new IsobenchError('RUN_FAILED', `could not restore a host setting the earlier attempt changed: ${err}`);
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

/** Paths (a.b[0].c) where two plain JSON values differ, with both values; at most `max`. */
export function jsonDiff(a: unknown, b: unknown, max = 10, at = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const out: string[] = [];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      if (out.length >= max) break;
      const sub = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
      out.push(...jsonDiff(a[k], b[k], max - out.length, sub));
    }
    return out;
  }
  const show = (x: unknown): string => (x === undefined ? '(absent)' : JSON.stringify(x).slice(0, 80));
  return [`${at || '(top level)'}: recorded ${show(a)}, given ${show(b)}`];
}

/**
 * The scenario a resume runs: the recorded one, re-validated. A file given
 * now must describe the same scenario (after defaults), or the resume is
 * refused: figures from different parameters would be merged.
 */
export async function resumeScenario(previous: RunResults, runDir: string, givenFile: string | undefined): Promise<Scenario> {
  const where = `${path.join(runDir, 'results.json')}: scenario`;
  const recorded = validateScenarioData(JSON.parse(JSON.stringify(previous.scenario ?? null)) as unknown, where);
  if (!recorded.scenario) throw new IsobenchError('BAD_RESULTS', `${where}: the recorded scenario is not valid; the run cannot be resumed`, { details: recorded.problems.slice(0, 10) });
  if (givenFile !== undefined) {
    const given = (await loadScenario(givenFile)).scenario;
    const diff = jsonDiff(JSON.parse(JSON.stringify(recorded.scenario)), JSON.parse(JSON.stringify(given)));
    if (diff.length)
      throw new IsobenchError('BAD_ARGS', `${givenFile} differs from the scenario run ${previous.runId} recorded; resume with the same file, or give --resume no scenario file to use the recorded one`, {
        details: diff.map((d) => `  ${d}`),
      });
  }
  return recorded.scenario;
}

/**
 * Cells carried over from the earlier attempt: each must name a backend the
 * run prepared and a workload of the scenario, and each metric must be one
 * the workload declares, with finite values, whole repetitions in range, no
 * repetition twice, equal-length arrays, and raw log paths inside raw/.
 */
export function carriedCellProblems(previous: RunResults, scenario: Scenario): string[] {
  const problems: string[] = [];
  const labels = new Set(previous.backends.map((b) => b.label));
  const workloads = Object.keys(scenario.workloads).filter((k) => (scenario.workloads as Record<string, unknown>)[k] !== undefined);
  const maxRep = Math.max(1000, scenario.adaptive?.maxRepetitions ?? 0);
  previous.cells.forEach((c, i) => {
    const at = `cells[${i}] (${c.backend} ${c.workload})`;
    if (!labels.has(c.backend)) problems.push(`${at}: backend "${c.backend}" is not one the run prepared`);
    if (!workloads.includes(c.workload)) {
      problems.push(`${at}: workload "${c.workload}" is not in the recorded scenario`);
      return;
    }
    const w = getWorkload(c.workload);
    if (!w) {
      problems.push(`${at}: workload "${c.workload}" is not one this isobench knows`);
      return;
    }
    const seen = new Set<string>();
    for (const m of c.metrics) {
      const mat = `${at} ${m.metric}`;
      if (seen.has(m.metric)) problems.push(`${mat}: listed twice`);
      seen.add(m.metric);
      const decl = w.metrics.find((d) => d.name === m.metric) ?? w.metricFor?.(m.metric);
      if (!decl) problems.push(`${mat}: not a metric ${c.workload} declares`);
      else if (decl.unit !== m.unit || decl.higherIsBetter !== m.higherIsBetter) problems.push(`${mat}: unit or direction differs from the workload's declaration`);
      if (m.values.length !== m.repetitions.length || m.values.length !== m.rawLogs.length) problems.push(`${mat}: values, repetitions and rawLogs differ in length`);
      if (!m.values.every((v) => Number.isFinite(v))) problems.push(`${mat}: a value is not a finite number`);
      if (!m.repetitions.every((r) => Number.isInteger(r) && r >= 1 && r <= maxRep)) problems.push(`${mat}: a repetition number is not a whole number in 1..${maxRep}`);
      if (new Set(m.repetitions).size !== m.repetitions.length) problems.push(`${mat}: a repetition is recorded twice`);
      if (!m.rawLogs.every((l) => l === '' || (l.startsWith('raw/') && !l.split('/').includes('..')))) problems.push(`${mat}: a raw log path leaves the run's raw/ folder`);
    }
  });
  return problems;
}
