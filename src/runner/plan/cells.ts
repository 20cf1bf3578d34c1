/**
 * What a run has measured so far, per backend x workload cell, and how it is
 * recorded: values by repetition, structured extras, a failure or a skip. Pure
 * data: the executor owns the map, the plan reads which repetitions are done.
 */
import type { MetricDecl, MetricValue, Workload } from '../../workloads/types.js';
import { ParseError } from '../../workloads/types.js';
import type { Cell, MetricResult, RunResults } from '../../results/types.js';
import { summarize } from '../../stats/index.js';

export interface CellData {
  backend: string;
  workload: string;
  metrics: Map<string, MetricResult>;
  failure?: { stage: string; error: string; rawLog?: string };
  skipped?: string;
  extra?: Record<string, unknown>;
}

export type Cells = Map<string, CellData>;

export function cellKey(backend: string, workload: string): string {
  return `${backend}\u0000${workload}`;
}

/** The cell of backend x workload, created empty on first use. */
export function cellOf(cells: Cells, backend: string, workload: string): CellData {
  const key = cellKey(backend, workload);
  let cell = cells.get(key);
  if (!cell) {
    cell = { backend, workload, metrics: new Map() };
    cells.set(key, cell);
  }
  return cell;
}

/** Repetitions with at least one recorded value. */
export function repsDone(c: Pick<CellData, 'metrics'>): Set<number> {
  const s = new Set<number>();
  for (const m of c.metrics.values()) for (const r of m.repetitions) s.add(r);
  return s;
}

function declOf(workload: Workload, name: string): MetricDecl | undefined {
  return workload.metrics.find((m) => m.name === name) ?? workload.metricFor?.(name);
}

/** A value with the round it was measured in and its tool invocation's span (epoch ms). */
export interface TimedValue extends MetricValue {
  round: string;
  startMs: number;
  endMs: number;
}

function isTimed(v: MetricValue): v is TimedValue {
  return typeof (v as Partial<TimedValue>).round === 'string';
}

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');

/**
 * Record one repetition's values; an undeclared metric or a non-finite value is the
 * workload's error. A timed value also records its round and span (`rounds`,
 * `starts`, `ends`, parallel to `values`; '' where an earlier value had none).
 */
export function recordValues(
  cell: CellData,
  workload: Workload,
  values: Array<MetricValue | TimedValue>,
  rep: number,
): void {
  for (const v of values) {
    const decl = declOf(workload, v.metric);
    if (!decl) throw new Error(`workload ${workload.name} produced undeclared metric ${v.metric}`);
    if (!Number.isFinite(v.value)) throw new ParseError(workload.name, `metric ${v.metric} is not a finite number`);
    let m = cell.metrics.get(v.metric);
    if (!m) {
      m = {
        metric: decl.name,
        unit: decl.unit,
        higherIsBetter: decl.higherIsBetter,
        values: [],
        repetitions: [],
        rawLogs: [],
        summary: null,
      };
      cell.metrics.set(v.metric, m);
    }
    if (isTimed(v) || m.rounds) {
      const pad = (a: string[] | undefined): string[] => a ?? m!.values.map(() => '');
      m.rounds = pad(m.rounds);
      m.starts = pad(m.starts);
      m.ends = pad(m.ends);
      m.rounds.push(isTimed(v) ? v.round : '');
      m.starts.push(isTimed(v) ? iso(v.startMs) : '');
      m.ends.push(isTimed(v) ? iso(v.endMs) : '');
    }
    m.values.push(v.value);
    m.repetitions.push(rep);
    m.rawLogs.push(v.rawLog ?? '');
  }
}

/** Structured per-repetition data (ctx.recordExtra) goes to cell.extra[name] = [{ repetition, data }]. */
export function recordExtras(cell: CellData, extras: Array<{ name: string; data: unknown }>, rep: number): void {
  if (extras.length === 0) return;
  const extra = (cell.extra ??= {});
  for (const { name, data } of extras) {
    const list = Array.isArray(extra[name]) ? (extra[name] as unknown[]) : [];
    list.push({ repetition: rep, data });
    extra[name] = list;
  }
}

/**
 * The cells as results.json records them. A cell short of its repetitions is
 * `partial` while the run is not complete (`isComplete` is the plan's rule).
 */
export function toCells(
  cells: Iterable<CellData>,
  status: RunResults['status'],
  statusReason: string | undefined,
  isComplete: (c: CellData) => boolean,
): Cell[] {
  const out: Cell[] = [];
  for (const c of cells) {
    const metrics = [...c.metrics.values()].map((m) => ({ ...m, summary: summarize(m.values) }));
    const base = { backend: c.backend, workload: c.workload, ...(c.extra ? { extra: c.extra } : {}) };
    if (c.skipped) out.push({ ...base, state: 'skipped', reason: c.skipped, metrics });
    else if (c.failure)
      out.push({
        ...base,
        state: 'failed',
        stage: c.failure.stage,
        error: c.failure.error,
        ...(c.failure.rawLog ? { rawLog: c.failure.rawLog } : {}),
        metrics,
      });
    else if (status !== 'complete' && !isComplete(c))
      out.push({ ...base, state: 'partial', reason: statusReason ?? 'not all repetitions measured yet', metrics });
    else out.push({ ...base, state: 'complete', metrics });
  }
  return out;
}
