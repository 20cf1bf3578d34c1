/**
 * The memory-limit gradient: throughput as the working set grows towards and
 * beyond the limit, limited against a control without the limit, and how the
 * run ended; from the memory-gradient workload's extra
 * (src/workloads/extras/memory-gradient.ts).
 */
import type { Cell } from '../../results/types.js';
import { memoryGradientExtra } from '../../workloads/extras/memory-gradient.js';
import { colourOf, emptyView, f, mean, typedEntries } from './view.js';
import type { ColumnView, ExtraTable, IsolationView, LineSeries } from './view.js';

/**
 * Gradient or cliff from the limited/control ratios (the workload's gradientVerdict,
 * restated on the report's averaged steps): a gradient when a completed step ran below
 * 90% of its control before the end.
 */
export function gradientRatioReading(
  okSteps: { pct: number; ratioPct: number | undefined }[],
  ending: string | undefined,
): { text: string; cliff: boolean } {
  const end = ending ? `then ${ending}` : 'and no step failed';
  if (!okSteps.length) return { text: `no completed step: ${ending ?? 'no data'}`, cliff: true };
  const known = okSteps.filter((s): s is { pct: number; ratioPct: number } => s.ratioPct !== undefined);
  if (known.length < okSteps.length)
    return { text: `no verdict: ${okSteps.length - known.length} completed step(s) have no control run`, cliff: false };
  const low = known.reduce((a, b) => (b.ratioPct < a.ratioPct ? b : a));
  const list = known.map((s) => `${f(s.pct, 0)}%: ${f(s.ratioPct, 0)}%`).join(', ');
  if (low.ratioPct < 90)
    return {
      text:
        `a gradient: at ${f(low.pct, 0)}% of the limit the limited run got ${f(low.ratioPct, 0)}% of its ` +
        `control's throughput before the end (${list})${ending ? `, ${end}` : ''}`,
      cliff: false,
    };
  return {
    text: `a cliff: every completed step kept ≥ 90% of its control's throughput (${list}), ${end}`,
    cliff: true,
  };
}

function endingLabel(outcome: string, pct: number, vm: boolean): string {
  const at = `at ${f(pct, 0)}%`;
  switch (outcome) {
    case 'oom-killed':
      return vm ? `guest OOM ${at}` : `OOM-killed ${at}`;
    case 'killed':
      return `killed ${at}`;
    case 'alloc-failed':
      return `allocation refused ${at}`;
    case 'timeout':
      return `timed out ${at}`;
    case 'error':
      return `error ${at}`;
    default:
      return `${outcome} ${at}`;
  }
}

/** The one-sentence reading of a curve: a cliff or a gradient (the threshold: a 10% drop before the end). */
export function gradientReading(okSteps: { pct: number; mibPerS: number }[], ending: string | undefined): string {
  const first = okSteps[0];
  const last = okSteps[okSteps.length - 1];
  const end = ending ? `then ${ending}` : 'and no step failed';
  if (!first || !last) return `no completed step: ${ending ?? 'no data'}`;
  if (okSteps.length < 2) return `a cliff: one completed step (${f(first.pct, 0)}%), ${end}; no gradient could be seen`;
  const drop = ((first.mibPerS - last.mibPerS) / first.mibPerS) * 100;
  const span = `${f(first.pct, 0)}% → ${f(last.pct, 0)}%`;
  if (drop < 10) return `no gradient: flat (${drop >= 0 ? '−' : '+'}${f(Math.abs(drop))}% over ${span}), ${end}`;
  return `a gradient: throughput fell ${f(drop)}% over ${span} before the end${ending ? ` (${ending})` : ''}`;
}

