/**
 * What every isolation section shares: the view it returns, the typed reader
 * of cell.extra (each entry parsed with the workload's own extra schema from
 * src/workloads/extras/, so a section reads typed data and a shape it cannot
 * read is skipped with the zod issue as the reason, never a crash), and the
 * number formatting of the isolation tables.
 */
import type { z } from 'zod';
import type { Cell } from '../../results/types.js';
import type { IsolationViewKind } from '../../core/declarations.js';
// The chart and column shapes of the view model: the only names taken from model.ts.
import type { BarChartSpec, BarSeries, LineChartSpec, LineSeries } from '../charts/types.js';
import type { ColumnView } from '../columns.js';
import { linearFit } from '../../stats/index.js';

export type { BarChartSpec, BarSeries, ColumnView, LineChartSpec, LineSeries };

/** A table as plain strings: the HTML and Markdown renderers escape and lay it out. */
export interface ExtraTable {
  id: string;
  caption: string;
  head: string[];
  /** Right-aligned (numeric) columns. */
  numeric: boolean[];
  rows: { backend: string | undefined; cells: string[] }[];
}

export interface IsolationView {
  kind: IsolationViewKind;
  /** What the section shows, one paragraph. */
  lead: string;
  /** Findings derived from the data, one sentence each. */
  findings: string[];
  charts: (LineChartSpec | BarChartSpec)[];
  tables: ExtraTable[];
  /** Caveats (e.g. disk "shares" that are hard throttles on this host). */
  notes: string[];
  /** Extra entries that could not be read, and why. */
  skipped: string[];
}

export const RED = '#dc2626';
export const TARGET = '#0f172a';

export function emptyView(kind: IsolationView['kind'], skipped: string[]): IsolationView {
  return { kind, lead: '', findings: [], charts: [], tables: [], notes: [], skipped };
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function skipNote(backend: string, name: string, why: string): string {
  return `${backend}: extra "${name}" skipped (${why})`;
}

/**
 * cell.extra[name] as [{repetition, data}] in repetition order, each data parsed
 * with the workload's schema. Entries that are not {repetition, data} are counted
 * in one note; an entry whose data does not match is skipped with its first zod
 * issue (path and message). undefined when the cell has no such extra.
 */
export function typedEntries<S extends z.ZodType>(
  cell: Cell,
  name: string,
  schema: S,
  skipped: string[],
): { repetition: number; data: z.output<S> }[] | undefined {
  const extra = cell.extra;
  if (!isObj(extra) || !(name in extra)) return undefined;
  const raw = extra[name];
  if (!Array.isArray(raw)) {
    skipped.push(skipNote(cell.backend, name, `${plural(1, 'entry')} without {repetition, data}`));
    return [];
  }
  const reps: { repetition: number; data: z.output<S> }[] = [];
  const refused: string[] = [];
  let bad = 0;
  raw.forEach((e: unknown, i) => {
    if (!isObj(e) || !isObj(e.data)) {
      bad++;
      return;
    }
    const repetition = typeof e.repetition === 'number' && Number.isFinite(e.repetition) ? e.repetition : i + 1;
    const parsed = schema.safeParse(e.data);
    if (parsed.success) reps.push({ repetition, data: parsed.data });
    else {
      const issue = parsed.error.issues[0];
      refused.push(
        skipNote(
          cell.backend,
          name,
          `repetition ${repetition}: ` +
            `${issue ? `${issue.path.map(String).join('.') || 'data'}: ${issue.message}` : 'invalid'}`,
        ),
      );
    }
  });
  if (bad) skipped.push(skipNote(cell.backend, name, `${plural(bad, 'entry')} without {repetition, data}`));
  skipped.push(...refused);
  reps.sort((a, b) => a.repetition - b.repetition);
  return reps;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Least-squares slope (src/stats), NaN where it is undefined (fewer than 2 points, all x equal). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  try {
    return linearFit(xs, ys).slope;
  } catch {
    return Number.NaN;
  }
}

export function f(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const d = a >= 1000 ? 0 : a >= 100 ? Math.min(digits, 0) : digits;
  return v.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: Math.max(0, d) });
}

/** Fixed decimals with thousands separators: "79.98". */
export function fx(v: number | undefined, d: number): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** A signed difference with fixed decimals: "+0.12", "−4.1", "±0.00". */
export function signedFx(v: number, d: number): string {
  const t = fx(Math.abs(v), d);
  if (Number(t.replace(/,/g, '')) === 0) return `±${t}`;
  return v > 0 ? `+${t}` : `−${t}`;
}

/** "50% of a CPU", "150 IOPS". */
export function withUnit(v: string, unit: string): string {
  return unit.startsWith('%') ? `${v}${unit}` : `${v} ${unit}`;
}

export function plural(n: number, word: string): string {
  if (word === 'entry') return n === 1 ? '1 entry' : `${n} entries`;
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

export function colourOf(columns: ColumnView[], backend: string): string {
  return columns.find((c) => c.label === backend)?.colour ?? '#334155';
}

export function orderedCells(cells: Cell[], workload: string, columns: ColumnView[]): Cell[] {
  const mine = cells.filter((c) => c.workload === workload);
  const idx = (b: string): number => {
    const i = columns.findIndex((c) => c.label === b);
    return i === -1 ? columns.length : i;
  };
  return [...mine].sort((a, b) => idx(a.backend) - idx(b.backend));
}

export function repNote(reps: { repetition: number }[]): string {
  return reps.length > 1 ? `repetition ${reps[0]?.repetition} of ${reps.length}` : '';
}
