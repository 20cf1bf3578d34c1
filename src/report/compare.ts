/**
 * Run-to-run comparison on the run's own estimator (src/stats).
 *
 * By default compare asks what a user of compare asks: did isolation get
 * cheaper or dearer? For every backend × workload × metric it compares the
 * backend's paired overhead vs native in run A and in run B (each run's
 * per-round log ratios; figures compared by difference: per-round
 * differences), adds a between-run variance term (src/stats/change.ts
 * BETWEEN_RUN_SD: a documented per-category default, or a per-host A/A
 * calibration passed in), and judges the change with the run's verdicts and
 * thresholds. Host drift that moves native and the backend alike cancels; the
 * absolute figures are shown beside. `absolute: true` (--absolute) compares
 * the raw figures instead; a change native shows too is then labelled host
 * drift, not a regression.
 *
 * Multiplicity: the rows' "regressed"/"improved" verdicts are Holm-corrected
 * (family-wise 5% over the rows compared): a row that reads changed at 95%
 * alone but not after the correction reads inconclusive and says so.
 * `regressions(cmp, PCT)` (--fail-on-regression) tests "worse by more than
 * PCT" per row and keeps the rows Holm rejects at one-sided 2.5% (the 95% CI
 * lower bound above PCT when only one row is compared), host drift excluded.
 */
import type { RunResults, Verdict } from '../results/types.js';
import { withComparisons } from './derive.js';
import {
  changePValue,
  comparisonMode,
  defaultBetweenRunSd,
  holmRejects,
  isDecided,
  mean,
  overheadChange,
  regressionPValue,
  thresholdFor,
  valueChange,
  type CompareMode,
  type ChangeEstimate,
} from '../stats/index.js';
import { isCheckMetric, thresholdsOf } from '../stats/comparisons.js';
import { escapeHtml } from './html/parts.js';
import { fmtNum, fmtPct, fmtQuantity } from './format.js';
import { mdEscape } from './markdown.js';

export type CompareVerdict = Verdict | 'only-in-a' | 'only-in-b';

export interface SideStats {
  n: number;
  mean: number;
}

export interface ComparisonEntry {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** overhead: the backend's overhead vs native, A vs B; absolute: the raw figure, A vs B. */
  basis: 'overhead' | 'absolute';
  /** ratio: change in percent; absolute: change in the metric's unit. */
  mode: CompareMode;
  /** The backend's raw figure (mean) in each run, shown beside. */
  a: SideStats | null;
  b: SideStats | null;
  /** Cost of B vs A: + = B is worse (percent for ratio mode, the unit for difference mode). */
  change: number | null;
  changeCi95: [number, number] | null;
  /** The lower CI bound in percent of A's figure (what --fail-on-regression compares). */
  lowerBoundPct: number | null;
  threshold: number | null;
  detectable: number | null;
  repetitionsNeeded: number | null;
  verdict: CompareVerdict;
  /** Native's own change of this metric between the runs (percent or unit, + = worse), null without native. */
  nativeChange: { change: number; ci95: [number, number]; verdict: Verdict } | null;
  /** The move is the host's: native moved the same way (absolute basis), or this is native itself. */
  hostDrift: boolean;
  /** The change was decided only with a flagged outlier in the samples: it reads inconclusive. */
  outlierSensitive?: boolean;
  /** The change's estimate on its scale (for the multiplicity corrections), null without one. */
  stat: ChangeStat | null;
  /** The verdict before Holm's correction, when the correction changed it. */
  uncorrectedVerdict?: CompareVerdict;
  /**
   * The verdict the overhead's change would read, set aside because native moved between the runs and this
   * backend did not (its own figure's change undecided): pairing cancels host drift only for a backend that
   * moves with the host, and here the overhead changed because native did (an emulated VM's memory figures).
   */
  nativeMovedAlone?: CompareVerdict;
}

/** A change's estimate on its scale: center, SE (with the between-run term), df, design and the tau used. */
export interface ChangeStat {
  scale: 'log' | 'linear';
  center: number;
  se: number;
  df: number;
  design: 'paired' | 'unpaired';
  betweenRunSd: number;
}