export function buildGradient(cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const series: LineSeries[] = [];
  const rows: ExtraTable['rows'] = [];
  const readings: { backend: string; text: string; cliff: boolean }[] = [];
  let limit: number | undefined;
  let maxPct = 0;
  for (const cell of cells) {
    const e = typedEntries(cell, 'memory-gradient', memoryGradientExtra, skipped);
    if (!e) continue;
    const ok = e.filter((r) => {
      if (r.data.steps.length) return true;
      skipped.push(`${cell.backend}: extra "memory-gradient" skipped (repetition ${r.repetition}: no steps)`);
      return false;
    });
    if (!ok.length) continue;
    limit ??= ok[0]?.data.limitMiB;
    const col = columns.find((c) => c.label === cell.backend);
    const vm = col?.kind === 'vm' || cell.backend.startsWith('vm');
    // Throughput per step: mean over the repetitions that completed it.
    const byPct = new Map<number, number[]>();
    const ratioByPct = new Map<number, number[]>();
    const ctlByPct = new Map<number, number[]>();
    const usableByPct = new Map<number, number>();
    const endings: { pct: number; outcome: string }[] = [];
    for (const x of ok) {
      for (const s of x.data.steps) {
        if (s.pctOfUsable !== undefined) usableByPct.set(s.pct, s.pctOfUsable);
        const ctl = s.control?.mibPerS;
        if (ctl !== undefined) ctlByPct.set(s.pct, [...(ctlByPct.get(s.pct) ?? []), ctl]);
        if (s.outcome === 'ok' && s.ratioPct !== undefined)
          ratioByPct.set(s.pct, [...(ratioByPct.get(s.pct) ?? []), s.ratioPct]);
        if (s.outcome === 'ok' && s.mibPerS !== undefined) byPct.set(s.pct, [...(byPct.get(s.pct) ?? []), s.mibPerS]);
        else if (s.outcome !== 'ok') {
          endings.push({ pct: s.pct, outcome: s.outcome });
          break;
        }
      }
    }
    const okSteps = [...byPct.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([pct, v]) => ({
        pct,
        mibPerS: mean(v),
        ratioPct: ratioByPct.has(pct) ? mean(ratioByPct.get(pct) as number[]) : undefined,
      }));
    const hasControl = okSteps.some((s) => s.ratioPct !== undefined);
    const usableMiB = ok[0]?.data.usableMiB;
    const firstEnd = endings.sort((a, b) => a.pct - b.pct)[0];
    const endText = firstEnd ? endingLabel(firstEnd.outcome, firstEnd.pct, vm) : undefined;
    const distinct = [...new Set(endings.map((x) => endingLabel(x.outcome, x.pct, vm)))];
    const base = okSteps[0]?.mibPerS;
    const colour = colourOf(columns, cell.backend);
    // With a control: limited / control per step (what the limit costs);
    // older runs without one: relative to the first step.
    const pts = okSteps.map((s) => ({
      x: s.pct,
      y: hasControl ? (s.ratioPct ?? 0) : base ? (s.mibPerS / base) * 100 : 0,
    }));
    const text = okSteps.map((s) => {
      if (!hasControl)
        return (
          `${f(s.pct, 0)}% of the limit: ${f(s.mibPerS, 0)} MiB/s ` +
          `(${f(base ? (s.mibPerS / base) * 100 : 0)}% of the first step)`
        );
      const usable = usableByPct.has(s.pct)
        ? ` (${f(usableByPct.get(s.pct), 0)}% of the usable ${f(usableMiB, 0)} MiB)`
        : '';
      return (
        `${f(s.pct, 0)}% of the limit${usable}: ${f(s.mibPerS, 0)} MiB/s limited, ` +
        `${f(mean(ctlByPct.get(s.pct) ?? []), 0)} MiB/s control = ${f(s.ratioPct)}%`
      );
    });
    const marks: (string | null)[] = okSteps.map(() => null);
    const hollow: boolean[] = okSteps.map(() => false);
    const crosses: boolean[] = okSteps.map(() => false);
    if (firstEnd) {
      // The end: a red ✕ at 0 (the step did not complete), joined to the last completed step.
      pts.push({ x: firstEnd.pct, y: 0 });
      text.push(`${cell.backend}: ${endText ?? ''}`);
      marks.push(`${cell.backend}: ${endText ?? ''}`);
      hollow.push(false);
      crosses.push(true);
    }
    maxPct = Math.max(maxPct, ...pts.map((p) => p.x));
    series.push({
      label: `${cell.backend}${endText ? ` (${endText})` : ''}`,
      colour,
      points: pts,
      text,
      marks,
      crosses,
      hollow,
      dashLast: firstEnd !== undefined,
    });
    if (hasControl) {
      const r = gradientRatioReading(okSteps, endText);
      readings.push({ backend: cell.backend, text: r.text, cliff: r.cliff });
    } else {
      const reading = gradientReading(okSteps, endText);
      readings.push({
        backend: cell.backend,
        text: `${reading} (no control run: raw drop, cache and TLB effects included)`,
        cliff: !reading.startsWith('a gradient'),
      });
    }
    const allPcts = [...new Set([...byPct.keys(), ...ctlByPct.keys()])].sort((a, b) => a - b);
    const limitMiB = ok[0]?.data.limitMiB;
    rows.push({
      backend: cell.backend,
      cells: [
        cell.backend,
        usableMiB !== undefined ? `${f(usableMiB, 0)} MiB of ${f(limitMiB, 0)}` : '—',
        allPcts
          .map((pct) => {
            const lim = byPct.get(pct);
            const ctl = ctlByPct.get(pct);
            const r = ratioByPct.get(pct);
            const u = usableByPct.get(pct);
            return (
              `${f(pct, 0)}%${u !== undefined ? ` (${f(u, 0)}% usable)` : ''}: ${lim ? f(mean(lim), 0) : '✕'} ` +
              `/ ${ctl ? f(mean(ctl), 0) : '—'}${r ? ` = ${f(mean(r), 0)}%` : ''}`
            );
          })
          .join('; ') || '—',
        okSteps.length ? `${f(okSteps[okSteps.length - 1]?.pct, 0)}%` : '—',
        distinct.length ? distinct.join('; ') : 'completed every step',
        String(ok.length),
      ],
    });
  }
  if (!series.length) return skipped.length ? emptyView('memory-gradient', skipped) : null;
  const allCliff = readings.every((r) => r.cliff);
  const anyGradient = readings.some((r) => !r.cliff);
  const overall = allCliff
    ? 'A cliff, not a gradient: on every backend each completed step keeps at least 90% of the same run ' +
      'without the limit, until the working set no longer fits and the next step does not complete.'
    : anyGradient && readings.every((r) => !r.cliff)
      ? 'A gradient: on every backend a completed step ran below 90% of the same run without the limit before the end.'
      : `Mixed: a gradient on ${readings
          .filter((r) => !r.cliff)
          .map((r) => r.backend)
          .join(', ')}, a cliff on ${readings
          .filter((r) => r.cliff)
          .map((r) => r.backend)
          .join(', ')}.`;
  return {
    kind: 'memory-gradient',
    lead:
      `sysbench memory write throughput as the working set grows towards and beyond the instance's memory ` +
      `limit${limit !== undefined ? ` (${f(limit, 0)} MiB)` : ''}: the container's cgroup limit, the VM's guest RAM ` +
      `(of which the guest's kernel and agent take a part: the usable memory, measured inside, ` +
      `is given per backend). Each step also runs, with the same working set and threads, ` +
      `in a control instance far above the limit; the figure is limited / control throughput per step, ` +
      `so the growing working set's own cost (cache, ` +
      `TLB) cancels out. ✕ marks the step that did not complete and how it ended.`,
    findings: [overall, ...readings.map((r) => `${r.backend}: ${r.text}.`)],
    charts: [
      {
        type: 'line',
        id: 'chart-memory-gradient-curve',
        title: 'Memory-limit gradient: throughput vs working set',
        subtitle:
          'limited / control throughput at the same working set (100% = the limit costs nothing); ' +
          '✕ = the step that did not complete (drawn at 0), labelled with how it ended; ' +
          'below 90% before the end = a gradient',
        xTitle: `working set (% of the memory limit${limit !== undefined ? ` of ${f(limit, 0)} MiB` : ''})`,
        yTitle: 'limited / unlimited throughput',
        ySuffix: '%',
        xSuffix: '%',
        yMin: 0,
        yMax: 120,
        xMin: 0,
        xMax: Math.ceil((maxPct + 10) / 10) * 10,
        series,
      },
    ],
    tables: [
      {
        id: 'memory-gradient-steps',
        caption: 'Throughput per step, limited / control (MiB/s) = ratio, and how it ended',
        head: [
          'Backend',
          'Usable memory (measured) of the limit',
          'Steps (% of the limit): limited / control MiB/s = ratio',
          'Last completed',
          'End',
          'Reps',
        ],
        numeric: [false, true, false, true, false, true],
        rows,
      },
    ],
    notes: [],
    skipped,
  };
}
