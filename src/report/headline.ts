/**
 * The headline: one row per category, each in its own terms, computed once
 * from a run's cells and comparisons and stored in results.json (`headline`);
 * HTML, Markdown and PNG render the stored rows, so the same figures appear
 * everywhere.
 *
 * - ratio categories (CPU, memory, disk, network): the primary metric's
 *   overhead vs native (paired by round) with its equivalence verdict;
 * - per-instance costs (footprint, start-up, density): the difference of means
 *   in the unit, by PSS for footprint and density;
 * - isolation categories: small readers keyed by metric name (ISOLATION_READERS):
 *   partitioning as share achieved vs target (pp error) and the cap error, the
 *   memory gradient as where it broke and how, noisy neighbour as the victim's
 *   degradation. They read whatever of their metrics a run has, so a workload
 *   that adds metrics needs only its reader changed.
 */
import { GRADIENT_RATIO_PCT } from '../workloads/memory-gradient.js';
import { NEIGHBOUR_KINDS } from '../workloads/extras/noisy-neighbor.js';
import { PARTITION_PARTS } from './isolation/partition.js';
import type {
  BackendResult,
  Cell,
  Difference,
  HeadlineFigure,
  HeadlineRow,
  MetricResult,
  Overhead,
  Verdict,
} from '../results/types.js';
import { decide, summarize, thresholdFor } from '../stats/index.js';
import { absolutePhrase, categoryIndex, categoryTitle, primaryMetric } from './categories.js';
import { workloadDeclaration, type IsolationViewKind } from '../core/declarations.js';
import {
  fmtDifferenceCi,
  fmtDifferenceValue,
  fmtNum,
  fmtOverheadCi,
  fmtOverheadDetail,
  fmtOverheadValue,
  fmtPct,
  fmtQuantity,
} from './format.js';

export interface HeadlineInput {
  cells: readonly Cell[];
  backends: readonly BackendResult[];
  overheads: readonly Overhead[];
  differences: readonly Difference[];
}

/** Categories told in their own terms rather than vs native: the workload declares it (isolation.headline). */
export function isIsolationHeadline(workload: string): boolean {
  return workloadDeclaration(workload)?.isolation?.headline === true;
}

/** What a decided or undecided verdict adds to a figure's second line. */
export function verdictDetail(v: {
  verdict: Verdict;
  repetitionsNeeded: number | null;
  detectable: string;
  threshold: string;
  outlierSensitive?: unknown;
  /** Paired figures: the per-pair spread as text; their plan counts pairs. */
  pairedSpread?: string | undefined;
  beyondThreshold?: boolean | undefined;
}): string {
  const base = `threshold ±${v.threshold}; smallest detectable ${v.detectable}`;
  if (v.verdict === 'inconclusive' && v.outlierSensitive === true)
    return `decided only with a flagged outlier repetition in (kept, shown): rerun to decide; ${base}`;
  if (v.verdict === 'inconclusive' && v.pairedSpread !== undefined) {
    const need = v.repetitionsNeeded !== null ? `about ${v.repetitionsNeeded}` : 'more than 1000';
    return (
      `not decidable here at ±${v.threshold}: needs ${need} pairs ` +
      `(spread ${v.pairedSpread} per pair) for 80% power; ${base}`
    );
  }
  if (v.verdict === 'inconclusive') {
    const need =
      v.repetitionsNeeded !== null
        ? `about ${v.repetitionsNeeded} repetitions per side would likely decide it`
        : 'more than 1000 repetitions per side would be needed to decide it';
    return `${need}; ${base}`;
  }
  if (v.verdict === 'overhead' || v.verdict === 'better')
    return `${v.beyondThreshold ? 'beyond' : 'not shown beyond'} the threshold (95% CI); ${base}`;
  return base;
}

function fmtDetectablePct(x: number): string {
  return Number.isFinite(x) ? fmtPct(x, false) : '∞';
}

/**
 * Threshold, smallest detectable effect and (when inconclusive) the pairs or repetitions that would decide,
 * for an overhead.
 */
