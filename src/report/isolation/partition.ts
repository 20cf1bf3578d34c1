/**
 * Partitioning over time: per resource (CPU, disk, network) the share A got
 * against its target while A and B were both busy, and the hard cap on A
 * alone, drawn from the partition workload's extra (src/workloads/extras/partition.ts).
 */
import type { z } from 'zod';
import type { Cell } from '../../results/types.js';
import {
  cpuCapExtra,
  cpuShareExtra,
  diskCapExtra,
  diskShareExtra,
  netCapExtra,
  netShareExtra,
} from '../../workloads/extras/partition.js';
import { RED, TARGET, colourOf, emptyView, f, fx, mean, repNote, signedFx, typedEntries, withUnit } from './view.js';
import type { ColumnView, ExtraTable, IsolationView, LineChartSpec, LineSeries } from './view.js';

type Share = z.output<typeof diskShareExtra>;
type MeasuredShare = Exclude<Share, { notMeasured: string }>;

/** A cap record, whichever resource: the cap, what A achieved under it, and its series. */
interface CapRead {
  repetition: number;
  mechanism: string | undefined;
  unit: string | undefined;
  cap: number;
  achieved: number | undefined;
  series: { tS: number | undefined; rate: number | undefined; counted?: boolean | undefined }[];
}

type Reader<T> = (cell: Cell, skipped: string[]) => T[] | undefined;
const capRead = (
  r: {
    repetition: number;
    data: { mechanism?: string | undefined; seriesUnit?: string | undefined; series: CapRead['series'] };
  },
  cap: number,
  achieved: number | undefined,
): CapRead => ({
  repetition: r.repetition,
  mechanism: r.data.mechanism,
  unit: r.data.seriesUnit,
  cap,
  achieved,
  series: r.data.series,
});

/** Per resource: its record names, how to read them (each with its workload schema), and the cap's default unit. */
const RESOURCES: {
  id: string;
  title: string;
  share: string;
  cap: string;
  unit: string;
  shares: Reader<{ repetition: number; data: Share }>;
  caps: Reader<CapRead>;
}[] = [
  {
    id: 'cpu',
    title: 'CPU',
    share: 'cpu-share',
    cap: 'cpu-cap',
    unit: '% of a CPU',
    shares: (c, s) => typedEntries(c, 'cpu-share', cpuShareExtra, s),
    caps: (c, s) =>
      typedEntries(c, 'cpu-cap', cpuCapExtra, s)?.map((r) => capRead(r, r.data.capPct, r.data.achievedPct)),
  },
  {
    id: 'disk',
    title: 'Disk',
    share: 'disk-share',
    cap: 'disk-cap',
    unit: 'IOPS',
    shares: (c, s) => typedEntries(c, 'disk-share', diskShareExtra, s),
    caps: (c, s) => typedEntries(c, 'disk-cap', diskCapExtra, s)?.map((r) => capRead(r, r.data.capIops, r.data.iops)),
  },
  {
    id: 'net',
    title: 'Network',
    share: 'net-share',
    cap: 'net-cap',
    unit: 'Mbit/s',
    shares: (c, s) => typedEntries(c, 'net-share', netShareExtra, s),
    caps: (c, s) =>
      typedEntries(c, 'net-cap', netCapExtra, s)?.map((r) => capRead(r, r.data.capMbit, r.data.iperfMbps)),
  },
];

/** The parts of a partition run: the prefix of their metrics and extra records, and their title. */
export const PARTITION_PARTS: readonly { id: string; title: string }[] = RESOURCES.map(({ id, title }) => ({
  id,
  title,
}));

interface Point {
  tS: number;
  y: number;
  counted: boolean;
}

/**
 * A series whose every point has a finite time and value (a non-finite point makes the record unreadable, as before).
 */
function finite<T extends { tS: number | undefined; counted?: boolean | undefined }>(
  series: readonly T[],
  y: (p: T) => number | undefined,
): Point[] | undefined {
  const out: Point[] = [];
  for (const p of series) {
    const v = y(p);
    if (p.tS === undefined || v === undefined) return undefined;
    out.push({ tS: p.tS, y: v, counted: p.counted !== false });
  }
  return out;
}

