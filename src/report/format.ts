/**
 * How the report writes numbers, percentages, intervals, overheads and
 * differences: pure text helpers shared by every renderer and the stored headline.
 */
import type { Difference, Overhead, Summary, Verdict } from '../results/types.js';

/** A backend vs native by difference of means, as stored in results.differences (src/stats). */
export type DifferenceView = Pick<Difference, 'diff' | 'ci95' | 'verdict' | 'nativeMean' | 'backendMean'> &
  Partial<
    Pick<
      Difference,
      'threshold' | 'detectable' | 'repetitionsNeeded' | 'design' | 'pairs' | 'spread' | 'beyondThreshold'
    >
  >;

/** Format a number with about 3 significant digits and thousands separators. */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '0';
  let digits: number;
  if (a >= 100) digits = 0;
  else if (a >= 10) digits = 1;
  else if (a >= 1) digits = 2;
  else digits = Math.min(6, 2 - Math.floor(Math.log10(a)));
  return v.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

export function fmtPct(v: number, signed = true): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(1);
  return (signed && v > 0 ? '+' : '') + s + '%';
}

export function fmtCi(ci: [number, number] | null | undefined): string {
  if (!ci) return '—';
  return `[${fmtNum(ci[0])}, ${fmtNum(ci[1])}]`;
}

export function fmtPctCi(ci: [number, number]): string {
  return `[${fmtPct(ci[0])}, ${fmtPct(ci[1])}]`;
}

/** Costs at or above this factor read better as "7.1× slower than native" than as a percentage. */
export const FACTOR_THRESHOLD = 3;

/**
 * Large costs are shown as a factor. Decided on the cost factor (from the
 * ratio), not on overheadPct, whose scale depends on the metric direction
 * (a throughput cost of 1 - ratio never exceeds 100%).
 */
export function showAsFactor(o: Overhead): boolean {
  const f = costFactor(o).value;
  return (
    Number.isFinite(f) &&
    (f >= FACTOR_THRESHOLD || f <= 1 / FACTOR_THRESHOLD) &&
    Number.isFinite(o.ratioCi95[0]) &&
    Number.isFinite(o.ratioCi95[1])
  );
}

/** A factor with about two significant digits: 9.8, 21, 1,457. */
export function fmtFactor(v: number): string {
  if (!Number.isFinite(v)) return '∞';
  const a = Math.abs(v);
  if (a >= 10) return Math.round(v).toLocaleString('en-US');
  if (a >= 1) return (Math.round(v * 10) / 10).toString();
  return Number(v.toPrecision(2)).toString();
}

/** Words for "worse" and "better" in a metric's terms: times and rates are slower/faster. */
export function directionWords(m: { unit: string; higherIsBetter: boolean }): [string, string] {
  const u = m.unit.trim();
  const time = /^(ns|µs|us|ms|s|sec|min)(\/|$)/i.test(u);
  const rate = m.higherIsBetter && /\/s\b|iops|bit\/s|mbps|gbps|ops/i.test(u);
  return time || rate ? ['slower', 'faster'] : ['worse', 'better'];
}

/**
 * The point estimate of an overhead in words that cannot be misread:
 * "11.9% slower", "9.8× slower than native" (throughput at 1/9.8 of native),
 * "21× native (slower)" (a time 21 times native's).
 */
export function fmtOverheadValue(o: Overhead): string {
  const [worse, better] = directionWords(o);
  if (showAsFactor(o)) {
    const f = costFactor(o).value;
    if (o.higherIsBetter)
      return f >= 1 ? `${fmtFactor(f)}× ${worse} than native` : `${fmtFactor(1 / f)}× ${better} than native`;
    return `${fmtFactor(o.ratio)}× native (${f >= 1 ? worse : better})`;
  }
  const p = o.overheadPct;
  if (!Number.isFinite(p)) return '—';
  // Never "same as native" from a point estimate: only a no-practical-difference verdict may say that.
  if (Math.abs(p) < 0.05) return `${fmtPct(0, false)} difference`;
  return `${fmtPct(Math.abs(p), false)} ${p > 0 ? worse : better}`;
}

/** The CI of an overhead, in the same form as fmtOverheadValue (percent: + = worse than native). */
export function fmtOverheadCi(o: Overhead): string {
  if (showAsFactor(o)) {
    if (o.higherIsBetter) {
      const f = costFactor(o);
      return f.value >= 1
        ? `[${fmtFactor(f.ci[0])}×, ${fmtFactor(f.ci[1])}×]`
        : `[${fmtFactor(1 / f.ci[1])}×, ${fmtFactor(1 / f.ci[0])}×]`;
    }
    return `[${fmtFactor(o.ratioCi95[0])}×, ${fmtFactor(o.ratioCi95[1])}×]`;
  }
  return fmtPctCi(o.overheadPctCi95);
}

/** A second reading of an overhead: "runs at 10% of native" for throughput, the percent for a factor. */
export function fmtOverheadDetail(o: Overhead): string {
  if (o.higherIsBetter) return `runs at ${fmtPct(o.ratio * 100, false)} of native`;
  return `${fmtPct(o.overheadPct)} vs native`;
}

