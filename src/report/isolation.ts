/**
 * The isolation categories' own views, built from cell.extra (what the
 * partition, memory-gradient, density and noisy-neighbor workloads record per
 * repetition with ctx.recordExtra): time series of the achieved share and cap,
 * the memory-limit gradient and how it ended, host memory against the number
 * of idle instances, and the alone-vs-with-neighbour figures.
 *
 * Pure and defensive: extra comes from results.json, written by whatever
 * version of a workload ran. A shape this code does not know is skipped with a
 * note, never a crash; every string is passed on as text (the renderers escape).
 */
import type { Cell } from '../results/types.js';
import type { BarChartSpec, BarSeries, LineChartSpec, LineSeries } from './charts/types.js';
import type { ColumnView } from './columns.js';
import { linearFit } from '../stats/index.js';

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
  kind: 'partition' | 'memory-gradient' | 'density' | 'noisy-neighbor' | 'startup';
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

export const ISOLATION_CATEGORIES: ReadonlySet<string> = new Set(['partition', 'memory-gradient', 'density', 'noisy-neighbor']);

const RED = '#dc2626';
const TARGET = '#0f172a';

// ---------- defensive readers ----------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function nums(v: unknown): number[] | undefined {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) return undefined;
  return v as number[];
}

/** cell.extra[name] as [{repetition, data}] (repetition order); entries without an object `data` are counted as bad. */
function entries(cell: Cell, name: string): { reps: { repetition: number; data: Obj }[]; bad: number } | undefined {
  const extra = cell.extra;
  if (!isObj(extra) || !(name in extra)) return undefined;
  const raw = extra[name];
  if (!Array.isArray(raw)) return { reps: [], bad: 1 };
  const reps: { repetition: number; data: Obj }[] = [];
  let bad = 0;
  raw.forEach((e, i) => {
    if (isObj(e) && isObj(e.data)) reps.push({ repetition: num(e.repetition) ?? i + 1, data: e.data });
    else bad++;
  });
  reps.sort((a, b) => a.repetition - b.repetition);
  return { reps, bad };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Least-squares slope (src/stats), NaN where it is undefined (fewer than 2 points, all x equal). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  try {
    return linearFit(xs, ys).slope;
  } catch {
    return Number.NaN;
  }
}

function f(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const d = a >= 1000 ? 0 : a >= 100 ? Math.min(digits, 0) : digits;
  return v.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: Math.max(0, d) });
}

/** Fixed decimals with thousands separators: "79.98". */
function fx(v: number | undefined, d: number): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** A signed difference with fixed decimals: "+0.12", "−4.1", "±0.00". */
function signedFx(v: number, d: number): string {
  const t = fx(Math.abs(v), d);
  if (Number(t.replace(/,/g, '')) === 0) return `±${t}`;
  return v > 0 ? `+${t}` : `−${t}`;
}

/** "50% of a CPU", "150 IOPS". */
function withUnit(v: string, unit: string): string {
  return unit.startsWith('%') ? `${v}${unit}` : `${v} ${unit}`;
}

