/**
 * The isolation categories' own views, built from cell.extra (what the
 * partition, memory-gradient, density, noisy-neighbor and startup workloads
 * record per repetition with ctx.recordExtra): time series of the achieved
 * share and cap, the memory-limit gradient and how it ended, host memory
 * against the number of idle instances, the alone-vs-with-neighbour figures
 * and the start-up stages. One file per section.
 *
 * Pure. extra comes from results.json, written by whatever version of a
 * workload ran: each entry is parsed with the workload's own schema
 * (src/workloads/extras/), so a section reads typed data, and a shape it
 * cannot read is skipped with a note naming the field, never a crash; every
 * string is passed on as text (the renderers escape).
 */
import type { Cell } from '../../results/types.js';
import { workloadDeclaration, type IsolationViewKind } from '../../core/declarations.js';
import { buildDensity } from './density.js';
import { buildGradient } from './memory-gradient.js';
import { buildNeighbour } from './noisy-neighbor.js';
import { buildPartition } from './partition.js';
import { buildStartup } from './startup.js';
import { emptyView, isObj, orderedCells, type ColumnView, type IsolationView } from './view.js';

export type { ExtraTable, IsolationView } from './view.js';
export { slope } from './view.js';
export { gradientReading, gradientRatioReading } from './memory-gradient.js';

/** The isolation view of a category: the one its workload declares (null when none, or no extra recorded). */
export function buildIsolation(workload: string, cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const kind = workloadDeclaration(workload)?.isolation?.view;
  if (!kind) return null;
  const mine = orderedCells(cells, workload, columns).filter((c) => isObj(c.extra));
  if (mine.length === 0) return null;
  const view = buildView(kind, workload, mine, columns);
  const skipped = skippedPartNotes(mine);
  return view && skipped.length ? { ...view, notes: [...skipped, ...view.notes] } : view;
}

/**
 * One note per part the host could not run (cells[].extra.skippedParts), the backends that
 * skipped it, the reason and the fix: a skipped part is shown as skipped, never as a zero.
 */
export function skippedPartNotes(cells: Cell[]): string[] {
  const byPart = new Map<string, { backends: string[]; reason: string; fix: string }>();
  for (const c of cells) {
    const list = c.extra?.skippedParts;
    if (!Array.isArray(list)) continue;
    for (const e of list as Array<{ data?: { part?: unknown; reason?: unknown; fix?: unknown } }>) {
      const d = e?.data;
      if (typeof d?.part !== 'string' || typeof d.reason !== 'string') continue;
      const key = `${d.part}\u0000${d.reason}`;
      const cur = byPart.get(key) ?? { backends: [], reason: d.reason, fix: typeof d.fix === 'string' ? d.fix : '' };
      if (!cur.backends.includes(c.backend)) cur.backends.push(c.backend);
      byPart.set(key, cur);
    }
  }
  return [...byPart].map(
    ([key, v]) =>
      `Skipped on this host: ${key.split('\u0000')[0]} (${v.backends.join(', ')}): ` +
      `${v.reason}.${v.fix ? ` Fix: ${v.fix}.` : ''}`,
  );
}

function buildView(
  kind: IsolationViewKind,
  workload: string,
  mine: Cell[],
  columns: ColumnView[],
): IsolationView | null {
  try {
    switch (kind) {
      case 'partition':
        return buildPartition(mine, columns);
      case 'memory-gradient':
        return buildGradient(mine, columns);
      case 'density':
        return buildDensity(mine, columns);
      case 'noisy-neighbor':
        return buildNeighbour(mine, columns);
      case 'startup':
        return buildStartup(mine);
    }
  } catch (e) {
    // A shape no reader above foresaw: the category still renders its metric table.
    return emptyView(kind, [`extra of ${workload} could not be read (${e instanceof Error ? e.message : String(e)})`]);
  }
}