export interface RunInfo {
  runId: string;
  startedAt: string;
  status: RunResults['status'];
  accelerators: Record<string, string>;
}

export interface Comparison {
  a: RunInfo;
  b: RunInfo;
  basis: 'overhead' | 'absolute';
  entries: ComparisonEntry[];
  /** Each category's headline figure (B's headline, else A's): what `--gate headline` tests. */
  headlineMetrics: Record<string, string>;
  /**
   * Holm's correction over the compared rows: how many rows, the family-wise level, how many verdicts it
   * turned to inconclusive, and how many false flags an uncorrected reading would expect by chance.
   */
  multiplicity: {
    method: 'holm';
    metrics: number;
    familyAlpha: number;
    downgraded: number;
    expectedFalseFlags: number;
    note: string;
  };
  /** Where the between-run variance term came from. */
  betweenRun: { source: 'default' | 'calibration'; note: string };
  /** Things that make the comparison less like-for-like (different accelerator, rootfs, host ...). */
  warnings: string[];
}

export interface CompareOptions {
  /** Compare raw figures instead of overheads vs native. */
  absolute?: boolean;
  /**
   * Between-run SDs per workload from a per-host A/A calibration (calibrateBetweenRun), in ln units, for
   * figures compared by ratio. Workloads it does not name, and figures compared by difference, keep the defaults.
   */
  calibration?: BetweenRunCalibration;
}

interface Values {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  values: number[];
  /** Round of each value (pairs native and backend within a run). */
  repetitions: number[] | undefined;
}

function info(r: RunResults): RunInfo {
  return {
    runId: r.runId,
    startedAt: r.startedAt,
    status: r.status,
    accelerators: Object.fromEntries(r.backends.map((b) => [b.label, b.accelerator])),
  };
}

function metricValues(r: RunResults): Map<string, Values> {
  const out = new Map<string, Values>();
  for (const cell of r.cells) {
    for (const m of cell.metrics) {
      const keep = m.values.map((v) => Number.isFinite(v));
      const values = m.values.filter((_, i) => keep[i]);
      if (values.length === 0 || isCheckMetric(m.metric)) continue;
      const paired = Array.isArray(m.repetitions) && m.repetitions.length === m.values.length;
      const reps = paired ? m.repetitions.filter((_, i) => keep[i]) : undefined;
      const { metric, unit, higherIsBetter } = m;
      out.set(`${cell.backend}|${cell.workload}|${metric}`, {
        backend: cell.backend,
        workload: cell.workload,
        metric,
        unit,
        higherIsBetter,
        values,
        repetitions: reps,
      });
    }
  }
  return out;
}

function side(v: Values | undefined): SideStats | null {
  return v ? { n: v.values.length, mean: mean(v.values) } : null;
}

/** Level of the expected-false-flag note: a false overhead or better needs a 95% CI that misses 0. */
export const FALSE_FLAG_RATE = 0.05;
/** Family-wise level of Holm's correction of the rows' verdicts (two-sided) and of --fail-on-regression (one-sided). */
export const FAMILY_ALPHA = 0.05;
export const REGRESSION_ALPHA = 0.025;

function rounds(v: Values): { values: number[]; repetitions?: number[] } {
  return v.repetitions ? { values: v.values, repetitions: v.repetitions } : { values: v.values };
}

/** Between-run SDs per workload (ln units): on the overhead basis and for raw figures. */
export type BetweenRunCalibration = Record<string, { overhead: number; raw: number }>;

/**
 * A per-host calibration of the between-run SD from an A/A pair (two runs of the same build, nothing
 * changed), by the method of moments per workload over its ratio figures: with D the move of a figure's
 * estimate between the runs and W its within-run variance (both runs' SE²), E[D²] = W + 2τ², so
 * τ² = max(0, mean(D² − W)) / 2. On the overhead basis D is the move of the paired mean ln ratio; for raw
 * figures, of the ln mean. More pairs of runs make it better: one pair gives a rough figure per workload.
 */