/** "cpu.shares (cgroup v1), weights 1000:250", "blkio throttle: hard caps 160:40 IOPS", "tc htb …". */
function shareMechanism(
  res: string,
  d: MeasuredShare,
  capMechanism: string | undefined,
): { text: string; hardThrottle: boolean; reason: string | undefined } {
  const m = d.mechanism ?? 'not recorded';
  const weights = d.weights;
  if (res === 'disk') {
    const v1 = capMechanism?.startsWith('blkio') ?? false;
    const v2 = capMechanism?.startsWith('io.') ?? false;
    const reason = d.mechanismReason;
    if (m === 'throttle') {
      const caps = d.capsIops;
      return {
        text:
          `${v1 ? 'blkio throttle (cgroup v1)' : v2 ? 'io.max throttle (cgroup v2)' : 'throttle'}: ` +
          `hard caps${caps ? ` ${caps.map((x) => f(x, 0)).join(':')} IOPS` : ''}`,
        hardThrottle: true,
        reason,
      };
    }
    if (m === 'weight')
      return {
        text:
          (v1 ? 'blkio.weight (cgroup v1)' : v2 ? 'io.weight (cgroup v2)' : 'io weight') +
          (weights ? ` ${weights.join(':')}` : ''),
        hardThrottle: false,
        reason,
      };
    return { text: m, hardThrottle: false, reason };
  }
  return { text: `${m}${weights ? `, weights ${weights.join(':')}` : ''}`, hardThrottle: false, reason: undefined };
}

/**
 * Disk: did an idle B lend its share to A (work-conserving), or was A held near its target? Table text, and a finding.
 */
function workConservingText(backend: string, ok: { data: MeasuredShare }[], tgt: number, findings: string[]): string {
  const wc = ok
    .map((x) => x.data.workConserving)
    .filter((x): x is NonNullable<MeasuredShare['workConserving']> => x !== undefined);
  if (!wc.length) return '';
  const alonePct = mean(wc.map((x) => x.alonePct ?? Number.NaN));
  const thr = wc[0]?.thresholdPct;
  // Older files carry only pass: true/false.
  const verdicts = wc.map((x) => x.verdict ?? (x.pass === true ? 'work-conserving' : 'not work-conserving'));
  const verdict = verdicts.includes('not work-conserving')
    ? 'not work-conserving'
    : verdicts.every((v) => v === 'work-conserving')
      ? 'work-conserving'
      : 'inconclusive';
  const label =
    verdict === 'not work-conserving'
      ? 'NOT work-conserving'
      : verdict === 'inconclusive'
        ? 'work-conserving check inconclusive (device too noisy)'
        : 'work-conserving';
  const outcome = verdict === 'work-conserving' ? 'passes' : verdict === 'inconclusive' ? 'cannot decide' : 'fails';
  findings.push(
    `${backend}: disk ${outcome} the work-conserving check: with B idle and the weights set, ` +
      `A got ${f(alonePct)}% of what it gets with no weights (a cap would hold it near ${f(tgt)}%).`,
  );
  return (
    `; A alone (B idle, weights set): ${f(alonePct)}% of A alone without weights, ` +
    `${label} (passes at ≥ ${f(thr)}%)`
  );
}