function plural(n: number, word: string): string {
  if (word === 'entry') return n === 1 ? '1 entry' : `${n} entries`;
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function colourOf(columns: ColumnView[], backend: string): string {
  return columns.find((c) => c.label === backend)?.colour ?? '#334155';
}

function orderedCells(cells: Cell[], workload: string, columns: ColumnView[]): Cell[] {
  const mine = cells.filter((c) => c.workload === workload);
  const idx = (b: string): number => {
    const i = columns.findIndex((c) => c.label === b);
    return i === -1 ? columns.length : i;
  };
  return [...mine].sort((a, b) => idx(a.backend) - idx(b.backend));
}

function skipNote(backend: string, name: string, why: string): string {
  return `${backend}: extra "${name}" skipped (${why})`;
}

function repNote(reps: { repetition: number }[]): string {
  return reps.length > 1 ? `repetition ${reps[0]?.repetition} of ${reps.length}` : '';
}

// ---------- partitioning ----------

const RESOURCES = [
  { id: 'cpu', title: 'CPU', share: 'cpu-share', cap: 'cpu-cap' },
  { id: 'disk', title: 'Disk', share: 'disk-share', cap: 'disk-cap' },
  { id: 'net', title: 'Network', share: 'net-share', cap: 'net-cap' },
] as const;

interface SharePoint {
  tS: number;
  aPct: number;
  counted: boolean;
}

interface RatePoint {
  tS: number;
  rate: number;
  counted: boolean;
}

function shareSeries(v: unknown): SharePoint[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: SharePoint[] = [];
  for (const p of v) {
    if (!isObj(p)) return undefined;
    const tS = num(p.tS);
    const aPct = num(p.aPct);
    if (tS === undefined || aPct === undefined) return undefined;
    out.push({ tS, aPct, counted: p.counted !== false });
  }
  return out;
}

function rateSeries(v: unknown): RatePoint[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: RatePoint[] = [];
  for (const p of v) {
    if (!isObj(p)) return undefined;
    const tS = num(p.tS);
    const rate = num(p.rate);
    if (tS === undefined || rate === undefined) return undefined;
    out.push({ tS, rate, counted: p.counted !== false });
  }
  return out;
}

/** "cpu.shares (cgroup v1), weights 1000:250", "blkio throttle: hard caps 160:40 IOPS", "tc htb …". */
function shareMechanism(res: string, d: Obj, capMechanism: string | undefined): { text: string; hardThrottle: boolean; reason: string | undefined } {
  const m = str(d.mechanism) ?? 'not recorded';
  const weights = nums(d.weights);
  if (res === 'disk') {
    const v1 = capMechanism?.startsWith('blkio') ?? false;
    const v2 = capMechanism?.startsWith('io.') ?? false;
    const reason = str(d.mechanismReason);
    if (m === 'throttle') {
      const caps = nums(d.capsIops);
      return { text: `${v1 ? 'blkio throttle (cgroup v1)' : v2 ? 'io.max throttle (cgroup v2)' : 'throttle'}: hard caps${caps ? ` ${caps.map((x) => f(x, 0)).join(':')} IOPS` : ''}`, hardThrottle: true, reason };
    }
    if (m === 'weight') return { text: `${v1 ? 'blkio.weight (cgroup v1)' : v2 ? 'io.weight (cgroup v2)' : 'io weight'}${weights ? ` ${weights.join(':')}` : ''}`, hardThrottle: false, reason };
    return { text: m, hardThrottle: false, reason };
  }
  return { text: `${m}${weights ? `, weights ${weights.join(':')}` : ''}`, hardThrottle: false, reason: undefined };
}

function buildPartition(cells: Cell[], columns: ColumnView[]): IsolationView | null {
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
      const share = entries(cell, res.share);
      const cap = entries(cell, res.cap);
      const capMech = cap?.reps.map((r) => str(r.data.mechanism)).find((x) => x !== undefined);
      if (share) {
        if (share.bad) skipped.push(skipNote(cell.backend, res.share, `${plural(share.bad, 'entry')} without {repetition, data}`));
        // A share the workload could not measure (no weights that take effect) says why; it is not a skipped shape.
        for (const r of share.reps) {
          const why = str(r.data.notMeasured);
          if (why !== undefined) notes.push(`${cell.backend}: ${res.title.toLowerCase()} share not measured in repetition ${r.repetition}: ${why}`);
        }
        const ok = share.reps
          .filter((r) => str(r.data.notMeasured) === undefined)
          .map((r) => ({ r, series: shareSeries(r.data.series), achieved: num(r.data.achievedPct), target: num(r.data.targetPct) }))
          .filter((x) => {
            if (x.series && x.achieved !== undefined && x.target !== undefined) return true;
            skipped.push(skipNote(cell.backend, res.share, `repetition ${x.r.repetition}: no series of {tS, aPct}, achievedPct or targetPct`));
            return false;
          });
        const first = ok[0];
        if (first?.series) {
          any = true;
          resTarget ??= first.target;
          target ??= first.target;
          const achieved = mean(ok.map((x) => x.achieved as number));
          const tgt = first.target as number;
          const err = achieved - tgt;
          errors.push({ backend: cell.backend, err });
          const mech = shareMechanism(res.id, first.r.data, capMech);
          if (mech.hardThrottle) {
            throttleSeen = true;
            throttleReason ??= mech.reason;
          }
          tMax = Math.max(tMax, ...first.series.map((p) => p.tS));
          shareSeriesOut.push({
            label: `${cell.backend}${ok.length > 1 ? ` (${repNote(ok.map((x) => x.r))})` : ''}`,
            colour,
            points: first.series.map((p) => ({ x: p.tS, y: p.aPct })),
            hollow: first.series.map((p) => !p.counted),
            text: first.series.map((p) => `A got ${f(p.aPct)}% at ${f(p.tS, 2)} s${p.counted ? '' : ' (outside the counted window)'}`),
          });
          // Disk: did an idle B lend its share to A (work-conserving), or was A held near its target?
          const wc = ok.map((x) => (isObj(x.r.data.workConserving) ? x.r.data.workConserving : undefined)).filter((x): x is Obj => x !== undefined);
          let wcText = '';
          if (wc.length) {
            const alonePct = mean(wc.map((x) => num(x.alonePct) ?? Number.NaN));
            const thr = num(wc[0]?.thresholdPct);
            // Older files carry only pass: true/false.
            const verdictOf = (x: Obj): string => (typeof x.verdict === 'string' ? x.verdict : x.pass === true ? 'work-conserving' : 'not work-conserving');
            const verdicts = wc.map(verdictOf);
            const verdict = verdicts.includes('not work-conserving') ? 'not work-conserving' : verdicts.every((v) => v === 'work-conserving') ? 'work-conserving' : 'inconclusive';
            const label = verdict === 'not work-conserving' ? 'NOT work-conserving' : verdict === 'inconclusive' ? 'work-conserving check inconclusive (device too noisy)' : 'work-conserving';
            wcText = `; A alone (B idle, weights set): ${f(alonePct)}% of A alone without weights, ${label} (passes at ≥ ${f(thr)}%)`;
            const outcome = verdict === 'work-conserving' ? 'passes' : verdict === 'inconclusive' ? 'cannot decide' : 'fails';
            findings.push(`${cell.backend}: disk ${outcome} the work-conserving check: with B idle and the weights set, A got ${f(alonePct)}% of what it gets with no weights (a cap would hold it near ${f(tgt)}%).`);
          }
          shareRows.push({
            backend: cell.backend,
            cells: [res.title, cell.backend, `${f(tgt)}%`, `${fx(achieved, 2)}%`, `${signedFx(err, 2)} pp`, `${mech.text}${wcText}`, String(ok.length)],
          });
        }
      }
      if (cap) {
        if (cap.bad) skipped.push(skipNote(cell.backend, res.cap, `${plural(cap.bad, 'entry')} without {repetition, data}`));
        const capKey = res.id === 'cpu' ? 'capPct' : res.id === 'disk' ? 'capIops' : 'capMbit';
        const achKey = res.id === 'cpu' ? 'achievedPct' : res.id === 'disk' ? 'iops' : 'iperfMbps';
        const ok = cap.reps
          .map((r) => ({ r, series: rateSeries(r.data.series), cap: num(r.data[capKey]), achieved: num(r.data[achKey]) }))
          .filter((x) => {
            if (x.series && x.cap !== undefined) return true;
            skipped.push(skipNote(cell.backend, res.cap, `repetition ${x.r.repetition}: no series of {tS, rate} or ${capKey}`));
            return false;
          });
        const first = ok[0];
        if (first?.series && first.cap !== undefined) {
          any = true;
          capLine ??= first.cap;
          const unit = str(first.r.data.seriesUnit) ?? (res.id === 'cpu' ? '% of a CPU' : res.id === 'disk' ? 'IOPS' : 'Mbit/s');
          capUnit ??= unit;
          const achievedVals = ok.map((x) => x.achieved).filter((x): x is number => x !== undefined);
          const achieved = achievedVals.length ? mean(achievedVals) : undefined;
          tMax = Math.max(tMax, ...first.series.map((p) => p.tS));
          capSeriesOut.push({
            label: `${cell.backend}${ok.length > 1 ? ` (${repNote(ok.map((x) => x.r))})` : ''}`,
            colour,
            points: first.series.map((p) => ({ x: p.tS, y: p.rate })),
            hollow: first.series.map((p) => !p.counted),
            text: first.series.map((p) => `${f(p.rate)} ${unit} at ${f(p.tS, 2)} s${p.counted ? '' : ' (outside the counted window)'}`),
          });
          capRows.push({
            backend: cell.backend,
            cells: [
              res.title,
              cell.backend,
              withUnit(f(first.cap), unit),
              achieved === undefined ? '—' : withUnit(fx(achieved, 1), unit),
              achieved === undefined ? '—' : `${signedFx(((achieved - first.cap) / first.cap) * 100, 1)}%`,
              `${str(first.r.data.mechanism) ?? 'not recorded'}`,
              String(ok.length),
            ],
          });
        }
      }
    }
    if (shareSeriesOut.length) {
      const t = resTarget ?? 80;
      shareSeriesOut.push({ label: `target ${f(t)}%`, colour: TARGET, points: [{ x: 0, y: t }, { x: tMax || 1, y: t }], dashed: true, noPoints: true, text: [`target ${f(t)}%`, `target ${f(t)}%`] });
      charts.push({
        type: 'line',
        id: `chart-partition-${res.id}-share`,
        title: `${res.title}: share of instance A over time (target ${f(t)}%)`,
        subtitle: 'A\'s part of A + B per sampling interval, both busy; hollow: outside the counted window',
        xTitle: 'time (s)',
        yTitle: 'A\'s share (%)',
        ySuffix: '%',
        yMin: 0,
        yMax: 100,
        series: shareSeriesOut,
      });
      const worst = errors.reduce((a, b) => (Math.abs(b.err) > Math.abs(a.err) ? b : a), errors[0] as { backend: string; err: number });
      findings.push(`${res.title} share: every backend within ${fx(Math.abs(worst.err), 2)} pp of the ${f(t)}% target (largest error: ${worst.backend}, ${signedFx(worst.err, 2)} pp).`);
    }
    if (capSeriesOut.length && capLine !== undefined) {
      capSeriesOut.push({ label: `cap ${f(capLine)} ${capUnit ?? ''}`.trim(), colour: RED, points: [{ x: 0, y: capLine }, { x: tMax || 1, y: capLine }], dashed: true, noPoints: true, text: [`cap ${f(capLine)}`, `cap ${f(capLine)}`] });
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
      `Disk “shares” on this host are hard throttles, not weights${throttleReason ? ` (${throttleReason.replace(/\.$/, '')})` : ''}: A and B each get a fixed IOPS cap in the ${f(target ?? 80)}:${f(100 - (target ?? 80))} ratio, so the split holds by construction and an idle B's part is not lent to A. A weight would be work-conserving; a throttle is not.`,
    );
  }
  return {
    kind: 'partition',
    lead: `Two instances, A and B, both busy; A should get ${f(target ?? 80)}% of the resource. The share is A's part of what both achieved, per sampling interval; the achieved figure is the mean over the counted window (both parties busy, edges excluded). The hard cap runs A alone under a limit.`,
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

function emptyView(kind: IsolationView['kind'], skipped: string[]): IsolationView {
  return { kind, lead: '', findings: [], charts: [], tables: [], notes: [], skipped };
}

// ---------- memory-limit gradient ----------

interface GradStep {
  pct: number;
  outcome: string;
  mibPerS: number | undefined;
  /** limited / control throughput, percent; undefined for runs without a control. */
  ratioPct: number | undefined;
  controlMiBPerS: number | undefined;
  controlOutcome: string | undefined;
  pctOfUsable: number | undefined;
}

function gradSteps(v: unknown): GradStep[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: GradStep[] = [];
  for (const s of v) {
    if (!isObj(s)) return undefined;
    const pct = num(s.pct);
    const outcome = str(s.outcome);
    if (pct === undefined || outcome === undefined) return undefined;
    const c = isObj(s.control) ? s.control : undefined;
    out.push({ pct, outcome, mibPerS: num(s.mibPerS), ratioPct: num(s.ratioPct), controlMiBPerS: num(c?.mibPerS), controlOutcome: str(c?.outcome), pctOfUsable: num(s.pctOfUsable) });
  }
  return out;
}

/**
 * Gradient or cliff from the limited/control ratios (the workload's gradientVerdict,
 * restated on the report's averaged steps): a gradient when a completed step ran below
 * 90% of its control before the end.
 */
export function gradientRatioReading(okSteps: { pct: number; ratioPct: number | undefined }[], ending: string | undefined): { text: string; cliff: boolean } {
  const end = ending ? `then ${ending}` : 'and no step failed';
  if (!okSteps.length) return { text: `no completed step: ${ending ?? 'no data'}`, cliff: true };
  const known = okSteps.filter((s): s is { pct: number; ratioPct: number } => s.ratioPct !== undefined);
  if (known.length < okSteps.length) return { text: `no verdict: ${okSteps.length - known.length} completed step(s) have no control run`, cliff: false };
  const low = known.reduce((a, b) => (b.ratioPct < a.ratioPct ? b : a));
  const list = known.map((s) => `${f(s.pct, 0)}%: ${f(s.ratioPct, 0)}%`).join(', ');
  if (low.ratioPct < 90) return { text: `a gradient: at ${f(low.pct, 0)}% of the limit the limited run got ${f(low.ratioPct, 0)}% of its control's throughput before the end (${list})${ending ? `, ${end}` : ''}`, cliff: false };
  return { text: `a cliff: every completed step kept ≥ 90% of its control's throughput (${list}), ${end}`, cliff: true };
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

function buildGradient(cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const series: LineSeries[] = [];
  const rows: ExtraTable['rows'] = [];
  const readings: { backend: string; text: string; cliff: boolean }[] = [];
  let limit: number | undefined;
  let maxPct = 0;
  for (const cell of cells) {
    const e = entries(cell, 'memory-gradient');
    if (!e) continue;
    if (e.bad) skipped.push(skipNote(cell.backend, 'memory-gradient', `${plural(e.bad, 'entry')} without {repetition, data}`));
    const ok = e.reps
      .map((r) => ({ r, steps: gradSteps(r.data.steps) }))
      .filter((x) => {
        if (x.steps && x.steps.length) return true;
        skipped.push(skipNote(cell.backend, 'memory-gradient', `repetition ${x.r.repetition}: no steps of {pct, outcome}`));
        return false;
      });
    if (!ok.length) continue;
    limit ??= num(ok[0]?.r.data.limitMiB);
    const col = columns.find((c) => c.label === cell.backend);
    const vm = col?.kind === 'vm' || cell.backend.startsWith('vm');
    // Throughput per step: mean over the repetitions that completed it.
    const byPct = new Map<number, number[]>();
    const ratioByPct = new Map<number, number[]>();
    const ctlByPct = new Map<number, number[]>();
    const usableByPct = new Map<number, number>();
    const endings: { pct: number; outcome: string }[] = [];
    for (const x of ok) {
      for (const s of x.steps as GradStep[]) {
        if (s.pctOfUsable !== undefined) usableByPct.set(s.pct, s.pctOfUsable);
        if (s.controlMiBPerS !== undefined) ctlByPct.set(s.pct, [...(ctlByPct.get(s.pct) ?? []), s.controlMiBPerS]);
        if (s.outcome === 'ok' && s.ratioPct !== undefined) ratioByPct.set(s.pct, [...(ratioByPct.get(s.pct) ?? []), s.ratioPct]);
        if (s.outcome === 'ok' && s.mibPerS !== undefined) byPct.set(s.pct, [...(byPct.get(s.pct) ?? []), s.mibPerS]);
        else if (s.outcome !== 'ok') {
          endings.push({ pct: s.pct, outcome: s.outcome });
          break;
        }
      }
    }
    const okSteps = [...byPct.entries()].sort((a, b) => a[0] - b[0]).map(([pct, v]) => ({ pct, mibPerS: mean(v), ratioPct: ratioByPct.has(pct) ? mean(ratioByPct.get(pct) as number[]) : undefined }));
    const hasControl = okSteps.some((s) => s.ratioPct !== undefined);
    const usableMiB = num(ok[0]?.r.data.usableMiB);
    const firstEnd = endings.sort((a, b) => a.pct - b.pct)[0];
    const endText = firstEnd ? endingLabel(firstEnd.outcome, firstEnd.pct, vm) : undefined;
    const distinct = [...new Set(endings.map((x) => endingLabel(x.outcome, x.pct, vm)))];
    const base = okSteps[0]?.mibPerS;
    const colour = colourOf(columns, cell.backend);
    // With a control: limited / control per step (what the limit costs); older runs without one: relative to the first step.
    const pts = okSteps.map((s) => ({ x: s.pct, y: hasControl ? (s.ratioPct ?? 0) : base ? (s.mibPerS / base) * 100 : 0 }));
    const text = okSteps.map((s) =>
      hasControl
        ? `${f(s.pct, 0)}% of the limit${usableByPct.has(s.pct) ? ` (${f(usableByPct.get(s.pct), 0)}% of the usable ${f(usableMiB, 0)} MiB)` : ''}: ${f(s.mibPerS, 0)} MiB/s limited, ${f(mean(ctlByPct.get(s.pct) ?? []), 0)} MiB/s control = ${f(s.ratioPct)}%`
        : `${f(s.pct, 0)}% of the limit: ${f(s.mibPerS, 0)} MiB/s (${f(base ? (s.mibPerS / base) * 100 : 0)}% of the first step)`,
    );
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
    series.push({ label: `${cell.backend}${endText ? ` (${endText})` : ''}`, colour, points: pts, text, marks, crosses, hollow, dashLast: firstEnd !== undefined });
    if (hasControl) {
      const r = gradientRatioReading(okSteps, endText);
      readings.push({ backend: cell.backend, text: r.text, cliff: r.cliff });
    } else {
      const reading = gradientReading(okSteps, endText);
      readings.push({ backend: cell.backend, text: `${reading} (no control run: raw drop, cache and TLB effects included)`, cliff: !reading.startsWith('a gradient') });
    }
    const allPcts = [...new Set([...byPct.keys(), ...ctlByPct.keys()])].sort((a, b) => a - b);
    const limitMiB = num(ok[0]?.r.data.limitMiB);
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
            return `${f(pct, 0)}%${u !== undefined ? ` (${f(u, 0)}% usable)` : ''}: ${lim ? f(mean(lim), 0) : '✕'} / ${ctl ? f(mean(ctl), 0) : '—'}${r ? ` = ${f(mean(r), 0)}%` : ''}`;
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
    ? 'A cliff, not a gradient: on every backend each completed step keeps at least 90% of the same run without the limit, until the working set no longer fits and the next step does not complete.'
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
    lead: `sysbench memory write throughput as the working set grows towards and beyond the instance's memory limit${limit !== undefined ? ` (${f(limit, 0)} MiB)` : ''}: the container's cgroup limit, the VM's guest RAM (of which the guest's kernel and agent take a part: the usable memory, measured inside, is given per backend). Each step also runs, with the same working set and threads, in a control instance far above the limit; the figure is limited / control throughput per step, so the growing working set's own cost (cache, TLB) cancels out. ✕ marks the step that did not complete and how it ended.`,
    findings: [overall, ...readings.map((r) => `${r.backend}: ${r.text}.`)],
    charts: [
      {
        type: 'line',
        id: 'chart-memory-gradient-curve',
        title: 'Memory-limit gradient: throughput vs working set',
        subtitle: 'limited / control throughput at the same working set (100% = the limit costs nothing); ✕ = the step that did not complete (drawn at 0), labelled with how it ended; below 90% before the end = a gradient',
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
        head: ['Backend', 'Usable memory (measured) of the limit', 'Steps (% of the limit): limited / control MiB/s = ratio', 'Last completed', 'End', 'Reps'],
        numeric: [false, true, false, true, false, true],
        rows,
      },
    ],
    notes: [],
    skipped,
  };
}

// ---------- density ----------

interface DensLevel {
  instances: number;
  memAvailMiB: number;
  pssSumMiB: number;
}

function densLevels(v: unknown): DensLevel[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: DensLevel[] = [];
  for (const l of v) {
    if (!isObj(l)) return undefined;
    const instances = num(l.instances);
    const memAvailMiB = num(l.memAvailMiB);
    const pssSumMiB = num(l.pssSumMiB);
    if (instances === undefined || memAvailMiB === undefined || pssSumMiB === undefined) return undefined;
    out.push({ instances, memAvailMiB, pssSumMiB });
  }
  return out;
}

function ksmText(v: unknown): string {
  if (!isObj(v)) return 'not recorded';
  const run = num(v.run);
  const sharing = num(v.pagesSharing);
  const state = run === undefined ? '' : run === 1 ? 'on' : run === 0 ? 'off' : `run=${run}`;
  const shared = sharing !== undefined ? `${f((sharing * 4096) / 1048576, 0)} MiB ${run === 0 ? 'still merged from earlier' : 'merged'} (pages_sharing ${f(sharing, 0)})` : '';
  return [state, shared].filter(Boolean).join('; ') || 'not recorded';
}

function buildDensity(cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const skipped: string[] = [];
  const series: LineSeries[] = [];
  const rows: ExtraTable['rows'] = [];
  const findings: string[] = [];
  let maxN = 0;
  for (const cell of cells) {
    const e = entries(cell, 'density');
    if (!e) continue;
    if (e.bad) skipped.push(skipNote(cell.backend, 'density', `${plural(e.bad, 'entry')} without {repetition, data}`));
    const ok = e.reps
      .map((r) => ({ r, levels: densLevels(r.data.levels), base: num(r.data.baselineMemAvailMiB) }))
      .filter((x) => {
        if (x.levels && x.base !== undefined) return true;
        skipped.push(skipNote(cell.backend, 'density', `repetition ${x.r.repetition}: no levels of {instances, memAvailMiB, pssSumMiB} or baselineMemAvailMiB`));
        return false;
      });
    const first = ok[0];
    if (!first?.levels || first.base === undefined) continue;
    const base = first.base;
    const lv = first.levels;
    const xs = [0, ...lv.map((l) => l.instances)];
    const memUsed = [0, ...lv.map((l) => base - l.memAvailMiB)];
    const pss = [0, ...lv.map((l) => l.pssSumMiB)];
    // Marginal cost per instance: mean over repetitions of the least-squares slope (as the workload computes it).
    const slopes = ok.map((x) => {
      const xx = [0, ...(x.levels as DensLevel[]).map((l) => l.instances)];
      return {
        mem: slope(xx, [0, ...(x.levels as DensLevel[]).map((l) => (x.base as number) - l.memAvailMiB)]),
        pss: slope(xx, [0, ...(x.levels as DensLevel[]).map((l) => l.pssSumMiB)]),
      };
    });
    const memFits = ok.map((x) => (isObj(x.r.data.fit) && isObj(x.r.data.fit.memAvail) ? num(x.r.data.fit.memAvail.slope) : undefined));
    const memSlope = memFits.every((v) => v !== undefined) ? mean(memFits as number[]) : mean(slopes.map((s) => s.mem));
    // The workload's fit (over the measured levels, with a CI) when recorded; else the recomputed slope.
    const fits = ok.map((x) => (isObj(x.r.data.fit) && isObj(x.r.data.fit.pss) ? x.r.data.fit.pss : undefined));
    const recorded = fits.every((x) => x && num(x.slope) !== undefined);
    const pssSlope = recorded ? mean(fits.map((x) => num(x?.slope) as number)) : mean(slopes.map((s) => s.pss));
    const ci = fits.length === 1 && Array.isArray(fits[0]?.ci95) ? (fits[0]?.ci95 as unknown[]).map((v) => num(v)) : undefined;
    const ciText = ci && ci[0] !== undefined && ci[1] !== undefined ? ` (95% CI ${f(ci[0])} to ${f(ci[1])}, ${f(num(fits[0]?.n), 0)} levels)` : '';
    const budget = isObj(first.r.data.budget) ? first.r.data.budget : undefined;
    const budgetMiB = num(budget?.budgetMiB);
    const inBudget = num(budget?.instancesInBudget);
    const projected = num(budget?.projected);
    const range = Array.isArray(budget?.projectedRange) ? (budget?.projectedRange as unknown[]).map((v) => num(v)) : undefined;
    const projText = projected !== undefined ? `projected ${f(projected, 0)}${range?.[0] !== undefined && range[1] !== undefined ? ` (${f(range[0], 0)}–${f(range[1], 0)})` : ''}` : 'no projection (no positive cost per instance)';
    const budgetText =
      budgetMiB === undefined
        ? 'no budget set'
        : inBudget !== undefined
          ? `${f(inBudget, 0)} (measured: instance ${f(inBudget + 1, 0)} took the summed PSS over ${f(budgetMiB, 0)} MiB)`
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
    const stopped = isObj(first.r.data.stopped) ? first.r.data.stopped : undefined;
    const ksm = isObj(first.r.data.ksm) ? first.r.data.ksm : undefined;
    const meas = ksm && isObj(ksm.measurement) ? ksm.measurement : undefined;
    const after = meas
      ? str(meas.skipped) ??
        `${ksmText(meas.after)}; at ${f(lv[lv.length - 1]?.instances, 0)} instances MemAvailable Δ ${f(base - (num(meas.memAvailMiB) ?? Number.NaN))} MiB, PSS ${f(num(meas.pssSumMiB))} MiB${meas.settled === false ? ' (not settled)' : ''}`
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
        stopped ? `${str(stopped.reason) ?? '?'}: ${str(stopped.detail) ?? ''}`.replace(/: $/, '') : 'not recorded',
        ksm ? ksmText(ksm.atStart) : 'not recorded',
        after,
      ],
    });
    const stopWhy = str(stopped?.reason) === 'cap' ? `stopped at cap ${maxInst ?? '?'} (the scenario's bound, not a result)` : `stopped at ${maxInst ?? '?'} instances (${str(stopped?.reason) ?? 'reason not recorded'})`;
    findings.push(
      `${cell.backend}: ${signedMiB(pssSlope)} PSS${ciText} and ${signedMiB(memSlope)} of host MemAvailable per idle instance; ${budgetMiB !== undefined ? `in a ${f(budgetMiB, 0)} MiB budget: ${budgetText}; ` : ''}${stopWhy}.`,
    );
  }
  if (!series.length) return skipped.length ? emptyView('density', skipped) : null;
  return {
    kind: 'density',
    lead: 'Host memory used as idle instances are added, per backend: the drop of MemAvailable from the baseline (solid; includes page cache and kernel memory, noisy at a few MiB) and the instances\' summed PSS (dashed). The legend gives the marginal cost per instance: the least-squares slope over the measured levels (the empty host is drawn, not fitted). Instances per budget: measured where the sweep crossed the scenario\'s budget; a projection (budget / slope) where it stopped at the scenario\'s cap first.',
    findings,
    charts: [
      {
        type: 'line',
        id: 'chart-density-memory',
        title: 'Density: host memory used vs number of idle instances',
        subtitle: 'solid: MemAvailable drop from the baseline; dashed: summed PSS of the instances; legend: slope = marginal MiB per instance',
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
        head: ['Backend', 'MemAvailable Δ per instance', 'PSS per instance', 'Budget (summed PSS)', 'Instances in the budget', 'Stopped because', 'KSM at start', 'KSM at the top level'],
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

// ---------- noisy neighbour ----------

const NEIGHBOUR_KINDS = [
  { id: 'cpu', title: 'CPU' },
  { id: 'memory', title: 'Memory' },
  { id: 'disk', title: 'Disk' },
  { id: 'network', title: 'Network' },
] as const;

const MECH_LABEL: Record<string, string> = {
  'cpu-weight': 'CPU weight (soft)',
  'cpu-cap': 'CPU cap (hard)',
  'io-weight': 'bfq io weight (soft)',
  'io-throttle': 'IOPS throttle (hard)',
  tc: 'tc rate cap (hard)',
};
const MECH_COLOUR = ['#2563eb', '#16a34a', '#9333ea', '#0891b2'];

function buildNeighbour(cells: Cell[], columns: ColumnView[]): IsolationView | null {
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
    const per: { backend: string; alone: number; unit: string; kept: Map<string, number>; settings: Map<string, string>; reps: number; order: string | undefined; spread: number | undefined }[] = [];
    const mechs: string[] = [];
    for (const cell of cells) {
      const e = entries(cell, name);
      if (!e) continue;
      if (e.bad) skipped.push(skipNote(cell.backend, name, `${plural(e.bad, 'entry')} without {repetition, data}`));
      const ok = e.reps
        .map((r) => ({ r, a: num(r.data.alone), w: num(r.data.withNeighbor), u: str(r.data.unit) }))
        .filter((x) => {
          if (x.a !== undefined && x.w !== undefined && (x.a as number) > 0) return true;
          skipped.push(skipNote(cell.backend, name, `repetition ${x.r.repetition}: no numeric alone and withNeighbor`));
          return false;
        });
      if (!ok.length) continue;
      const u = ok[0]?.u ?? '';
      const kept = new Map<string, number[]>();
      const settings = new Map<string, string>();
      for (const x of ok) {
        kept.set('unrestrained', [...(kept.get('unrestrained') ?? []), ((x.w as number) / (x.a as number)) * 100]);
        const ms = isObj(x.r.data.mechanisms) ? x.r.data.mechanisms : {};
        for (const [m, v] of Object.entries(ms)) {
          if (!isObj(v)) continue;
          const k = num(v.keptPct);
          if (k === undefined) continue;
          if (!mechs.includes(m)) mechs.push(m);
          kept.set(m, [...(kept.get(m) ?? []), k]);
          const st = str(v.setting);
          if (st) settings.set(m, st);
        }
      }
      const own = str(ok[0]?.r.data.ownMechanism);
      if (own) notes.push(`${cell.backend}, ${kind.title.toLowerCase()} bandwidth: ${own}.`);
      labels.push(cell.backend);
      const spreads = ok.map((x) => num(x.r.data.aloneSpreadPct)).filter((v): v is number => v !== undefined);
      const spread = spreads.length ? Math.max(...spreads) : undefined;
      if (spread !== undefined && spread > 20) notes.push(`${cell.backend}, ${kind.title.toLowerCase()}: the victim's two alone runs differ by ${f(spread, 0)}%: the host's own noise is that large, differences below it say nothing.`);
      per.push({ backend: cell.backend, alone: mean(ok.map((x) => x.a as number)), unit: u, kept: new Map([...kept].map(([k, v]) => [k, mean(v)])), settings, reps: ok.length, order: str(ok[0]?.r.data.order), spread });
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
        return v === undefined ? `${x.backend}: not measured` : `${x.backend}: victim kept ${f(v)}% of its ${f(x.alone)} ${x.unit} alone${x.settings.get(c) ? ` (${x.settings.get(c)})` : ''}`;
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
      subtitle: 'victim beside the neighbour, percent of the victim alone (100% = fully protected); unrestrained = no mechanism',
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
        cells: [kind.title, x.backend, `${f(x.alone)} ${x.unit}${x.spread !== undefined ? ` (two runs ${f(x.spread, 0)}% apart)` : ''}`, conds.map((c) => `${c} ${x.kept.has(c) ? `${f(x.kept.get(c))}%` : '—'}`).join(' · '), [...x.settings.entries()].map(([m, t]) => `${m}: ${t}`).join('; ') || '—', x.order ?? '—', String(x.reps)],
      });
      const un = x.kept.get('unrestrained');
      const best = mechs.filter((m) => x.kept.has(m)).map((m) => ({ m, v: x.kept.get(m) as number })).sort((a, b) => b.v - a.v)[0];
      findings.push(
        `${kind.title}, ${x.backend}: beside an unrestrained neighbour the victim keeps ${un === undefined ? '—' : `${f(un, 0)}%`}${best ? `; ${MECH_LABEL[best.m] ?? best.m} protects the most (${f(best.v, 0)}%)` : '; no mechanism measured'}.`,
      );
    }
  }
  if (!charts.length) return skipped.length ? emptyView('noisy-neighbor', skipped) : null;
  return {
    kind: 'noisy-neighbor',
    lead: "Isolation, not sharing: a victim instance measured alone, beside an unrestrained neighbour of the same backend on the same CPUs, and beside the neighbour held by each mechanism the backend has for that resource (CPU weight and quota; bfq io weight and IOPS throttle on isobench's own device; a tc rate cap). The figure is the part of the victim's alone performance each mechanism keeps: 100% = the neighbour is fully contained.",
    findings,
    charts,
    tables: [
      {
        id: 'noisy-neighbor-figures',
        caption: 'Victim figure kept (% of alone): unrestrained · each mechanism',
        head: ['Resource', 'Backend', 'Alone', 'Kept: unrestrained · mechanisms', 'Mechanism settings', 'Order', 'Reps'],
        numeric: [false, false, true, false, false, false, true],
        rows,
      },
    ],
    notes,
    skipped,
  };
}