export function calibrateBetweenRun(rawA: RunResults, rawB: RunResults): BetweenRunCalibration {
  const cmpO = compareRuns(rawA, rawB, { calibration: {} });
  const cmpR = compareRuns(rawA, rawB, { absolute: true, calibration: {} });
  const acc = new Map<string, { o: number[]; r: number[] }>();
  const add = (e: ComparisonEntry, key: 'o' | 'r'): void => {
    if (e.mode !== 'ratio' || !e.stat || !Number.isFinite(e.stat.se) || !Number.isFinite(e.stat.center)) return;
    // stat.se includes the between-run term used by that compare: remove it to get the within-run part.
    const within = e.stat.se * e.stat.se - 2 * e.stat.betweenRunSd * e.stat.betweenRunSd;
    const cur = acc.get(e.workload) ?? { o: [], r: [] };
    cur[key].push(e.stat.center * e.stat.center - Math.max(0, within));
    acc.set(e.workload, cur);
  };
  for (const e of cmpO.entries) add(e, 'o');
  for (const e of cmpR.entries) add(e, 'r');
  const tau = (xs: number[]): number => {
    if (!xs.length) return Number.NaN;
    return Math.sqrt(Math.max(0, xs.reduce((a, b) => a + b, 0) / xs.length) / 2);
  };
  const out: BetweenRunCalibration = {};
  for (const [w, v] of acc) {
    const o = tau(v.o);
    const r = tau(v.r);
    if (Number.isFinite(o) && Number.isFinite(r)) out[w] = { overhead: o, raw: r };
  }
  return out;
}

/**
 * Whether an overhead-basis row's decided change comes from native alone: native's own figure moved
 * (decided, beyond its threshold) the way that makes this backend's relative cost move as the row says,
 * while the backend's own figure did not move (undecided or no practical difference).
 */
function nativeMovedAlone(e: ComparisonEntry, ownVerdict: Verdict | undefined): boolean {
  const moved = (v: string | undefined): boolean => v === 'overhead' || v === 'better';
  const nc = e.nativeChange;
  if (!moved(e.verdict) || !nc || !moved(nc.verdict) || moved(ownVerdict) || e.change === null) return false;
  // Native worse (+) makes the backend's relative cost fall (-), and the reverse.
  return Math.sign(nc.change) === -Math.sign(e.change);
}

