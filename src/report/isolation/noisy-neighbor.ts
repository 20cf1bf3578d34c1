/**
 * Noisy neighbour: the part of a victim's alone figure it keeps beside an
 * unrestrained neighbour and beside the neighbour held by each mechanism; from
 * the noisy-neighbor workload's extra (src/workloads/extras/noisy-neighbor.ts).
 */
import type { Cell } from '../../results/types.js';
import { NEIGHBOUR_KINDS as KIND_IDS, neighbourExtra } from '../../workloads/extras/noisy-neighbor.js';
import { emptyView, f, isObj, mean, safeId, typedEntries } from './view.js';
import type { BarChartSpec, BarSeries, ColumnView, ExtraTable, IsolationView } from './view.js';

/** The kinds the workload's extra schema knows, with their titles here. */
const KIND_TITLE: Readonly<Record<(typeof KIND_IDS)[number], string>> = {
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Disk',
  network: 'Network',
};
const NEIGHBOUR_KINDS = KIND_IDS.map((id) => ({ id, title: KIND_TITLE[id] }));

const MECH_LABEL: Record<string, string> = {
  'cpu-weight': 'CPU weight (soft)',
  'cpu-cap': 'CPU cap (hard)',
  'io-weight': 'bfq io weight (soft)',
  'io-throttle': 'IOPS throttle (hard)',
  tc: 'tc rate cap (hard)',
};
const MECH_COLOUR = ['#2563eb', '#16a34a', '#9333ea', '#0891b2'];

