/**
 * Density: host memory used as idle instances are added (MemAvailable drop and
 * summed PSS), the marginal cost per instance, the budget and KSM; from the
 * density workload's extra (src/workloads/extras/density.ts).
 */
import type { z } from 'zod';
import type { Cell } from '../../results/types.js';
import { densityExtra } from '../../workloads/extras/density.js';
import { colourOf, emptyView, f, mean, repNote, slope, typedEntries } from './view.js';
import type { ColumnView, ExtraTable, IsolationView, LineSeries } from './view.js';

type Density = z.output<typeof densityExtra>;
type KsmState = NonNullable<NonNullable<Density['ksm']>['atStart']>;

function ksmText(v: KsmState | null | undefined): string {
  if (!v) return 'not recorded';
  const run = v.run;
  const sharing = v.pagesSharing;
  const state = run === undefined ? '' : run === 1 ? 'on' : run === 0 ? 'off' : `run=${run}`;
  const shared =
    sharing !== undefined
      ? `${f((sharing * 4096) / 1048576, 0)} MiB ${run === 0 ? 'still merged from earlier' : 'merged'} ` +
        `(pages_sharing ${f(sharing, 0)})`
      : '';
  return [state, shared].filter(Boolean).join('; ') || 'not recorded';
}

export function buildDensity(cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const series: LineSeries[] = [];
  const rows: ExtraTable['rows'] = [];
  const findings: string[] = [];
  let maxN = 0;
  for (const cell of cells) {
    const e = typedEntries(cell, 'density', densityExtra, skipped);
    if (!e) continue;
    // Every level needs a finite count and memory figures, and the baseline too (as the reader always required).
    const ok = e
      .map((r) => ({ r, base: r.data.baselineMemAvailMiB, levels: finiteLevels(r.data.levels) }))
      .filter((x): x is { r: (typeof e)[number]; base: number; levels: Level[] } => {
        if (x.levels && x.base !== undefined) return true;
        skipped.push(
          `${cell.backend}: extra "density" skipped (repetition ${x.r.repetition}: baselineMemAvailMiB or a level's ` +
            `memAvailMiB/pssSumMiB is not a finite number)`,
        );
        return false;
      });
    const first = ok[0];
    if (!first) continue;
    const base = first.base;
    const lv = first.levels;
    const xs = [0, ...lv.map((l) => l.instances)];
    const memUsed = [0, ...lv.map((l) => base - l.memAvailMiB)];
    const pss = [0, ...lv.map((l) => l.pssSumMiB)];
    // Marginal cost per instance: mean over repetitions of the least-squares slope (as the workload computes it).
    const slopes = ok.map((x) => {
      const xx = [0, ...x.levels.map((l) => l.instances)];
      return {
        mem: slope(xx, [0, ...x.levels.map((l) => x.base - l.memAvailMiB)]),
        pss: slope(xx, [0, ...x.levels.map((l) => l.pssSumMiB)]),
      };
    });
    const memFits = ok.map((x) => x.r.data.fit?.memAvail?.slope);
    const memSlope = memFits.every((v) => v !== undefined) ? mean(memFits as number[]) : mean(slopes.map((s) => s.mem));
    // The workload's fit (over the measured levels, with a CI) when recorded; else the recomputed slope.
    const fits = ok.map((x) => x.r.data.fit?.pss);
    const recorded = fits.every((x) => x?.slope !== undefined);
    const pssSlope = recorded ? mean(fits.map((x) => x?.slope as number)) : mean(slopes.map((s) => s.pss));
    const ci = fits.length === 1 ? (fits[0]?.ci95 ?? undefined) : undefined;
    const ciText =
      ci && ci[0] !== undefined && ci[1] !== undefined
        ? ` (95% CI ${f(ci[0])} to ${f(ci[1])}, ${f(fits[0]?.n, 0)} levels)`
        : '';
    const budget = first.r.data.budget;
    const budgetMiB = budget?.budgetMiB;
    const inBudget = budget?.instancesInBudget;
    const projected = budget?.projected;
    const range = budget?.projectedRange ?? undefined;
    const projText =
      projected !== undefined
        ? `projected ${f(projected, 0)}` +
          (range?.[0] !== undefined && range[1] !== undefined ? ` (${f(range[0], 0)}–${f(range[1], 0)})` : '')
        : 'no projection (no positive cost per instance)';
    const budgetText =
      budgetMiB === undefined
        ? 'no budget set'
        : inBudget !== undefined
          ? `${f(inBudget, 0)} ` +
            `(measured: instance ${f(inBudget + 1, 0)} took the summed PSS over ${f(budgetMiB, 0)} MiB)`
          : `not reached: ${projText}`;
    const colour = colourOf(columns, cell.backend);
    maxN = Math.max(maxN, ...xs);
    const sfx = ok.length > 1 ? `, ${repNote(ok.map((x) => x.r))}` : '';
    series.push({
      label: `${cell.backend} MemAvailable Δ (${signedMiB(memSlope)}/instance${sfx})`,
      colour,
      points: xs.map((x, i) => ({ x, y: memUsed[i] as number })),
      text: xs.map((x, i) => `${x} instances: host MemAvailable down ${f(memUsed[i])} MiB from the baseline`),
    });
    series.push({
      label: `${cell.backend} summed PSS (${signedMiB(pssSlope)}/instance)`,
      colour,
      dashed: true,
      points: xs.map((x, i) => ({ x, y: pss[i] as number })),
      text: xs.map((x, i) => `${x} instances: summed PSS ${f(pss[i])} MiB`),
    });
    const stopped = first.r.data.stopped;
    const ksm = first.r.data.ksm;
    const meas = ksm?.measurement;
    const after = meas
      ? (meas.skipped ??
        `${ksmText(meas.after)}; at ${f(lv[lv.length - 1]?.instances, 0)} instances MemAvailable Δ ` +
          `${f(base - (meas.memAvailMiB ?? Number.NaN))} MiB, ` +
          `PSS ${f(meas.pssSumMiB)} MiB${meas.settled === false ? ' (not settled)' : ''}`)
      : 'not measured (KSM off in the scenario)';
    const maxInst = lv[lv.length - 1]?.instances;
    rows.push({
      backend: cell.backend,
      cells: [
        cell.backend,
        `${signedMiB(memSlope)}`,
        `${signedMiB(pssSlope)}${ciText}`,
        budgetMiB === undefined ? '—' : `${f(budgetMiB, 0)} MiB`,
        budgetText,
        stopped ? `${stopped.reason ?? '?'}: ${stopped.detail ?? ''}`.replace(/: $/, '') : 'not recorded',
        ksm ? ksmText(ksm.atStart) : 'not recorded',
        after,
      ],
    });
    const stopWhy =
      stopped?.reason === 'cap'
        ? `stopped at cap ${maxInst ?? '?'} (the scenario's bound, not a result)`
        : `stopped at ${maxInst ?? '?'} instances (${stopped?.reason ?? 'reason not recorded'})`;
    const budgetPart = budgetMiB !== undefined ? `in a ${f(budgetMiB, 0)} MiB budget: ${budgetText}; ` : '';
    findings.push(
      `${cell.backend}: ${signedMiB(pssSlope)} PSS${ciText} and ${signedMiB(memSlope)} of host MemAvailable per ` +
        `idle instance; ${budgetPart}${stopWhy}.`,
    );
  }
  if (!series.length) return skipped.length ? emptyView('density', skipped) : null;
  return {
    kind: 'density',
    lead:
      'Host memory used as idle instances are added, per backend: the drop of MemAvailable from the baseline ' +
      "(solid; includes page cache and kernel memory, noisy at a few MiB) and the instances' summed PSS " +
      '(dashed). The legend gives the marginal cost per instance: the least-squares slope over the measured ' +
      'levels (the empty host is drawn, not fitted). Instances per budget: measured where the sweep crossed the ' +
      "scenario's budget; a projection (budget / slope) where it stopped at the scenario's cap first.",
    findings,
    charts: [
      {
        type: 'line',
        id: 'chart-density-memory',
        title: 'Density: host memory used vs number of idle instances',
        subtitle:
          'solid: MemAvailable drop from the baseline; dashed: summed PSS of the instances; ' +
          'legend: slope = marginal MiB per instance',
        xTitle: 'idle instances',
        yTitle: 'MiB',
        ySuffix: '',
        yMin: undefined,
        yMax: undefined,
        xMin: 0,
        xMax: maxN,
        xStep: 1,
        series,
      },
    ],
    tables: [
      {
        id: 'density-levels',
        caption: 'Marginal cost, where it stopped and KSM',
        head: [
          'Backend',
          'MemAvailable Δ per instance',
          'PSS per instance',
          'Budget (summed PSS)',
          'Instances in the budget',
          'Stopped because',
          'KSM at start',
          'KSM at the top level',
        ],
        numeric: [false, true, true, true, false, false, false, false],
        rows,
      },
    ],
    notes: [],
    skipped,
  };
}

function signedMiB(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${f(Math.abs(v))} MiB`;
}

interface Level {
  instances: number;
  memAvailMiB: number;
  pssSumMiB: number;
}

/** The levels when every figure in them is finite; undefined otherwise (the record cannot be drawn). */
function finiteLevels(levels: Density['levels']): Level[] | undefined {
  const out: Level[] = [];
  for (const l of levels) {
    if (l.memAvailMiB === undefined || l.pssSumMiB === undefined) return undefined;
    out.push({ instances: l.instances, memAvailMiB: l.memAvailMiB, pssSumMiB: l.pssSumMiB });
  }
  return out;
}