export function overheadJudgement(o: Overhead): string {
  const pairedSpread =
    o.design === 'paired' && typeof o.spread === 'number' && Number.isFinite(o.spread)
      ? fmtPct(o.spread * 100, false)
      : undefined;
  return verdictDetail({
    verdict: o.verdict,
    repetitionsNeeded: o.repetitionsNeeded,
    detectable: fmtDetectablePct(o.detectablePct),
    threshold: fmtPct(o.thresholdPct, false),
    outlierSensitive: o.outlierSensitive,
    pairedSpread,
    beyondThreshold: o.beyondThreshold,
  });
}

/** The same for a difference (in the metric's unit); '' when it carries no threshold. */
export function differenceJudgement(
  d: Pick<
    Difference,
    'unit' | 'verdict' | 'threshold' | 'detectable' | 'repetitionsNeeded' | 'design' | 'spread' | 'beyondThreshold'
  > & { outlierSensitive?: unknown },
): string {
  if (!Number.isFinite(d.threshold)) return '';
  const det = Number.isFinite(d.detectable) ? fmtQuantity(d.detectable, d.unit) : '∞';
  const pairedSpread =
    d.design === 'paired' && typeof d.spread === 'number' && Number.isFinite(d.spread)
      ? fmtQuantity(d.spread, d.unit)
      : undefined;
  return verdictDetail({
    verdict: d.verdict,
    repetitionsNeeded: d.repetitionsNeeded,
    detectable: det,
    threshold: fmtQuantity(d.threshold, d.unit),
    outlierSensitive: d.outlierSensitive,
    pairedSpread,
    beyondThreshold: d.beyondThreshold,
  });
}

export function overheadFigure(
  o: Overhead,
): Pick<HeadlineFigure, 'verdict' | 'value' | 'ci' | 'detail' | 'point' | 'ci95' | 'implausible'> {
  const flagged = o.implausible ? `; IMPLAUSIBLE: ${o.implausible.reason}` : '';
  return {
    verdict: o.verdict,
    value: fmtOverheadValue(o),
    ci: fmtOverheadCi(o),
    detail: `${fmtOverheadDetail(o)}; ${overheadJudgement(o)}${designNote(o)}${flagged}`,
    point: o.overheadPct,
    ci95: o.overheadPctCi95,
    ...(o.implausible ? { implausible: o.implausible.reason } : {}),
  };
}

/** How the figure was estimated, said where a reader looks: paired over n rounds, or unpaired and why. */
export function designNote(f: { design?: 'paired' | 'unpaired' | undefined; pairs?: number | undefined }): string {
  if (f.design === 'paired') return `; paired over ${f.pairs ?? '?'} rounds`;
  if (f.design === 'unpaired') return '; unpaired (no matching rounds to pair)';
  return '';
}

export function differenceFigure(
  d: Pick<
    Difference,
    | 'diff'
    | 'ci95'
    | 'unit'
    | 'verdict'
    | 'nativeMean'
    | 'backendMean'
    | 'threshold'
    | 'detectable'
    | 'repetitionsNeeded'
  > &
    Partial<Pick<Difference, 'design' | 'pairs' | 'spread' | 'beyondThreshold'>>,
  phrase = '',
): Pick<HeadlineFigure, 'verdict' | 'value' | 'ci' | 'detail' | 'point' | 'ci95'> {
  const j = differenceJudgement(d);
  const judged = j ? `; ${j}` : '';
  return {
    verdict: d.verdict,
    value: `${fmtDifferenceValue(d, d.unit)}${phrase ? ` ${phrase}` : ''}`,
    ci: fmtDifferenceCi(d, d.unit),
    detail:
      `${fmtQuantity(d.backendMean, d.unit)} vs ${fmtQuantity(d.nativeMean, d.unit)} native ` +
      `(means)${judged}${designNote(d)}`,
    point: d.diff,
    ci95: d.ci95,
  };
}

// ---------- isolation readers (keyed by metric name) ----------

type Reading = Pick<HeadlineFigure, 'verdict' | 'value' | 'ci' | 'detail' | 'point' | 'ci95'>;

interface IsolationReader {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  what: string;
  read(metrics: readonly MetricResult[], cell: Cell): Reading | null;
}

function stat(
  metrics: readonly MetricResult[],
  name: string,
): { mean: number; ci: [number, number]; n: number } | null {
  const m = metrics.find((x) => x.metric === name);
  const s = m ? summarize(m.values) : null;
  return s
    ? { mean: s.mean, ci: s.n > 1 ? s.ci95 : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], n: s.n }
    : null;
}