/** "11.9% slower [−41.2%, +45.0%]" (or "9.8× slower than native [3.3×, 29×]") for an overhead. */
export function fmtOverhead(o: Overhead): string {
  return `${fmtOverheadValue(o)} ${fmtOverheadCi(o)}`;
}

/** How outliers were looked for, in words, for a summary ("n too small to flag outliers" below 3). */
export function outlierText(s: Summary): string {
  if (s.outliers.length)
    return (
      `${s.outliers.length} outlier${s.outliers.length > 1 ? 's' : ''} ` +
      `(${s.outlierMethod === 'dixon-q95' ? "Dixon's Q, 95%" : 'modified z-score > 3.5'}; kept)`
    );
  if (s.outlierMethod === 'none: n < 3' || (!s.outlierMethod && s.n < 3)) return 'n too small to flag outliers';
  return '';
}

export function verdictText(o: { verdict: Verdict; implausible?: unknown } | null): string {
  if (!o) return 'no data';
  // A flagged figure says so wherever its verdict is printed (tables, badges, charts).
  if (o.implausible) return `implausible (${verdictText({ verdict: o.verdict })}; kept out of capacity)`;
  switch (o.verdict) {
    case 'overhead':
      return 'overhead';
    case 'better':
      return 'better than native';
    case 'no-practical-difference':
      return 'no practical difference';
    case 'small-difference':
      return 'small difference';
    case 'inconclusive':
      return 'inconclusive';
    case 'insufficient-data':
      return 'insufficient data';
  }
}

/**
 * Cost factor vs native: >1 means the backend is worse, whatever the metric's
 * direction (a throughput at 1/7 of native is a 7x cost). Derived from the
 * ratio, so it stays right for large slowdowns. CI swapped when inverted.
 */
export function costFactor(o: Overhead): { value: number; ci: [number, number] } {
  if (o.higherIsBetter) {
    const inv = (x: number) => (x > 0 ? 1 / x : Number.POSITIVE_INFINITY);
    return { value: inv(o.ratio), ci: [inv(o.ratioCi95[1]), inv(o.ratioCi95[0])] };
  }
  return { value: o.ratio, ci: [o.ratioCi95[0], o.ratioCi95[1]] };
}

/** Scale a value for display: ms ≥ 1000 → s, µs ≥ 1000 → ms, MiB ≥ 10240 → GiB. */
export function displayUnit(unit: string, magnitude: number): { unit: string; factor: number } {
  const a = Math.abs(magnitude);
  if (unit === 'ms' && a >= 1000) return { unit: 's', factor: 1 / 1000 };
  if ((unit === 'µs' || unit === 'us') && a >= 1000) return { unit: 'ms', factor: 1 / 1000 };
  if (unit === 'ns' && a >= 1000) return { unit: 'µs', factor: 1 / 1000 };
  if (unit === 'MiB' && a >= 10240) return { unit: 'GiB', factor: 1 / 1024 };
  return { unit, factor: 1 };
}

function signed(v: number, text: string): string {
  return v > 0 ? `+${text}` : v < 0 ? `−${text.replace(/^-/, '')}` : text;
}

/** "241 MiB", "3.9 s". */
export function fmtQuantity(v: number, unit: string): string {
  const d = displayUnit(unit, v);
  return `${fmtNum(v * d.factor)} ${d.unit}`;
}

export function fmtDifferenceValue(d: Pick<DifferenceView, 'diff'>, unit: string): string {
  const u = displayUnit(unit, d.diff);
  return `${signed(d.diff, fmtNum(d.diff * u.factor))} ${u.unit}`;
}

export function fmtDifferenceCi(d: Pick<DifferenceView, 'diff' | 'ci95'>, unit: string): string {
  const u = displayUnit(unit, d.diff);
  const f = (x: number): string => (Number.isFinite(x) ? signed(x, fmtNum(x * u.factor)) : x > 0 ? '+∞' : '−∞');
  return `[${f(d.ci95[0])}, ${f(d.ci95[1])}] ${u.unit}`;
}

/** Flatten nested host facts into dotted keys with printable values. */
export function flattenFacts(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (obj === null || obj === undefined) {
    if (prefix) out.push([prefix, String(obj)]);
    return out;
  }
  if (Array.isArray(obj)) {
    if (obj.every((v) => v === null || typeof v !== 'object')) out.push([prefix, obj.map((v) => String(v)).join(', ')]);
    else obj.forEach((v, i) => flattenFacts(v, `${prefix}[${i}]`, out));
    return out;
  }
  if (typeof obj === 'object') {
    const entries = Object.entries(obj as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '{}']);
    for (const [k, v] of entries) flattenFacts(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  // Byte counts are easier to read with a binary-unit companion.
  if (typeof obj === 'number' && /bytes$/i.test(prefix) && obj >= 1024) out.push([prefix, `${obj} (${fmtBytes(obj)})`]);
  else out.push([prefix, String(obj)]);
  return out;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${fmtNum(v)} ${units[i]}`;
}

/** "reason." with a full stop, so a following sentence reads right. */
export function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