/** Compare run B against run A (A is the reference: "before"). */
export function compareRuns(rawA: RunResults, rawB: RunResults, opts: CompareOptions = {}): Comparison {
  const a = withComparisons(rawA);
  const b = withComparisons(rawB);
  const basis = opts.absolute ? 'absolute' : 'overhead';
  const ma = metricValues(a);
  const mb = metricValues(b);
  const nativeA = a.backends.find((x) => x.kind === 'native')?.label ?? 'native';
  const nativeB = b.backends.find((x) => x.kind === 'native')?.label ?? 'native';
  const overrides = thresholdsOf(b.scenario) ?? thresholdsOf(a.scenario);
  const keys = [...new Set([...ma.keys(), ...mb.keys()])];
  const entries: ComparisonEntry[] = [];
  const tauOf = (workload: string, mode: CompareMode, raw: boolean, threshold: number): number => {
    const cal = opts.calibration?.[workload];
    if (cal && mode === 'ratio') return raw ? cal.raw : cal.overhead;
    return defaultBetweenRunSd(workload, mode, raw ? 'raw' : 'overhead', threshold).sd;
  };
  const judge = (est: ChangeEstimate | null, e: ComparisonEntry, refMean: number): void => {
    if (!est) return;
    const { scale, center, se, df, design, betweenRunSd } = est;
    e.stat = { scale, center, se, df, design, betweenRunSd };
    e.change = est.cost;
    e.changeCi95 = est.costCi95;
    e.threshold = est.threshold;
    e.detectable = est.detectable;
    e.repetitionsNeeded = est.repetitionsNeeded;
    e.verdict = est.verdict;
    if (est.outlierSensitive) e.outlierSensitive = true;
    const lo = est.costCi95[0];
    e.lowerBoundPct = !Number.isFinite(lo)
      ? null
      : e.mode === 'ratio'
        ? lo
        : refMean !== 0
          ? (lo / Math.abs(refMean)) * 100
          : null;
  };
  for (const key of keys) {
    const ea = ma.get(key);
    const eb = mb.get(key);
    const base = (ea ?? eb) as Values;
    const isNativeRow = base.backend === nativeA || base.backend === nativeB;
    // On the overhead basis native is the reference, not a row: its move is shown beside each backend's.
    if (basis === 'overhead' && isNativeRow) continue;
    const na = ma.get(`${nativeA}|${base.workload}|${base.metric}`);
    const nb = mb.get(`${nativeB}|${base.workload}|${base.metric}`);
    const useOverhead = basis === 'overhead' && na !== undefined && nb !== undefined;
    const refNative = na ? mean(na.values) : null;
    const mode = comparisonMode(
      base.workload,
      base.metric,
      base.unit,
      useOverhead ? refNative : ea ? mean(ea.values) : null,
    );
    const aMean = ea ? mean(ea.values) : Number.NaN;
    const magnitude = Math.max(Math.abs(aMean), eb ? Math.abs(mean(eb.values)) : 0);
    const threshold = thresholdFor(mode, base.workload, base.unit, overrides, magnitude);
    const entry: ComparisonEntry = {
      backend: base.backend,
      workload: base.workload,
      metric: base.metric,
      unit: base.unit,
      higherIsBetter: base.higherIsBetter,
      basis: useOverhead ? 'overhead' : 'absolute',
      mode,
      a: side(ea),
      b: side(eb),
      change: null,
      changeCi95: null,
      lowerBoundPct: null,
      threshold,
      detectable: null,
      repetitionsNeeded: null,
      verdict: !ea ? 'only-in-b' : !eb ? 'only-in-a' : 'insufficient-data',
      nativeChange: null,
      hostDrift: false,
      stat: null,
    };
    if (na && nb) {
      const tau = tauOf(base.workload, mode, true, threshold);
      const nc = valueChange(na.values, nb.values, mode, base.higherIsBetter, threshold, tau);
      if (nc) entry.nativeChange = { change: nc.cost, ci95: nc.costCi95, verdict: nc.verdict };
    }
    if (ea && eb) {
      if (useOverhead && na && nb) {
        const tau = tauOf(base.workload, mode, false, threshold);
        const runA = { native: rounds(na), backend: rounds(ea) };
        const runB = { native: rounds(nb), backend: rounds(eb) };
        judge(overheadChange(runA, runB, mode, base.higherIsBetter, threshold, tau), entry, aMean);
        const own = valueChange(
          ea.values,
          eb.values,
          mode,
          base.higherIsBetter,
          threshold,
          tauOf(base.workload, mode, true, threshold),
        );
        if (nativeMovedAlone(entry, own?.verdict)) {
          entry.nativeMovedAlone = entry.verdict;
          entry.verdict = 'inconclusive';
        }
      } else {
        const tau = tauOf(base.workload, mode, true, threshold);
        judge(valueChange(ea.values, eb.values, mode, base.higherIsBetter, threshold, tau), entry, aMean);
      }
    }
    if (entry.basis === 'absolute' && (entry.verdict === 'overhead' || entry.verdict === 'better')) {
      const nv = entry.nativeChange?.verdict;
      // The host's own move: native is the host, and a backend that moved the way native did moved with it.
      entry.hostDrift = isNativeRow || (nv !== undefined && nv === entry.verdict);
    }
    entries.push(entry);
  }
  entries.sort(
    (x, y) =>
      x.workload.localeCompare(y.workload) || x.backend.localeCompare(y.backend) || x.metric.localeCompare(y.metric),
  );

  // Holm over the rows with an estimate: a changed verdict stands only if its "no change" test survives.
  const tested = entries.filter((e) => e.stat !== null && e.verdict !== 'insufficient-data');
  const keep = holmRejects(
    tested.map((e) => changePValue(e.stat as ChangeStat)),
    FAMILY_ALPHA,
  );
  let downgraded = 0;
  tested.forEach((e, i) => {
    if ((e.verdict === 'overhead' || e.verdict === 'better') && !keep[i]) {
      e.uncorrectedVerdict = e.verdict;
      e.verdict = 'inconclusive';
      downgraded++;
    }
  });
  const decidable = tested.length;
  const expected = decidable * FALSE_FLAG_RATE;
  const multiplicity = {
    method: 'holm' as const,
    metrics: decidable,
    familyAlpha: FAMILY_ALPHA,
    downgraded,
    expectedFalseFlags: expected,
    note:
      `${decidable} metrics compared. Uncorrected, at 95% each, about ${fmtNum(expected)} (5%) of them ` +
      `would read "regressed" or "improved" by chance alone; ` +
      `Holm's correction keeps the chance of any such false flag among all ${decidable} at 5%: ` +
      `${downgraded} verdict(s) that read changed at 95% alone read inconclusive here. ` +
      `--fail-on-regression tests "worse by more than PCT" on each backend's headline figure per category ` +
      `(the primary endpoints; --gate all: every row), Holm-corrected at one-sided 2.5% over those rows.`,
  };
  const calibrated = opts.calibration !== undefined;
  const betweenRun = {
    source: calibrated ? ('calibration' as const) : ('default' as const),
    note: calibrated
      ? 'Between-run variance: from the per-host A/A calibration given, ' +
        `for ${Object.keys(opts.calibration ?? {}).join(', ') || 'no workload'} (ratio figures); ` +
        'the documented defaults elsewhere (docs/statistics.md).'
      : 'Between-run variance: documented per-category defaults (docs/statistics.md; CPU 1%, memory 2%, ' +
        'disk and network 5% per run on the overhead basis), not measured in these runs: ' +
        'one instance per backend per run cannot show it.',
  };

  const warnings: string[] = [];
  const ia = info(a);
  const ib = info(b);
  for (const [label, acc] of Object.entries(ia.accelerators)) {
    const accB = ib.accelerators[label];
    if (accB !== undefined && accB !== acc)
      warnings.push(`${label}: accelerator differs (${acc} in A, ${accB} in B); its changes mostly reflect that.`);
  }
  for (const [label, acc] of [...Object.entries(ia.accelerators), ...Object.entries(ib.accelerators)]) {
    if (acc.toLowerCase() === 'tcg' && !warnings.some((w) => w.startsWith(`${label}: TCG`)))
      warnings.push(`${label}: TCG software emulation, not hardware virtualization.`);
  }
  if (a.rootfsHash !== b.rootfsHash)
    warnings.push(`The workload rootfs differs (${a.rootfsHash ?? 'none'} vs ${b.rootfsHash ?? 'none'}).`);
  for (const k of ['hostname', 'kernel', 'cpuModel', 'cpus']) {
    const va = a.host[k];
    const vb = b.host[k];
    if (va !== undefined && vb !== undefined && JSON.stringify(va) !== JSON.stringify(vb))
      warnings.push(`Host ${k} differs (${String(va)} vs ${String(vb)}).`);
  }
  if (a.status !== 'complete') warnings.push(`Run A is ${a.status}${a.statusReason ? `: ${a.statusReason}` : ''}.`);
  if (b.status !== 'complete') warnings.push(`Run B is ${b.status}${b.statusReason ? `: ${b.statusReason}` : ''}.`);
  const headlineMetrics: Record<string, string> = {};
  for (const r of [...(a.headline ?? []), ...(b.headline ?? [])]) headlineMetrics[r.category] = r.metric;
  return { a: ia, b: ib, basis, entries, headlineMetrics, multiplicity, betweenRun, warnings };
}

