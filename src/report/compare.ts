/**
 * Run-to-run comparison: for every backend label × workload × metric present
 * in both runs, the change of the median in percent with a 95% CI, and a
 * verdict (improved / regressed / within noise) that takes the metric's
 * direction into account.
 *
 * The CI comes from a percentile bootstrap of the ratio of medians: each
 * iteration resamples run A's and run B's values independently (with
 * replacement) and takes median(B*) / median(A*). The PRNG is mulberry32
 * seeded from the metric's key, so the same two files always give the same
 * answer, whatever order the entries come in.
 */
import type { RunResults } from '../results/types.js';
import { escapeHtml } from './html.js';
import { fmtNum, fmtPct, fmtPctCi } from './model.js';
import { mdEscape } from './markdown.js';

// ---------- small statistics kit (seeded, dependency-free) ----------

/** mulberry32: a tiny 32-bit seeded PRNG, uniform in [0, 1). Good enough for resampling, not for crypto. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string, used to seed the PRNG per metric. */
export function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Percentile (0..1) of a sorted array, linear interpolation. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function resampleMedian(values: readonly number[], rnd: () => number, buf: number[]): number {
  for (let i = 0; i < values.length; i++) buf[i] = values[Math.floor(rnd() * values.length)] as number;
  return median(buf);
}

/** 95% percentile-bootstrap CI of median(b) / median(a). */
export function bootstrapRatioCi(a: readonly number[], b: readonly number[], opts: { seed: number; iterations?: number; level?: number }): [number, number] {
  const iterations = opts.iterations ?? 2000;
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  const rnd = mulberry32(opts.seed);
  const ratios: number[] = [];
  const bufA = new Array<number>(a.length);
  const bufB = new Array<number>(b.length);
  for (let i = 0; i < iterations; i++) {
    const ma = resampleMedian(a, rnd, bufA);
    const mb = resampleMedian(b, rnd, bufB);
    if (ma !== 0 && Number.isFinite(mb / ma)) ratios.push(mb / ma);
  }
  ratios.sort((x, y) => x - y);
  return [quantileSorted(ratios, alpha), quantileSorted(ratios, 1 - alpha)];
}

/** 95% percentile-bootstrap CI of the median of one sample. */
export function bootstrapMedianCi(values: readonly number[], opts: { seed: number; iterations?: number }): [number, number] {
  const rnd = mulberry32(opts.seed);
  const iterations = opts.iterations ?? 2000;
  const meds: number[] = [];
  const buf = new Array<number>(values.length);
  for (let i = 0; i < iterations; i++) meds.push(resampleMedian(values, rnd, buf));
  meds.sort((x, y) => x - y);
  return [quantileSorted(meds, 0.025), quantileSorted(meds, 0.975)];
}

// ---------- comparison ----------

export type CompareVerdict = 'improved' | 'regressed' | 'within-noise' | 'insufficient-data' | 'only-in-a' | 'only-in-b';

export interface SideStats {
  n: number;
  median: number;
}

export interface ComparisonEntry {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  a: SideStats | null;
  b: SideStats | null;
  /** (median B / median A - 1) × 100; positive means the number went up (good or bad per higherIsBetter). */
  changePct: number | null;
  changePctCi95: [number, number] | null;
  verdict: CompareVerdict;
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
  noiseFloorPct: number;
  iterations: number;
  entries: ComparisonEntry[];
  /** Things that make the comparison less like-for-like (different accelerator, rootfs, host ...). */
  warnings: string[];
}

export interface CompareOptions {
  /** Changes smaller than this (in %) are within noise whatever the CI says. Default 2. */
  noiseFloorPct?: number;
  /** Bootstrap iterations. Default 2000. */
  iterations?: number;
}

function info(r: RunResults): RunInfo {
  return { runId: r.runId, startedAt: r.startedAt, status: r.status, accelerators: Object.fromEntries(r.backends.map((b) => [b.label, b.accelerator])) };
}

function metricValues(r: RunResults): Map<string, { backend: string; workload: string; metric: string; unit: string; higherIsBetter: boolean; values: number[] }> {
  const out = new Map<string, { backend: string; workload: string; metric: string; unit: string; higherIsBetter: boolean; values: number[] }>();
  for (const cell of r.cells) {
    for (const m of cell.metrics) {
      const values = m.values.filter((v) => Number.isFinite(v));
      if (values.length === 0) continue;
      out.set(`${cell.backend}|${cell.workload}|${m.metric}`, { backend: cell.backend, workload: cell.workload, metric: m.metric, unit: m.unit, higherIsBetter: m.higherIsBetter, values });
    }
  }
  return out;
}