export function buildNeighbour(cells: Cell[], _columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const charts: BarChartSpec[] = [];
  const rows: ExtraTable['rows'] = [];
  const findings: string[] = [];
  const notes: string[] = [];
  const kinds: { id: string; title: string }[] = [...NEIGHBOUR_KINDS];
  // Kinds this code does not know by name but that have the shape are drawn too.
  for (const cell of cells) {
    if (!isObj(cell.extra)) continue;
    for (const k of Object.keys(cell.extra)) {
      const m = /^neighbor-(.+)$/.exec(k);
      if (m?.[1] && !kinds.some((x) => x.id === m[1])) kinds.push({ id: m[1], title: m[1] });
    }
  }
  for (const kind of kinds) {
    const name = `neighbor-${kind.id}`;
    const labels: string[] = [];
    const per: {
      backend: string;
      alone: number;
      unit: string;
      kept: Map<string, number>;
      settings: Map<string, string>;
      reps: number;
      order: string | undefined;
      spread: number | undefined;
    }[] = [];
    const mechs: string[] = [];
    for (const cell of cells) {
      // Kinds this code does not know by name are read with the same schema (every kind records the same shape).
      const e = typedEntries(cell, name, neighbourExtra, skipped);
      if (!e) continue;
      const ok = e
        .map((r) => ({ r, a: r.data.alone, w: r.data.withNeighbor, u: r.data.unit }))
        .filter((x): x is { r: (typeof e)[number]; a: number; w: number; u: string | undefined } => {
          if (x.a !== undefined && x.w !== undefined && x.a > 0) return true;
          skipped.push(
            `${cell.backend}: extra "${name}" skipped (repetition ${x.r.repetition}: ` +
              `no positive finite alone and finite withNeighbor)`,
          );
          return false;
        });
      if (!ok.length) continue;
      const u = ok[0]?.u ?? '';
      const kept = new Map<string, number[]>();
      const settings = new Map<string, string>();
      for (const x of ok) {
        kept.set('unrestrained', [...(kept.get('unrestrained') ?? []), (x.w / x.a) * 100]);
        for (const [m, v] of Object.entries(x.r.data.mechanisms ?? {})) {
          const k = v.keptPct;
          if (k === undefined) continue;
          if (!mechs.includes(m)) mechs.push(m);
          kept.set(m, [...(kept.get(m) ?? []), k]);
          if (v.setting) settings.set(m, v.setting);
        }
      }
      const own = ok[0]?.r.data.ownMechanism;
      if (own) notes.push(`${cell.backend}, ${kind.title.toLowerCase()} bandwidth: ${own}.`);
      labels.push(cell.backend);
      const spreads = ok.map((x) => x.r.data.aloneSpreadPct).filter((v): v is number => v !== undefined);
      const spread = spreads.length ? Math.max(...spreads) : undefined;
      if (spread !== undefined && spread > 20)
        notes.push(
          `${cell.backend}, ${kind.title.toLowerCase()}: the victim's two alone runs differ by ${f(spread, 0)}%: ` +
            `the host's own noise is that large, differences below it say nothing.`,
        );
      per.push({
        backend: cell.backend,
        alone: mean(ok.map((x) => x.a)),
        unit: u,
        kept: new Map([...kept].map(([k, v]) => [k, mean(v)])),
        settings,
        reps: ok.length,
        order: ok[0]?.r.data.order,
        spread,
      });
    }
    if (!labels.length) continue;
    const conds = ['unrestrained', ...mechs];
    const series: BarSeries[] = conds.map((c, i) => ({
      label: c === 'unrestrained' ? 'unrestrained neighbour' : `held by ${MECH_LABEL[c] ?? c}`,
      colour: c === 'unrestrained' ? '#ea580c' : (MECH_COLOUR[(i - 1) % MECH_COLOUR.length] as string),
      values: per.map((x) => x.kept.get(c) ?? null),
      lo: per.map(() => null),
      hi: per.map(() => null),
      text: per.map((x) => {
        const v = x.kept.get(c);
        return v === undefined
          ? `${x.backend}: not measured`
          : `${x.backend}: victim kept ${f(v)}% of its ${f(x.alone)} ${x.unit} alone` +
              (x.settings.get(c) ? ` (${x.settings.get(c)})` : '');
      }),
      labelsAbove: per.map((x) => {
        const v = x.kept.get(c);
        return v === undefined ? null : `${f(v, 0)}%`;
      }),
    }));
    const max = Math.max(110, ...series.flatMap((x) => x.values.map((v) => v ?? 0)));
    charts.push({
      type: 'bar',
      id: `chart-noisy-neighbor-${safeId(kind.id)}`,
      title: `${kind.title}: how much of the victim's alone figure each mechanism protects`,
      subtitle:
        'victim beside the neighbour, percent of the victim alone (100% = fully protected); ' +
        'unrestrained = no mechanism',
      axisTitle: '% of the victim alone',
      labels,
      series,
      log: false,
      horizontal: false,
      base: 0,
      suggestedMin: 0,
      suggestedMax: max * 1.1,
      suffix: '%',
    });
    for (const x of per) {
      rows.push({
        backend: x.backend,
        cells: [
          kind.title,
          x.backend,
          `${f(x.alone)} ${x.unit}${x.spread !== undefined ? ` (two runs ${f(x.spread, 0)}% apart)` : ''}`,
          conds.map((c) => `${c} ${x.kept.has(c) ? `${f(x.kept.get(c))}%` : '—'}`).join(' · '),
          [...x.settings.entries()].map(([m, t]) => `${m}: ${t}`).join('; ') || '—',
          x.order ?? '—',
          String(x.reps),
        ],
      });
      const un = x.kept.get('unrestrained');
      const best = mechs
        .filter((m) => x.kept.has(m))
        .map((m) => ({ m, v: x.kept.get(m) as number }))
        .sort((a, b) => b.v - a.v)[0];
      const protects = best
        ? `; ${MECH_LABEL[best.m] ?? best.m} protects the most (${f(best.v, 0)}%)`
        : '; no mechanism measured';
      findings.push(
        `${kind.title}, ${x.backend}: beside an unrestrained neighbour the victim keeps ` +
          `${un === undefined ? '—' : `${f(un, 0)}%`}${protects}.`,
      );
    }
  }
  if (!charts.length) return skipped.length ? emptyView('noisy-neighbor', skipped) : null;
  return {
    kind: 'noisy-neighbor',
    lead:
      'Isolation, not sharing: a victim instance measured alone, beside an unrestrained neighbour of the same ' +
      'backend on the same CPUs, and beside the neighbour held by each mechanism the backend has for that resource ' +
      "(CPU weight and quota; bfq io weight and IOPS throttle on isobench's own device; " +
      "a tc rate cap). The figure is the part of the victim's alone performance each mechanism keeps: " +
      '100% = the neighbour is fully contained.',
    findings,
    charts,
    tables: [
      {
        id: 'noisy-neighbor-figures',
        caption: 'Victim figure kept (% of alone): unrestrained · each mechanism',
        head: [
          'Resource',
          'Backend',
          'Alone',
          'Kept: unrestrained · mechanisms',
          'Mechanism settings',
          'Order',
          'Reps',
        ],
        numeric: [false, false, true, false, false, false, true],
        rows,
      },
    ],
    notes,
    skipped,
  };
}