/** Which rows --fail-on-regression tests: each backend's headline figure per category, or every row. */
export type RegressionGate = 'headline' | 'all';

/**
 * The rows a gate tests. `headline`: per backend and category, the category's primary metric (the figure
 * the headline and capacity read), as a trial's primary endpoints: the family is small, so a real regression
 * there is caught with n=3 pairs a run; the other rows stay descriptive (their verdicts Holm-corrected over
 * every row). `all`: every row with an estimate.
 */
export function gatedRows(cmp: Comparison, gate: RegressionGate = 'headline'): ComparisonEntry[] {
  const tested = cmp.entries.filter((e) => e.stat !== null && e.verdict !== 'insufficient-data');
  if (gate === 'all') return tested;
  // A category the runs' headlines do not name (results of an older isobench) gates every row.
  return tested.filter((e) => {
    const headline = cmp.headlineMetrics[e.workload];
    return headline === undefined || e.metric === headline;
  });
}

/**
 * --fail-on-regression: the rows whose "worse by more than failPct" test Holm rejects at one-sided 2.5% over
 * the gated rows (gatedRows; with one row: its 95% CI lower bound above failPct), host drift excluded.
 */
export function regressions(cmp: Comparison, failPct: number, gate: RegressionGate = 'headline'): ComparisonEntry[] {
  const tested = gatedRows(cmp, gate);
  const p = tested.map((e) => {
    const refMagnitude = e.a ? Math.abs(e.a.mean) : 0;
    return regressionPValue(e.stat as ChangeStat, e.higherIsBetter, failPct, refMagnitude);
  });
  const rejected = holmRejects(p, REGRESSION_ALPHA);
  return tested.filter((e, i) => rejected[i] && !e.hostDrift && e.lowerBoundPct !== null && e.lowerBoundPct > failPct);
}