// ---------- start-up: the definition and its stages ----------

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The start-up definition (one for every backend), how each backend's payload signalled, and its stages (medians over all starts). */
function buildStartup(cells: Cell[]): IsolationView | null {
  const rows: ExtraTable['rows'] = [];
  const signals: string[] = [];
  const skipped: string[] = [];
  let definition = '';
  for (const cell of cells) {
    const e = entries(cell, 'startup');
    if (!e) continue;
    if (e.bad) skipped.push(`${cell.backend}: ${e.bad} start-up entr${e.bad === 1 ? 'y' : 'ies'} without data`);
    const starts = e.reps.flatMap((r) => (Array.isArray(r.data.starts) ? r.data.starts : [])).filter(isObj);
    const stage = (k: string): number[] => starts.map((x) => (isObj(x.stages) ? num(x.stages[k]) : undefined)).filter((v): v is number => v !== undefined);
    const signal = e.reps.map((r) => (typeof r.data.signal === 'string' ? r.data.signal : '')).find((x) => x) ?? '—';
    definition ||= e.reps.map((r) => (typeof r.data.definition === 'string' ? r.data.definition : '')).find((x) => x) ?? '';
    const ms = (k: string): string => {
      const v = median(stage(k));
      return v === undefined ? '—' : `${f(v)} ms`;
    };
    rows.push({ backend: cell.backend, cells: [cell.backend, ms('launchToPayloadMs'), ms('prepareMs'), ms('networkAttachMs'), ms('payloadToFirstExecMs'), ms('readyMs'), String(starts.length)] });
    // A sentence per backend, under the table: as a column it made the table wider than its card.
    if (signal) signals.push(`${cell.backend}: ${signal}`);
  }
  if (!rows.length) return skipped.length ? emptyView('startup', skipped) : null;
  return {
    kind: 'startup',
    lead: `One start-up definition for every backend: ${definition || 'launch to the payload\'s own ready signal'}. The start-up figure (startup-ms) is launch to signal; the other stages are shown on their own and are not inside it.`,
    findings: [],
    charts: [],
    tables: [
      {
        id: 'startup-stages',
        caption: 'Start-up and its stages (medians over every start)',
        head: ['Backend', 'Start-up: launch to payload signal', 'Preparation (start() to launch)', 'of which network attachment', 'Signal to first exec', 'start() to first exec', 'Starts'],
        numeric: [false, true, true, true, true, true, true],
        rows,
      },
    ],
    notes: signals.map((x) => `How the payload signalled, ${x}`),
    skipped,
  };
}

/** The isolation view of a category (null when the category has no extra of a known kind). */
export function buildIsolation(workload: string, cells: Cell[], columns: ColumnView[]): IsolationView | null {
  const mine = orderedCells(cells, workload, columns).filter((c) => isObj(c.extra));
  if (mine.length === 0) return null;
  try {
    switch (workload) {
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
      default:
        return null;
    }
  } catch (e) {
    // A shape no reader above foresaw: the category still renders its metric table.
    return emptyView(workload as IsolationView['kind'], [`extra of ${workload} could not be read (${e instanceof Error ? e.message : String(e)})`]);
  }
}
