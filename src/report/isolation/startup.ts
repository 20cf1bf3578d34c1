/**
 * Start-up: the definition (one for every backend), how each backend's payload
 * signalled, and its stages (medians over all starts); from the startup
 * workload's extra (src/workloads/extras/startup.ts).
 */
import type { Cell } from '../../results/types.js';
import { startupExtra } from '../../workloads/extras/startup.js';
import { emptyView, f, median, typedEntries } from './view.js';
import type { ExtraTable, IsolationView } from './view.js';

/**
 * The start-up definition (one for every backend), how each backend's payload signalled, and its stages
 * (medians over all starts).
 */
export function buildStartup(cells: Cell[]): IsolationView | null {
  const rows: ExtraTable['rows'] = [];
  const signals: string[] = [];
  const skipped: string[] = [];
  let definition = '';
  for (const cell of cells) {
    const e = typedEntries(cell, 'startup', startupExtra, skipped);
    if (!e) continue;
    const starts = e.flatMap((r) => r.data.starts ?? []);
    const stage = (k: string): number[] => starts.map((x) => x.stages?.[k]).filter((v): v is number => v !== undefined);
    const signal = e.map((r) => r.data.signal ?? '').find((x) => x) ?? '—';
    definition ||= e.map((r) => r.data.definition ?? '').find((x) => x) ?? '';
    const ms = (k: string): string => {
      const v = median(stage(k));
      return v === undefined ? '—' : `${f(v)} ms`;
    };
    rows.push({
      backend: cell.backend,
      cells: [
        cell.backend,
        ms('launchToPayloadMs'),
        ms('prepareMs'),
        ms('networkAttachMs'),
        ms('payloadToFirstExecMs'),
        ms('readyMs'),
        String(starts.length),
      ],
    });
    // A sentence per backend, under the table: as a column it made the table wider than its card.
    if (signal) signals.push(`${cell.backend}: ${signal}`);
  }
  if (!rows.length) return skipped.length ? emptyView('startup', skipped) : null;
  return {
    kind: 'startup',
    lead:
      `One start-up definition for every backend: ${definition || "launch to the payload's own ready signal"}. ` +
      `The start-up figure (startup-ms) is launch to signal; ` +
      `the other stages are shown on their own and are not inside it.`,
    findings: [],
    charts: [],
    tables: [
      {
        id: 'startup-stages',
        caption: 'Start-up and its stages (medians over every start)',
        head: [
          'Backend',
          'Start-up: launch to payload signal',
          'Preparation (start() to launch)',
          'of which network attachment',
          'Signal to first exec',
          'start() to first exec',
          'Starts',
        ],
        numeric: [false, true, true, true, true, true, true],
        rows,
      },
    ],
    notes: signals.map((x) => `How the payload signalled, ${x}`),
    skipped,
  };
}