// ---------- rendering ----------

const VERDICT_TEXT: Record<CompareVerdict, string> = {
  overhead: 'REGRESSED (overhead)',
  better: 'improved (better)',
  'no-practical-difference': 'no practical difference',
  'small-difference': 'small difference',
  inconclusive: 'inconclusive',
  'insufficient-data': 'insufficient data',
  'only-in-a': 'only in A',
  'only-in-b': 'only in B',
};

function fmtChange(e: Pick<ComparisonEntry, 'mode' | 'unit'>, x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  return e.mode === 'ratio' ? fmtPct(x) : `${x > 0 ? '+' : ''}${fmtQuantity(x, e.unit)}`;
}

export function changeText(e: ComparisonEntry): string {
  if (e.change === null) return '—';
  const ci = e.changeCi95 ? ` [${fmtChange(e, e.changeCi95[0])}, ${fmtChange(e, e.changeCi95[1])}]` : '';
  return `${fmtChange(e, e.change)}${ci}`;
}

function verdictNote(e: ComparisonEntry): string {
  const bits: string[] = [];
  if (e.hostDrift) bits.push('host drift (native moved the same way), not a regression');
  else if (
    !e.nativeMovedAlone &&
    e.basis === 'overhead' &&
    e.nativeChange &&
    isDecided(e.nativeChange.verdict) &&
    e.nativeChange.verdict !== 'no-practical-difference'
  )
    bits.push(`native itself moved ${fmtChange(e, e.nativeChange.change)} (host drift, cancelled in the overhead)`);
  if (e.nativeMovedAlone)
    bits.push(
      `${VERDICT_TEXT[e.nativeMovedAlone]} on the overhead basis only because native moved and this backend did ` +
        'not: the host changed, not the isolation (compare --absolute shows both)',
    );
  if (e.uncorrectedVerdict)
    bits.push(`${VERDICT_TEXT[e.uncorrectedVerdict]} at 95% alone, not after Holm's correction over the rows`);
  else if (e.outlierSensitive)
    bits.push('decided only with a flagged outlier repetition in (kept, shown): inconclusive');
  else if (e.verdict === 'inconclusive')
    bits.push(
      e.repetitionsNeeded !== null
        ? `~${e.repetitionsNeeded} repetitions per run would decide it`
        : 'not decidable with this between-run variance: more repetitions alone will not do',
    );
  if (e.threshold !== null && e.detectable !== null)
    bits.push(
      `threshold ±${fmtChange(e, e.threshold).replace(/^\+/, '')}, ` +
        `smallest detectable ${Number.isFinite(e.detectable) ? fmtChange(e, e.detectable).replace(/^\+/, '') : '∞'}`,
    );
  return bits.join('; ');
}