/** Compare run B against run A (A is the reference: "before"). */
export function compareRuns(a: RunResults, b: RunResults, opts: CompareOptions = {}): Comparison {
  const noiseFloorPct = opts.noiseFloorPct ?? 2;
  const iterations = opts.iterations ?? 2000;
  const ma = metricValues(a);
  const mb = metricValues(b);
  const keys = [...new Set([...ma.keys(), ...mb.keys()])];
  const entries: ComparisonEntry[] = [];
  for (const key of keys) {
    const ea = ma.get(key);
    const eb = mb.get(key);
    const base = (ea ?? eb)!;
    const entry: ComparisonEntry = {
      backend: base.backend,
      workload: base.workload,
      metric: base.metric,
      unit: base.unit,
      higherIsBetter: base.higherIsBetter,
      a: ea ? { n: ea.values.length, median: median(ea.values) } : null,
      b: eb ? { n: eb.values.length, median: median(eb.values) } : null,
      changePct: null,
      changePctCi95: null,
      verdict: !ea ? 'only-in-b' : !eb ? 'only-in-a' : 'insufficient-data',
    };
    // A figure that is 0 in every repetition of both runs (an idle native process's footprint) has not changed.
    if (ea && eb && ea.values.length >= 2 && eb.values.length >= 2 && [...ea.values, ...eb.values].every((v) => v === 0)) {
      entry.changePct = 0;
      entry.changePctCi95 = [0, 0];
      entry.verdict = 'within-noise';
    } else if (ea && eb && entry.a && entry.b && entry.a.median !== 0) {
      entry.changePct = (entry.b.median / entry.a.median - 1) * 100;
      if (ea.values.length >= 2 && eb.values.length >= 2) {
        const [lo, hi] = bootstrapRatioCi(ea.values, eb.values, { seed: hashSeed(key), iterations });
        entry.changePctCi95 = [(lo - 1) * 100, (hi - 1) * 100];
        entry.verdict = verdictFor(entry.changePct, entry.changePctCi95, entry.higherIsBetter, noiseFloorPct);
      }
    }
    entries.push(entry);
  }
  entries.sort((x, y) => x.workload.localeCompare(y.workload) || x.backend.localeCompare(y.backend) || x.metric.localeCompare(y.metric));

  const warnings: string[] = [];
  for (const [label, acc] of Object.entries(info(a).accelerators)) {
    const accB = info(b).accelerators[label];
    if (accB !== undefined && accB !== acc) warnings.push(`${label}: accelerator differs (${acc} in A, ${accB} in B); its changes mostly reflect that.`);
  }
  for (const [label, acc] of [...Object.entries(info(a).accelerators), ...Object.entries(info(b).accelerators)]) {
    if (acc.toLowerCase() === 'tcg' && !warnings.some((w) => w.startsWith(`${label}: TCG`))) warnings.push(`${label}: TCG software emulation, not hardware virtualization.`);
  }
  if (a.rootfsHash !== b.rootfsHash) warnings.push(`The workload rootfs differs (${a.rootfsHash ?? 'none'} vs ${b.rootfsHash ?? 'none'}).`);
  for (const k of ['hostname', 'kernel', 'cpuModel', 'cpus']) {
    const va = a.host[k];
    const vb = b.host[k];
    if (va !== undefined && vb !== undefined && JSON.stringify(va) !== JSON.stringify(vb)) warnings.push(`Host ${k} differs (${String(va)} vs ${String(vb)}).`);
  }
  if (a.status !== 'complete') warnings.push(`Run A is ${a.status}${a.statusReason ? `: ${a.statusReason}` : ''}.`);
  if (b.status !== 'complete') warnings.push(`Run B is ${b.status}${b.statusReason ? `: ${b.statusReason}` : ''}.`);
  return { a: info(a), b: info(b), noiseFloorPct, iterations, entries, warnings };
}

/** Within noise when the CI spans 0 or the change is under the noise floor; else improved/regressed by direction. */
export function verdictFor(changePct: number, ci: [number, number], higherIsBetter: boolean, noiseFloorPct: number): CompareVerdict {
  if ((ci[0] <= 0 && ci[1] >= 0) || Math.abs(changePct) < noiseFloorPct) return 'within-noise';
  const wentUp = changePct > 0;
  return wentUp === higherIsBetter ? 'improved' : 'regressed';
}

/** Entries that regressed by at least failPct percent (point estimate), for --fail-on-regression. */
export function regressions(cmp: Comparison, failPct: number): ComparisonEntry[] {
  return cmp.entries.filter((e) => e.verdict === 'regressed' && e.changePct !== null && Math.abs(e.changePct) >= failPct);
}

// ---------- rendering ----------

const VERDICT_TEXT: Record<CompareVerdict, string> = {
  improved: 'improved',
  regressed: 'REGRESSED',
  'within-noise': 'within noise',
  'insufficient-data': 'insufficient data',
  'only-in-a': 'only in A',
  'only-in-b': 'only in B',
};

function changeText(e: ComparisonEntry): string {
  if (e.changePct === null) return '—';
  return e.changePctCi95 ? `${fmtPct(e.changePct)} ${fmtPctCi(e.changePctCi95)}` : fmtPct(e.changePct);
}

