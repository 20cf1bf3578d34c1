/**
 * Resume, the pure part: which cells of an earlier attempt are carried over
 * (complete, partial and failed ones, with the repetitions they measured; a
 * skipped cell is run again), whether they can be trusted, and whether the
 * scenario given now is the one recorded. Taking the lock and reading files is
 * runner/resume.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Scenario } from '../../scenario/schema.js';
import { getWorkload } from '../../workloads/registry.js';
import '../../workloads/index.js';
import type { Cell, RunResults } from '../../results/types.js';
import { cellKey, type Cells } from './cells.js';

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
 * How the scenario given now differs from the recorded one (after defaults); empty when the same. A resume refuses
 * any difference.
 */
export function scenarioChanges(recorded: Scenario, given: Scenario): string[] {
  return jsonDiff(JSON.parse(JSON.stringify(recorded)), JSON.parse(JSON.stringify(given)));
}

/** Cells whose measurements a resume keeps: what was measured stays, whatever the cell's end. */
function carries(c: Cell): boolean {
  return c.state === 'complete' || c.state === 'partial' || c.state === 'failed';
}

/**
 * The cells a resume starts from: each carried cell's metrics with values
 * (summaries are recomputed) and its extras. A failed cell's failure is not
 * carried: its missing repetitions are run again.
 */
export function carriedCells(previous: Pick<RunResults, 'cells'>): Cells {
  const cells: Cells = new Map();
  for (const c of previous.cells) {
    if (!carries(c)) continue;
    const metrics = new Map(
      c.metrics.filter((m) => m.values.length > 0).map((m) => [m.metric, { ...m, summary: null }] as const),
    );
    cells.set(cellKey(c.backend, c.workload), {
      backend: c.backend,
      workload: c.workload,
      metrics,
      ...(c.extra ? { extra: c.extra } : {}),
    });
  }
  return cells;
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
  const workloads = Object.keys(scenario.workloads).filter(
    (k) => (scenario.workloads as Record<string, unknown>)[k] !== undefined,
  );
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
      else if (decl.unit !== m.unit || decl.higherIsBetter !== m.higherIsBetter)
        problems.push(`${mat}: unit or direction differs from the workload's declaration`);
      if (m.values.length !== m.repetitions.length || m.values.length !== m.rawLogs.length)
        problems.push(`${mat}: values, repetitions and rawLogs differ in length`);
      if ([m.rounds, m.starts, m.ends].some((a) => a !== undefined && a.length !== m.values.length))
        problems.push(`${mat}: rounds, starts or ends differ in length from values`);
      if (!m.values.every((v) => Number.isFinite(v))) problems.push(`${mat}: a value is not a finite number`);
      if (!m.repetitions.every((r) => Number.isInteger(r) && r >= 1 && r <= maxRep))
        problems.push(`${mat}: a repetition number is not a whole number in 1..${maxRep}`);
      if (new Set(m.repetitions).size !== m.repetitions.length) problems.push(`${mat}: a repetition is recorded twice`);
      if (!m.rawLogs.every((l) => l === '' || (l.startsWith('raw/') && !l.split('/').includes('..'))))
        problems.push(`${mat}: a raw log path leaves the run's raw/ folder`);
    }
  });
  return problems;
}