function counts(cmp: Comparison): Record<CompareVerdict, number> {
  const c = Object.fromEntries(Object.keys(VERDICT_TEXT).map((k) => [k, 0])) as Record<CompareVerdict, number>;
  for (const e of cmp.entries) c[e.verdict]++;
  return c;
}

function basisText(cmp: Comparison): string {
  return cmp.basis === 'overhead'
    ? "Change of each backend's overhead vs native from A to B: each run's paired overhead " +
        '(mean per-round ln(backend/native); figures compared by difference: mean per-round difference), ' +
        "B's minus A's, with a 95% CI from both runs' spreads plus a between-run variance term " +
        "(Welch–Satterthwaite df); + = B's isolation costs more. Host drift that moves native too cancels. " +
        'The absolute means are shown beside.'
    : 'Change of each raw figure from A to B: ratio of means (or difference of means), ' +
        '95% CI by the delta method / Welch plus a between-run variance term; + = B is worse. ' +
        'A change native shows too is labelled host drift, not a regression.';
}

function summaryLine(cmp: Comparison): string {
  const c = counts(cmp);
  const drift = cmp.entries.filter((e) => e.hostDrift).length;
  return (
    `${c.overhead} regressed, ${c.better} improved, ${c['no-practical-difference']} no practical difference, ` +
    `${c['small-difference']} small difference, ${c.inconclusive} inconclusive` +
    (c['insufficient-data'] ? `, ${c['insufficient-data']} with insufficient data` : '') +
    (c['only-in-a'] + c['only-in-b'] ? `, ${c['only-in-a'] + c['only-in-b']} in one run only` : '') +
    (drift ? ` (${drift} of the moves are host drift)` : '') +
    '.'
  );
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const lines: string[] = [];
  lines.push(`# isobench compare: ${mdEscape(cmp.a.runId)} → ${mdEscape(cmp.b.runId)}`, '');
  lines.push(`**${mdEscape(summaryLine(cmp))}**`, '');
  lines.push(mdEscape(basisText(cmp)), '');
  lines.push(
    'Verdicts as in a run: no practical difference (90% CI inside ±threshold, TOST), overhead = regressed / better ' +
      "= improved (95% CI excludes 0, and still so after Holm's correction over the rows), " +
      'inconclusive (with the repetitions that would decide it).',
    '',
  );
  lines.push(`> ${mdEscape(cmp.multiplicity.note)}`, '', `> ${mdEscape(cmp.betweenRun.note)}`, '');
  if (cmp.warnings.length) {
    lines.push('## Caveats', '');
    for (const w of cmp.warnings) lines.push(`- ⚠️ ${mdEscape(w)}`);
    lines.push('');
  }
  lines.push(
    '| Backend | Workload | Metric | A mean | B mean | Change [95% CI] | Verdict | Notes |',
    '|---|---|---|---:|---:|---:|---|---|',
  );
  for (const e of cmp.entries) {
    const v = VERDICT_TEXT[e.verdict];
    lines.push(
      `| ${mdEscape(e.backend)} | ${mdEscape(e.workload)} | ${mdEscape(e.metric)} (${mdEscape(e.unit)}, ` +
        `${e.higherIsBetter ? '↑' : '↓'}) | ${e.a ? `${fmtNum(e.a.mean)} (n=${e.a.n})` : '—'} | ` +
        `${e.b ? `${fmtNum(e.b.mean)} (n=${e.b.n})` : '—'} | ${mdEscape(changeText(e))} | ` +
        `${e.verdict === 'overhead' && !e.hostDrift ? `**${v}**` : v} | ${mdEscape(verdictNote(e))} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

const BODY_CSS =
  'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#0f172a;' +
  'background:#f8fafc;margin:0;padding:24px 32px;line-height:1.45}';
const COMPARE_HEAD =
  '<th>Backend</th><th>Workload</th><th>Metric</th><th>A mean</th><th>B mean</th><th>Change [95% CI]</th>' +
  '<th>Verdict</th><th>Notes</th>';

export function renderCompareHtml(cmp: Comparison): string {
  const c = counts(cmp);
  const rows = cmp.entries
    .map((e) => {
      const unit = `${escapeHtml(e.unit)}, ${e.higherIsBetter ? '↑' : '↓'} better`;
      const metric = `${escapeHtml(e.metric)} <span class="unit">(${unit})</span>`;
      const verdict = `<span class="badge b-${e.verdict}">${escapeHtml(VERDICT_TEXT[e.verdict])}</span>`;
      return `<tr class="v-${e.verdict}${e.hostDrift ? ' drift' : ''}">
<td>${escapeHtml(e.backend)}</td><td>${escapeHtml(e.workload)}</td><td>${metric}</td>
<td class="num">${e.a ? `${escapeHtml(fmtNum(e.a.mean))} <span class="unit">n=${e.a.n}</span>` : '—'}</td>
<td class="num">${e.b ? `${escapeHtml(fmtNum(e.b.mean))} <span class="unit">n=${e.b.n}</span>` : '—'}</td>
<td class="num">${escapeHtml(changeText(e))}</td>
<td>${verdict}</td><td class="unit">${escapeHtml(verdictNote(e))}</td></tr>`;
    })
    .join('\n');
  const warnings = cmp.warnings.length
    ? '<div class="warn"><strong>Caveats</strong>' +
      `<ul>${cmp.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`
    : '';
  const runs =
    `A: <code>${escapeHtml(cmp.a.runId)}</code> (${escapeHtml(cmp.a.startedAt)}) → ` +
    `B: <code>${escapeHtml(cmp.b.runId)}</code> (${escapeHtml(cmp.b.startedAt)})`;
  const countSpans =
    `<span class="b-overhead">${c.overhead} regressed</span><span class="b-better">${c.better} improved</span>` +
    `<span class="b-no-practical-difference">${c['no-practical-difference']} no practical difference</span>` +
    `<span class="b-small-difference">${c['small-difference']} small difference</span>` +
    `<span class="b-inconclusive">${c.inconclusive} inconclusive</span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>isobench compare: ${escapeHtml(cmp.a.runId)} → ${escapeHtml(cmp.b.runId)}</title>
<style>
${BODY_CSS}
h1{font-size:22px;margin:0 0 4px}
.sub{color:#475569;margin:0 0 16px}
.counts span{display:inline-block;margin-right:10px;padding:4px 10px;border-radius:6px;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e8f0;margin-top:16px;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#f1f5f9;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.unit{color:#64748b;font-size:12px}
.badge{padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.b-overhead{background:#fee2e2;color:#991b1b}.b-better{background:#dcfce7;color:#166534}
.b-no-practical-difference{background:#e0f2fe;color:#075985}.b-small-difference{background:#f1f5f9;color:#475569}
.b-inconclusive,.b-insufficient-data,.b-only-in-a,.b-only-in-b{background:#fef3c7;color:#92400e}
tr.v-overhead:not(.drift) td{background:#fff7f7}
.warn{background:#fffbeb;border:1px solid #f59e0b;border-radius:8px;padding:10px 16px;margin-top:12px}
.warn ul{margin:6px 0 0;padding-left:20px}
</style></head><body>
<h1>isobench compare</h1>
<p class="sub">${runs}</p>
<div class="counts">${countSpans}</div>
<p class="sub">${escapeHtml(basisText(cmp))}</p>
<p class="sub">${escapeHtml(cmp.multiplicity.note)}</p>
<p class="sub">${escapeHtml(cmp.betweenRun.note)}</p>
${warnings}
<table><thead><tr>${COMPARE_HEAD}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