function ciText(ci: [number, number], unit: string): string {
  return Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? `[${fmtNum(ci[0])}, ${fmtNum(ci[1])}] ${unit}` : '';
}

function extraTarget(cell: Cell, key: string, field: string): number | null {
  const list = cell.extra?.[key];
  if (!Array.isArray(list)) return null;
  for (const it of list) {
    const v = (it as { data?: Record<string, unknown> })?.data?.[field];
    if (typeof v === 'number') return v;
  }
  return null;
}

/** Threshold for an error in pp (share achieved vs target): the workload's declared default. */
function shareErrorPp(workload: string): number {
  return thresholdFor('absolute', workload, 'pp');
}

/** Readers by isolation view (a workload's declaration names its view). */
const ISOLATION_READERS: Partial<Record<IsolationViewKind, IsolationReader>> = {
  partition: {
    metric: 'cpu-share-error-pp',
    unit: 'pp',
    higherIsBetter: false,
    what: 'share achieved vs target (pp error) and hard-cap error',
    read(metrics, cell) {
      const parts: string[] = [];
      for (const { id: res, title } of PARTITION_PARTS) {
        // In running text: an acronym stays, a word is lower case ("CPU: …; disk: …; network: …").
        const label = title === title.toUpperCase() ? title : title.toLowerCase();
        const share = stat(metrics, `${res}-share-a-pct`);
        const err = stat(metrics, `${res}-share-error-pp`);
        const cap = stat(metrics, `${res}-cap-error-pp`) ?? stat(metrics, `${res}-cap-error-pct`);
        const capUnit = metrics.some((m) => m.metric === `${res}-cap-error-pp`) ? 'pp' : '%';
        if (!share && !err && !cap) continue;
        const target = extraTarget(cell, `${res}-share`, 'targetPct');
        const bits: string[] = [];
        if (share) bits.push(`share ${fmtNum(share.mean)}%${target !== null ? ` vs ${fmtNum(target)}% target` : ''}`);
        if (err) bits.push(`error ${fmtNum(err.mean)} pp`);
        if (cap) bits.push(`cap error ${cap.mean >= 0 ? '+' : ''}${fmtNum(cap.mean)} ${capUnit}`);
        parts.push(`${label}: ${bits.join(', ')}`);
      }
      if (!parts.length) return null;
      const cpuErr = stat(metrics, 'cpu-share-error-pp');
      const SHARE_ERROR_PP = shareErrorPp(cell.workload);
      const value = cpuErr ? `CPU share off target by ${fmtNum(cpuErr.mean)} pp` : (parts[0] as string);
      return {
        // One repetition has no interval: the figure is shown without a verdict.
        verdict: cpuErr && cpuErr.n >= 2 ? decide(cpuErr.mean, cpuErr.ci, SHARE_ERROR_PP) : null,
        value,
        ci: cpuErr ? ciText(cpuErr.ci, 'pp') : '',
        detail: (
          parts.filter((p) => p !== value).join('; ') +
          (cpuErr && cpuErr.n >= 2 ? `; verdict against ±${SHARE_ERROR_PP} pp of the target` : '')
        ).replace(/^; /, ''),
        point: cpuErr?.mean ?? null,
        ci95: cpuErr && Number.isFinite(cpuErr.ci[0]) ? cpuErr.ci : null,
      };
    },
  },
  'memory-gradient': {
    metric: 'min-ratio-pct',
    unit: '%',
    higherIsBetter: true,
    what: 'limited vs unlimited (control) throughput per step: gradient or cliff, and where it broke',
    read(metrics) {
      const ratio = stat(metrics, 'min-ratio-pct');
      const oom = stat(metrics, 'oom-at-pct');
      const last = stat(metrics, 'last-ok-pct');
      if (!ratio && !oom && !last) return null;
      // The shape follows from the ratio to the unlimited control, not from the raw drop (memory-gradient.ts).
      const shape = ratio
        ? ratio.mean < GRADIENT_RATIO_PCT
          ? 'a gradient'
          : 'a cliff'
        : 'no completed step to judge the shape';
      const broke = oom
        ? `OOM-killed at ${fmtNum(oom.mean)}% of the limit`
        : last
          ? `no OOM kill up to ${fmtNum(last.mean)}% of the limit`
          : 'no step completed';
      const value = ratio ? `${shape}: lowest limited/unlimited ${fmtNum(ratio.mean)}%, ${broke}` : broke;
      const bits = [
        ratio ? `a gradient when a completed step ran below ${GRADIENT_RATIO_PCT}% of its unlimited control` : '',
        last && oom ? `last completed step ${fmtNum(last.mean)}% of the limit` : '',
      ].filter(Boolean);
      return {
        verdict: null,
        value,
        ci: ratio ? ciText(ratio.ci, '%') : '',
        detail: bits.join('; '),
        point: ratio?.mean ?? null,
        ci95: ratio && Number.isFinite(ratio.ci[0]) ? ratio.ci : null,
      };
    },
  },
  'noisy-neighbor': {
    metric: 'cpu-kept-pct-unrestrained',
    unit: '%',
    higherIsBetter: true,
    what:
      "the victim's figure kept beside a neighbour, percent of its figure alone: " +
      'unrestrained, and held by each mechanism',
    read(metrics) {
      const kinds = NEIGHBOUR_KINDS.map((k: string) => ({ k, s: stat(metrics, `${k}-kept-pct-unrestrained`) })).filter(
        (x): x is { k: string; s: NonNullable<ReturnType<typeof stat>> } => x.s !== null,
      );
      if (!kinds.length) return null;
      const first = kinds[0]!;
      const held = (k: string): string =>
        metrics
          .filter((m) => m.metric.startsWith(`${k}-kept-pct-`) && m.metric !== `${k}-kept-pct-unrestrained`)
          .map((m) => {
            const st = stat(metrics, m.metric);
            return st ? `${fmtNum(st.mean)}% held by ${m.metric.slice(`${k}-kept-pct-`.length)}` : '';
          })
          .filter(Boolean)
          .join(', ');
      return {
        verdict: null,
        value: `victim ${first.k} keeps ${fmtNum(first.s.mean)}% beside an unrestrained neighbour`,
        ci: ciText(first.s.ci, '%'),
        detail: kinds
          .map(({ k, s }) => `${k}: ${fmtNum(s.mean)}% unrestrained${held(k) ? `, ${held(k)}` : ''}`)
          .join('; '),
        point: first.s.mean,
        ci95: Number.isFinite(first.s.ci[0]) ? first.s.ci : null,
      };
    },
  },
};