function counts(cmp: Comparison): Record<CompareVerdict, number> {
  const c: Record<CompareVerdict, number> = { improved: 0, regressed: 0, 'within-noise': 0, 'insufficient-data': 0, 'only-in-a': 0, 'only-in-b': 0 };
  for (const e of cmp.entries) c[e.verdict]++;
  return c;
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const c = counts(cmp);
  const lines: string[] = [];
  lines.push(`# isobench compare: ${mdEscape(cmp.a.runId)} → ${mdEscape(cmp.b.runId)}`, '');
  lines.push(
    `**${c.regressed} regressed**, ${c.improved} improved, ${c['within-noise']} within noise` +
      (c['insufficient-data'] ? `, ${c['insufficient-data']} with insufficient data` : '') +
      (c['only-in-a'] + c['only-in-b'] ? `, ${c['only-in-a'] + c['only-in-b']} in one run only` : '') +
      '.',
    '',
  );
  lines.push(
    `Change = median B ÷ median A − 1, with a 95% bootstrap CI of the ratio of medians (${cmp.iterations} resamples, seeded). ` +
      `Within noise: the CI spans 0 or |change| < ${cmp.noiseFloorPct}%.`,
    '',
  );
  if (cmp.warnings.length) {
    lines.push('## Caveats', '');
    for (const w of cmp.warnings) lines.push(`- ⚠️ ${mdEscape(w)}`);
    lines.push('');
  }
  lines.push('| Backend | Workload | Metric | A median | B median | Change [95% CI] | Verdict |', '|---|---|---|---:|---:|---:|---|');
  for (const e of cmp.entries) {
    const v = VERDICT_TEXT[e.verdict];
    lines.push(
      `| ${mdEscape(e.backend)} | ${mdEscape(e.workload)} | ${mdEscape(e.metric)} (${mdEscape(e.unit)}, ${e.higherIsBetter ? '↑' : '↓'}) | ${e.a ? `${fmtNum(e.a.median)} (n=${e.a.n})` : '—'} | ${e.b ? `${fmtNum(e.b.median)} (n=${e.b.n})` : '—'} | ${changeText(e)} | ${e.verdict === 'regressed' ? `**${v}**` : v} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export function renderCompareHtml(cmp: Comparison): string {
  const c = counts(cmp);
  const rows = cmp.entries
    .map(
      (e) => `<tr class="v-${e.verdict}">
<td>${escapeHtml(e.backend)}</td><td>${escapeHtml(e.workload)}</td><td>${escapeHtml(e.metric)} <span class="unit">(${escapeHtml(e.unit)}, ${e.higherIsBetter ? '↑' : '↓'} better)</span></td>
<td class="num">${e.a ? `${escapeHtml(fmtNum(e.a.median))} <span class="unit">n=${e.a.n}</span>` : '—'}</td>
<td class="num">${e.b ? `${escapeHtml(fmtNum(e.b.median))} <span class="unit">n=${e.b.n}</span>` : '—'}</td>
<td class="num">${escapeHtml(changeText(e))}</td>
<td><span class="badge b-${e.verdict}">${escapeHtml(VERDICT_TEXT[e.verdict])}</span></td></tr>`,
    )
    .join('\n');
  const warnings = cmp.warnings.length ? `<div class="warn"><strong>Caveats</strong><ul>${cmp.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>isobench compare: ${escapeHtml(cmp.a.runId)} → ${escapeHtml(cmp.b.runId)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#0f172a;background:#f8fafc;margin:0;padding:24px 32px;line-height:1.45}
h1{font-size:22px;margin:0 0 4px}
.sub{color:#475569;margin:0 0 16px}
.counts span{display:inline-block;margin-right:10px;padding:4px 10px;border-radius:6px;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e8f0;margin-top:16px;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#f1f5f9;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.unit{color:#64748b;font-size:12px}
.badge{padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.b-regressed{background:#fee2e2;color:#991b1b}.b-improved{background:#dcfce7;color:#166534}
.b-within-noise{background:#f1f5f9;color:#475569}.b-insufficient-data,.b-only-in-a,.b-only-in-b{background:#fef3c7;color:#92400e}
tr.v-regressed td{background:#fff7f7}
.warn{background:#fffbeb;border:1px solid #f59e0b;border-radius:8px;padding:10px 16px;margin-top:12px}
.warn ul{margin:6px 0 0;padding-left:20px}
</style></head><body>
<h1>isobench compare</h1>
<p class="sub">A: <code>${escapeHtml(cmp.a.runId)}</code> (${escapeHtml(cmp.a.startedAt)}) → B: <code>${escapeHtml(cmp.b.runId)}</code> (${escapeHtml(cmp.b.startedAt)})</p>
<div class="counts"><span class="b-regressed">${c.regressed} regressed</span><span class="b-improved">${c.improved} improved</span><span class="b-within-noise">${c['within-noise']} within noise</span>${c['insufficient-data'] ? `<span class="b-insufficient-data">${c['insufficient-data']} insufficient data</span>` : ''}</div>
<p class="sub">Change = median B ÷ median A − 1, 95% bootstrap CI of the ratio of medians (${cmp.iterations} seeded resamples). Within noise: the CI spans 0 or |change| &lt; ${cmp.noiseFloorPct}%.</p>
${warnings}
<table><thead><tr><th>Backend</th><th>Workload</th><th>Metric</th><th>A median</th><th>B median</th><th>Change [95% CI]</th><th>Verdict</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