export function buildPartition(cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const charts: LineChartSpec[] = [];
  const shareRows: ExtraTable['rows'] = [];
  const capRows: ExtraTable['rows'] = [];
  const notes: string[] = [];
  const findings: string[] = [];
  let any = false;
  let throttleReason: string | undefined;
  let throttleSeen = false;
  let target: number | undefined;

  for (const res of RESOURCES) {
    const shareSeriesOut: LineSeries[] = [];
    const capSeriesOut: LineSeries[] = [];
    let capLine: number | undefined;
    let capUnit: string | undefined;
    let resTarget: number | undefined;
    let tMax = 0;
    const errors: { backend: string; err: number }[] = [];
    for (const cell of cells) {
      const colour = colourOf(columns, cell.backend);
      const share = res.shares(cell, skipped);
      const cap = res.caps(cell, skipped);
      const capMech = cap?.map((r) => r.mechanism).find((x) => x !== undefined);
      if (share) {
        // A share the workload could not measure (no weights that take effect) says why; it is not a skipped shape.
        const ok: { repetition: number; data: MeasuredShare; series: Point[]; achieved: number }[] = [];
        for (const r of share) {
          const d = r.data;
          if ('notMeasured' in d && typeof d.notMeasured === 'string') {
            notes.push(
              `${cell.backend}: ${res.title.toLowerCase()} share not measured in ` +
                `repetition ${r.repetition}: ${d.notMeasured}`,
            );
            continue;
          }
          const m = d as MeasuredShare;
          const series = finite(m.series, (p) => p.aPct);
          if (series && m.achievedPct !== undefined)
            ok.push({ repetition: r.repetition, data: m, series, achieved: m.achievedPct });
          else
            skipped.push(
              `${cell.backend}: extra "${res.share}" skipped (repetition ${r.repetition}: ` +
                `achievedPct or a series point is not a finite number)`,
            );
        }
        const first = ok[0];
        if (first) {
          any = true;
          const tgt = first.data.targetPct;
          resTarget ??= tgt;
          target ??= tgt;
          const achieved = mean(ok.map((x) => x.achieved));
          const err = achieved - tgt;
          errors.push({ backend: cell.backend, err });
          const mech = shareMechanism(res.id, first.data, capMech);
          if (mech.hardThrottle) {
            throttleSeen = true;
            throttleReason ??= mech.reason;
          }
          tMax = Math.max(tMax, ...first.series.map((p) => p.tS));
          shareSeriesOut.push({
            label: `${cell.backend}${ok.length > 1 ? ` (${repNote(ok)})` : ''}`,
            colour,
            points: first.series.map((p) => ({ x: p.tS, y: p.y })),
            hollow: first.series.map((p) => !p.counted),
            text: first.series.map(
              (p) => `A got ${f(p.y)}% at ${f(p.tS, 2)} s${p.counted ? '' : ' (outside the counted window)'}`,
            ),
          });
          const wcText = workConservingText(cell.backend, ok, tgt, findings);
          shareRows.push({
            backend: cell.backend,
            cells: [
              res.title,
              cell.backend,
              `${f(tgt)}%`,
              `${fx(achieved, 2)}%`,
              `${signedFx(err, 2)} pp`,
              `${mech.text}${wcText}`,
              String(ok.length),
            ],
          });
        }
      }
      if (cap) {
        const ok: (Omit<CapRead, 'series'> & { series: Point[] })[] = [];
        for (const r of cap) {
          const series = finite(r.series, (p) => p.rate);
          if (series) ok.push({ ...r, series });
          else
            skipped.push(
              `${cell.backend}: extra "${res.cap}" skipped (repetition ${r.repetition}: ` +
                `a series point is not a finite number)`,
            );
        }
        const first = ok[0];
        if (first) {
          any = true;
          capLine ??= first.cap;
          const unit = first.unit ?? res.unit;
          capUnit ??= unit;
          const achievedVals = ok.map((x) => x.achieved).filter((x): x is number => x !== undefined);
          const achieved = achievedVals.length ? mean(achievedVals) : undefined;
          tMax = Math.max(tMax, ...first.series.map((p) => p.tS));
          capSeriesOut.push({
            label: `${cell.backend}${ok.length > 1 ? ` (${repNote(ok)})` : ''}`,
            colour,
            points: first.series.map((p) => ({ x: p.tS, y: p.y })),
            hollow: first.series.map((p) => !p.counted),
            text: first.series.map(
              (p) => `${f(p.y)} ${unit} at ${f(p.tS, 2)} s${p.counted ? '' : ' (outside the counted window)'}`,
            ),
          });
          capRows.push({
            backend: cell.backend,
            cells: [
              res.title,
              cell.backend,
              withUnit(f(first.cap), unit),
              achieved === undefined ? '—' : withUnit(fx(achieved, 1), unit),
              achieved === undefined ? '—' : `${signedFx(((achieved - first.cap) / first.cap) * 100, 1)}%`,
              `${first.mechanism ?? 'not recorded'}`,
              String(ok.length),
            ],
          });
        }
      }
    }
    if (shareSeriesOut.length) {
      const t = resTarget ?? 80;
      shareSeriesOut.push({
        label: `target ${f(t)}%`,
        colour: TARGET,
        points: [
          { x: 0, y: t },
          { x: tMax || 1, y: t },
        ],
        dashed: true,
        noPoints: true,
        text: [`target ${f(t)}%`, `target ${f(t)}%`],
      });
      charts.push({
        type: 'line',
        id: `chart-partition-${res.id}-share`,
        title: `${res.title}: share of instance A over time (target ${f(t)}%)`,
        subtitle: "A's part of A + B per sampling interval, both busy; hollow: outside the counted window",
        xTitle: 'time (s)',
        yTitle: "A's share (%)",
        ySuffix: '%',
        yMin: 0,
        yMax: 100,
        series: shareSeriesOut,
      });
      const worst = errors.reduce(
        (a, b) => (Math.abs(b.err) > Math.abs(a.err) ? b : a),
        errors[0] as { backend: string; err: number },
      );
      findings.push(
        `${res.title} share: every backend within ${fx(Math.abs(worst.err), 2)} pp of the ${f(t)}% target ` +
          `(largest error: ${worst.backend}, ${signedFx(worst.err, 2)} pp).`,
      );
    }
    if (capSeriesOut.length && capLine !== undefined) {
      capSeriesOut.push({
        label: `cap ${f(capLine)} ${capUnit ?? ''}`.trim(),
        colour: RED,
        points: [
          { x: 0, y: capLine },
          { x: tMax || 1, y: capLine },
        ],
        dashed: true,
        noPoints: true,
        text: [`cap ${f(capLine)}`, `cap ${f(capLine)}`],
      });
      charts.push({
        type: 'line',
        id: `chart-partition-${res.id}-cap`,
        title: `${res.title}: hard cap on A alone (${f(capLine)} ${capUnit ?? ''})`.replace(/ \)/, ')'),
        subtitle: 'A alone under the cap, per sampling interval; dashed: the cap; hollow: outside the counted window',
        xTitle: 'time (s)',
        yTitle: capUnit ?? '',
        ySuffix: '',
        yMin: 0,
        yMax: undefined,
        series: capSeriesOut,
      });
    }
  }
  if (!any) return skipped.length ? emptyView('partition', skipped) : null;
  if (throttleSeen) {
    notes.push(
      `Disk “shares” on this host are hard throttles, ` +
        `not weights${throttleReason ? ` (${throttleReason.replace(/\.$/, '')})` : ''}: ` +
        `A and B each get a fixed IOPS cap in the ${f(target ?? 80)}:${f(100 - (target ?? 80))} ratio, ` +
        `so the split holds by construction and an idle B's part is not lent to A. A weight would be ` +
        `work-conserving; a throttle is not.`,
    );
  }
  return {
    kind: 'partition',
    lead:
      `Two instances, A and B, both busy; A should get ${f(target ?? 80)}% of the resource. The share is A's ` +
      `part of what both achieved, per sampling interval; the achieved figure is the mean over the counted window ` +
      `(both parties busy, edges excluded). The hard cap runs A alone under a limit.`,
    findings,
    charts,
    tables: [
      {
        id: 'partition-shares',
        caption: 'Shares: target vs achieved',
        head: ['Resource', 'Backend', 'Target', 'Achieved (mean, counted window)', 'Error', 'Mechanism', 'Reps'],
        numeric: [false, false, true, true, true, false, true],
        rows: shareRows,
      },
      {
        id: 'partition-caps',
        caption: 'Hard caps: cap vs achieved',
        head: ['Resource', 'Backend', 'Cap', 'Achieved', 'Error', 'Mechanism', 'Reps'],
        numeric: [false, false, true, true, true, false, true],
        rows: capRows,
      },
    ].filter((t) => t.rows.length > 0),
    notes,
    skipped,
  };
}