/**
 * A figure with no comparison stored (fewer than 2 values a side, or no native
 * figure): the difference of the means in words, no interval, no verdict, and
 * the reason. Native without the metric counts as 0 (an idle native process
 * has no instance overhead), and the text says so.
 */
function plainFigure(m: MetricResult, nm: MetricResult | undefined, phrase: string): Reading {
  const b = summarize(m.values);
  if (!b) return EMPTY;
  const n = nm ? summarize(nm.values) : null;
  const diff = b.mean - (n?.mean ?? 0);
  const why = !n ? `native reports no ${m.metric}: taken as 0` : `n=${b.n}/${n.n}: no interval, no verdict`;
  return {
    verdict: null,
    value: `${fmtDifferenceValue({ diff }, m.unit)}${phrase ? ` ${phrase}` : ''}`,
    ci: '',
    detail:
      `${fmtQuantity(b.mean, m.unit)}${n ? ` vs ${fmtQuantity(n.mean, m.unit)} native` : ''} (means, ` +
      `n=${b.n}); ${why}`,
    point: diff,
    ci95: null,
  };
}

// ---------- rows ----------

function orderIndex(id: string): number {
  return categoryIndex(id);
}

function stateOf(cell: Cell | undefined): Pick<HeadlineFigure, 'state' | 'stateReason'> {
  if (!cell) return { state: 'missing' };
  const reason =
    cell.state === 'failed'
      ? brief(`${cell.stage}: ${cell.error}`)
      : cell.state === 'partial' || cell.state === 'skipped'
        ? cell.reason
        : undefined;
  return { state: cell.state, ...(reason ? { stateReason: reason } : {}) };
}

/** Longest failure reason a headline cell shows; the category section below has the whole error. */
const BRIEF_REASON_CHARS = 240;

/** A failure's first line, cut at BRIEF_REASON_CHARS (a VM's error carries its console log). */
function brief(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length <= BRIEF_REASON_CHARS
    ? first
    : `${first.slice(0, BRIEF_REASON_CHARS).trimEnd()}… (the whole error is in the section below)`;
}

const EMPTY: Reading = { verdict: null, value: '', ci: '', detail: '', point: null, ci95: null };

export function computeHeadline(input: HeadlineInput): HeadlineRow[] {
  const native =
    input.backends.find((b) => b.kind === 'native') ??
    (input.cells.some((c) => c.backend === 'native') ? { label: 'native' } : undefined);
  // Every row reads a backend against the native baseline: without one there is no headline.
  if (!native) return [];
  const labels: string[] = [];
  for (const b of input.backends) if (b.label !== native?.label) labels.push(b.label);
  for (const c of input.cells) if (c.backend !== native?.label && !labels.includes(c.backend)) labels.push(c.backend);
  const workloads = [...new Set(input.cells.map((c) => c.workload))].sort((a, b) => orderIndex(a) - orderIndex(b));
  const rows: HeadlineRow[] = [];
  for (const w of workloads) {
    const cells = input.cells.filter((c) => c.workload === w);
    const nativeCell = cells.find((c) => c.backend === native?.label);
    const view = workloadDeclaration(w)?.isolation;
    const reader = view?.headline ? ISOLATION_READERS[view.view] : undefined;
    if (reader) {
      const entries = labels.map((b): HeadlineFigure => {
        const cell = cells.find((c) => c.backend === b);
        const r = cell ? reader.read(cell.metrics, cell) : null;
        return { backend: b, ...(r ?? EMPTY), ...stateOf(cell) };
      });
      const base = nativeCell ? reader.read(nativeCell.metrics, nativeCell) : null;
      if (entries.every((e) => !e.value) && !base) continue;
      rows.push({
        category: w,
        title: categoryTitle(w),
        kind: 'isolation',
        metric: reader.metric,
        unit: reader.unit,
        higherIsBetter: reader.higherIsBetter,
        what: reader.what,
        baseline: base
          ? `native (plain processes): ${base.value}${base.detail ? `; ${base.detail}` : ''}`
          : 'native: not measured',
        entries,
      });
      continue;
    }
    const ovs = input.overheads.filter((o) => o.workload === w);
    const dfs = input.differences.filter((d) => d.workload === w);
    const all = [
      ...new Set(cells.filter((c) => c.backend !== native?.label).flatMap((c) => c.metrics.map((m) => m.metric))),
    ];
    const names = all.filter((n) => ovs.some((o) => o.metric === n) || dfs.some((d) => d.metric === n));
    // The category's primary metric (footprint and density: PSS) even when it has no verdict
    // (one repetition, no native figure).
    const primary = primaryMetric(w, all);
    const metric = primary ?? names[0];
    if (!metric) continue;
    const isRatio = ovs.some((o) => o.metric === metric);
    const decl = cells.flatMap((c) => c.metrics).find((m) => m.metric === metric) as MetricResult;
    const phrase = isRatio ? '' : absolutePhrase(w, metric);
    const nm = nativeCell?.metrics.find((m) => m.metric === metric);
    const ns = nm ? summarize(nm.values) : null;
    rows.push({
      category: w,
      title: categoryTitle(w),
      kind: isRatio ? 'ratio' : 'absolute',
      metric,
      unit: decl.unit,
      higherIsBetter: decl.higherIsBetter,
      what: isRatio ? 'paired ratio vs native' : 'difference vs native',
      baseline: ns ? `native mean ${fmtQuantity(ns.mean, decl.unit)} (n=${ns.n})` : 'native: not measured',
      entries: labels.map((b): HeadlineFigure => {
        const cell = cells.find((c) => c.backend === b);
        const o = ovs.find((x) => x.backend === b && x.metric === metric);
        const d = dfs.find((x) => x.backend === b && x.metric === metric);
        const m = cell?.metrics.find((x) => x.metric === metric);
        const r = o ? overheadFigure(o) : d ? differenceFigure(d, phrase) : m ? plainFigure(m, nm, phrase) : EMPTY;
        return { backend: b, ...r, ...stateOf(cell) };
      }),
    });
  }
  return rows;
}
