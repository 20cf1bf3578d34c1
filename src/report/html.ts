/**
 * The HTML report: one self-contained file that works offline. Chart.js (UMD
 * build) is read from node_modules at render time and inlined; chart data is
 * embedded as JSON with `<`, `>`, `&`, U+2028 and U+2029 escaped so no string
 * from the host or the scenario can close the script element. Every other
 * string goes through escapeHtml.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RunResults } from '../results/types.js';
import {
  CHART_RUNTIME_JS,
  acceleratorCaveat,
  allCharts,
  buildModel,
  chartConfig,
  fmtCi,
  fmtNum,
  fmtPct,
  isNative,
  methodsNote,
  repetitionNote,
  sentence,
  shownCells,
  verdictText,
  outlierText,
  type CategoryView,
  type ChartSpec,
  type ColumnView,
  type HeadlineEntry,
  type HeadlineRow,
  type IsolationView,
  type MetricCellView,
  type ModelOptions,
  type ReportModel,
  type VsNative,
} from './model.js';
import { renderVmSectionHtml } from './vm-section.js';

export function escapeHtml(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe to place inside a <script> element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The Chart.js UMD bundle, read at render time (no CDN); made safe to inline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
  return readFileSync(file, 'utf8')
    .replace(/\n\/\/# sourceMappingURL=.*$/m, '')
    .replace(/<\/script/gi, '<\\/script')
    .replace(/<!--/g, '<\\!--');
}

/** A relative link to a raw log; anything that looks like a URL scheme is neutralised. */
export function rawHref(rawBase: string, rawLog: string): string {
  let href = rawBase + rawLog.replace(/^\/+/, '');
  if (/^\s*[a-z][a-z0-9+.-]*:/i.test(href)) href = './' + href;
  return encodeURI(href).replace(/#/g, '%23').replace(/\?/g, '%3F');
}

/** The report stylesheet (the fleet report uses it too). */
export const CSS = `
:root{--ink:#0f172a;--muted:#475569;--faint:#94a3b8;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#0f766e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 64px}
header.top{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;border-bottom:1px solid var(--line);padding-bottom:14px;margin-bottom:18px}
header.top h1{margin:0;font-size:24px;letter-spacing:-.01em}
header.top .meta{color:var(--muted);font-size:13px;margin-top:4px}
header.top .meta code{font-size:12px}
.pill{display:inline-block;padding:3px 10px;border-radius:999px;font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.pill.complete{background:#dcfce7;color:#166534}.pill.partial{background:#fef3c7;color:#92400e}.pill.failed{background:#fee2e2;color:#991b1b}
.banner{border-radius:10px;padding:14px 18px;margin:0 0 16px;border:2px solid}
.banner h2{margin:0 0 4px;font-size:17px}
.banner p{margin:0}
.banner.tcg{background:#fff1f2;border-color:#e11d48;color:#881337}
.banner.tcg h2{font-size:19px;text-transform:uppercase;letter-spacing:.02em}
.banner.status-partial{background:#fffbeb;border-color:#f59e0b;color:#78350f}
.banner.status-failed{background:#fef2f2;border-color:#dc2626;color:#7f1d1d}
.banner.cleanup{background:#fffbeb;border-color:#f59e0b;color:#78350f}
section.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:0 0 18px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
section.card>h2{margin:0 0 4px;font-size:18px}
section.card>p.lead{margin:0 0 12px;color:var(--muted);font-size:13px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 18px}
nav.toc a{padding:4px 10px;border-radius:6px;background:#e2e8f0;color:var(--ink);text-decoration:none;font-size:13px}
nav.toc a:hover{background:#cbd5e1}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600;color:#334155;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.metric{font-weight:600;min-width:150px}
td.backend{white-space:nowrap}
.table-wrap{overflow-x:auto}
tbody.metric-group tr:last-child td{border-bottom:2px solid #cbd5e1}
.unit{color:var(--faint);font-weight:400;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.v-overhead{background:#ffedd5;color:#9a3412}.v-better{background:#dcfce7;color:#166534}
.v-no-practical-difference{background:#e0f2fe;color:#075985}.v-small-difference{background:#f1f5f9;color:#334155}.v-inconclusive{background:#fef9c3;color:#854d0e}.v-insufficient-data{background:#fef9c3;color:#854d0e}
.flag{background:#fef3c7;color:#92400e}.state-failed{background:#fee2e2;color:#991b1b}.state-skipped,.state-missing{background:#f1f5f9;color:#64748b}.state-partial{background:#fef3c7;color:#92400e}
table.headline td,table.headline th{padding:10px 12px}
/* The figure stays on one line; its CI and judgement wrap, so every backend column stays in view. */
table.headline td.ov{white-space:normal;min-width:14em;overflow-wrap:anywhere}
table.headline td.ov .big,table.headline td.ov .badge{white-space:nowrap}
.ov .big{font-size:17px;font-weight:700;font-variant-numeric:tabular-nums}
.ov .ci{display:block;color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums}
.ov.noise .big{color:#64748b;font-weight:600}
.ov.overhead .big{color:#9a3412}.ov.better .big{color:#166534}
.chart{position:relative;height:360px;margin:8px 0 12px}
.chart.summary{height:max(260px,calc(46px * var(--rows,4) + 120px))}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
.grid2 .chart{height:300px;margin:0}
.problems{margin:0 0 10px;padding-left:20px}
.problems li{margin:2px 0}
ul.warnings{margin:0;padding-left:20px}
ul.warnings li{margin:3px 0}
ul.warnings code{font-size:12px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;font-size:13px}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;word-break:break-word;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:18px}
.raw{display:inline-block;max-width:92px;line-height:1.6}
.raw a{color:var(--accent);margin-right:4px;font-size:11px}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
footer{color:var(--faint);font-size:12px;margin-top:24px}
details summary{cursor:pointer;color:var(--muted)}
p.note{margin:0 0 12px;padding:8px 12px;border-left:3px solid #f59e0b;background:#fffbeb;color:#78350f;font-size:13px}
.banner.inline{padding:10px 14px;margin:6px 0 12px;font-size:13px}
.chart.capacity{height:320px}
pre.cmd,pre.yaml{background:#0f172a;color:#e2e8f0;padding:10px 14px;border-radius:8px;overflow-x:auto;font-size:12px;margin:6px 0 12px}
ul.warnings li.group summary{color:var(--ink)}
ul.warn-items{columns:2;column-gap:28px;font-size:12px;margin:6px 0 0;padding-left:18px}
ul.warn-items li{break-inside:avoid;margin:1px 0}
ul.methods li{margin:3px 0}
table.capacity td,table.capacity th{padding:8px 10px}
.isolation{margin:4px 0 14px}
.isolation ul.findings{margin:4px 0 10px;padding-left:20px}
.isolation ul.findings li{margin:2px 0}
.isolation .grid2 .chart{height:320px}
.isolation .chart.wide{height:380px}
.isolation table.extra{margin:6px 0 12px}
.isolation table.extra td:nth-child(2),.isolation table.extra td:first-child{white-space:nowrap}
.isolation table.extra caption{text-align:left;font-weight:600;font-size:13px;padding:4px 0}
.isolation table.extra th{white-space:normal;vertical-align:bottom}
.isolation p.skipped{color:var(--muted);font-size:12px;margin:4px 0}
@media print{.chart{break-inside:avoid}body{background:#fff}}
`;

function badge(v: { verdict: VsNative['verdict'] | null; implausible?: string | undefined } | null): string {
  if (!v || !v.verdict) return '';
  const text = escapeHtml(verdictText({ verdict: v.verdict, implausible: v.implausible }));
  if (v.implausible) return `<span class="badge flag" title="${escapeHtml(v.implausible)}">⚠ ${text}</span>`;
  return `<span class="badge v-${v.verdict}">${text}</span>`;
}

function headlineCell(e: HeadlineEntry, row: HeadlineRow): string {
  if (!e.value) {
    if (e.state !== 'complete' && e.state !== 'missing') return `<td class="ov"><span class="badge state-${escapeHtml(e.state)}">${escapeHtml(e.state)}</span><span class="ci">${escapeHtml(e.stateReason ?? '')}</span></td>`;
    return '<td class="ov"><span class="unit">no data</span></td>';
  }
  const cls = e.verdict === 'no-practical-difference' || e.verdict === 'small-difference' ? 'noise' : (e.verdict ?? 'isolation');
  const ciNote = row.mode === 'ratio' && !/×/.test(e.ci) ? ' (+ = worse)' : '';
  const n = e.summary ? ` · n=${e.summary.n}${row.nativeSummary ? `/${row.nativeSummary.n}` : ''}` : '';
  const ci = e.ci ? `<span class="ci">95% CI ${escapeHtml(e.ci)}${escapeHtml(ciNote)}</span>` : '';
  return `<td class="ov ${cls}"><span class="big">${escapeHtml(e.value)}</span> ${badge(e)}${ci}<span class="ci">${escapeHtml(e.detail)}${escapeHtml(n)}</span></td>`;
}

function swatch(col: ColumnView | undefined): string {
  return col ? `<span class="swatch" style="background:${escapeHtml(col.colour)}"></span>` : '';
}

function renderHeadline(m: ReportModel): string {
  if (m.headline.length === 0 || m.compared.length === 0) {
    return `<section class="card" id="summary"><h2>Headline</h2><p class="lead">No overheads vs native were computed in this run (a native baseline and at least one other backend with complete cells are needed).</p></section>`;
  }
  const head = m.compared.map((c) => `<th>${swatch(c)}${escapeHtml(c.label)} <span class="unit">vs native</span></th>`).join('');
  const rows = m.headline
    .map((r) => {
      const how = escapeHtml(r.what);
      const base = r.baseline ? ` · ${escapeHtml(r.baseline)}` : '';
      return `<tr data-category="${escapeHtml(r.category)}" data-mode="${r.mode}"><td><strong>${escapeHtml(r.title)}</strong><br><span class="unit">${escapeHtml(r.metric)} (${escapeHtml(r.unit)}, ${r.higherIsBetter ? 'higher' : 'lower'} is better)<br>${how}${base}</span></td>${r.entries.map((e) => headlineCell(e, r)).join('')}</tr>`;
    })
    .join('\n');
  const chart = m.summaryChart
    ? `<div class="chart summary" style="--rows:${m.summaryChart.labels.length}"><canvas id="${escapeHtml(m.summaryChart.id)}" role="img" aria-label="${escapeHtml(m.summaryChart.title)}"></canvas></div>`
    : '';
  const reps = repetitionNote(m);
  return `<section class="card" id="summary">
<h2>Headline: what isolation costs</h2>
<p class="lead">Each category in its own terms, with the 95% confidence interval. Throughput, latency and bandwidth: backend vs native as a <strong>ratio of means</strong> (“9.8× slower than native” = a tenth of native's throughput); per-instance costs (footprint and density by PSS, start-up) as the <strong>absolute difference of means</strong> (“+241 MiB per idle instance”); partitioning, the memory gradient and the noisy neighbour in their own terms. Verdicts are judged against a practical threshold: only <em>no practical difference</em> (the whole interval inside ±threshold) means the same as native; <em>inconclusive</em> says how many repetitions would decide it. ${m.vm ? '<a href="#vm">VM</a> ' : ''}<a href="#methods">Methods</a>.</p>
${reps ? `<p class="note" id="repetitions-note">${escapeHtml(reps)}</p>` : ''}
<table class="headline" id="headline-table"><thead><tr><th>Category</th>${head}</tr></thead><tbody>
${rows}
</tbody></table>
${chart}
</section>`;
}

function renderBanners(m: ReportModel): string {
  const out: string[] = [];
  if (m.status !== 'complete') {
    out.push(
      `<div class="banner status-${m.status}" id="status-banner" role="alert"><h2>This run is ${escapeHtml(m.status)}</h2><p>${escapeHtml(sentence(m.statusReason ?? 'Some cells did not complete'))} The report shows only what was measured; see the cells that did not complete below.</p></div>`,
    );
  }
  const caveat = acceleratorCaveat(m);
  if (caveat) {
    const reasons = m.emulated.map((c) => `<li><strong>${escapeHtml(c.label)}</strong>: ${escapeHtml(c.acceleratorReason)}</li>`).join('');
    out.push(
      `<div class="banner tcg" id="accelerator-banner" role="alert"><h2>⚠ VM figures are TCG software emulation, not hardware virtualization</h2><p>${escapeHtml(caveat)}</p><ul>${reasons}</ul></div>`,
    );
  }
  if (m.cleanupFailed) {
    out.push(
      `<div class="banner cleanup" id="cleanup-banner"><h2>Cleanup failed</h2><p>Left over: ${m.cleanupFailed.leftovers.map((l) => `<code>${escapeHtml(l)}</code>`).join(', ')}</p><p>${escapeHtml(m.cleanupFailed.hint)}</p></div>`,
    );
  }
  return out.join('\n');
}

function warningItem(it: { backend: string | undefined; workload: string | undefined; text: string }): string {
  const who = it.backend ? `<strong>${escapeHtml(it.backend)}</strong>${it.workload ? ` × ${escapeHtml(it.workload)}` : ''}: ` : it.workload ? `<strong>${escapeHtml(it.workload)}</strong>: ` : '';
  return `<li>${who}${escapeHtml(it.text)}</li>`;
}

function renderWarnings(m: ReportModel): string {
  if (m.warningGroups.length === 0) return '';
  const groups = m.warningGroups.map((g) => {
    if (!g.collapsed) return g.items.map((it) => `<li class="warning" data-code="${escapeHtml(g.code)}"><code>${escapeHtml(g.code)}</code> ${warningItem(it).replace(/^<li>|<\/li>$/g, '')}</li>`).join('\n');
    return `<li class="warning group" data-code="${escapeHtml(g.code)}" data-count="${g.items.length}"><details><summary><code>${escapeHtml(g.code)}</code> ${escapeHtml(g.summary)} <span class="unit">(list)</span></summary><ul class="warn-items">${g.items.map(warningItem).join('')}</ul></details></li>`;
  });
  return `<section class="card" id="warnings"><h2>Warnings</h2><ul class="warnings">${groups.join('\n')}</ul></section>`;
}

function renderBackends(m: ReportModel): string {
  const rows = m.columns
    .map((c) => {
      const versions = Object.entries(c.versions)
        .map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
        .join('<br>');
      const limits = c.limitsReadBack ? `<details><summary>read back</summary><pre class="mono">${escapeHtml(JSON.stringify(c.limitsReadBack, null, 2))}</pre></details>` : '<span class="unit">—</span>';
      return `<tr><td class="backend">${swatch(c)}<strong>${escapeHtml(c.label)}</strong>${c.error ? `<br><span class="badge state-failed">${escapeHtml(c.error)}</span>` : ''}</td><td>${escapeHtml(c.kind)}</td><td>${escapeHtml(c.variant)}</td><td>${c.emulated ? `<span class="badge state-failed">${escapeHtml(c.accelerator)} (emulated)</span>` : escapeHtml(c.accelerator)}<br><span class="unit">${escapeHtml(c.acceleratorReason)}</span></td><td class="mono" style="font-size:12px">${versions || '—'}</td><td>${limits}</td></tr>`;
    })
    .join('\n');
  return `<section class="card" id="backends"><h2>Backends</h2><p class="lead">One column per backend variant. Repetition order: ${escapeHtml(m.order)}.</p>
<table><thead><tr><th>Column</th><th>Kind</th><th>Variant</th><th>Accelerator</th><th>Versions</th><th>Limits</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function rawLinks(cell: MetricCellView, rawBase: string): string {
  if (cell.rawLogs.length === 0) return '<span class="unit">—</span>';
  const seen = new Set<string>();
  const links: string[] = [];
  // Several values of one repetition (e.g. two starts per repetition) get r1a, r1b.
  const perRep = new Map<number, number>();
  cell.repetitions.forEach((r) => perRep.set(r, (perRep.get(r) ?? 0) + 1));
  const seenRep = new Map<number, number>();
  cell.rawLogs.forEach((log, i) => {
    if (!log || seen.has(log)) return;
    seen.add(log);
    const rep = cell.repetitions[i] ?? i + 1;
    const k = seenRep.get(rep) ?? 0;
    seenRep.set(rep, k + 1);
    const label = (perRep.get(rep) ?? 1) > 1 ? `r${rep}${String.fromCharCode(97 + (k % 26))}` : `r${rep}`;
    links.push(`<a href="${escapeHtml(rawHref(rawBase, log))}" title="${escapeHtml(log)}">${escapeHtml(label)}</a>`);
  });
  return `<span class="raw">${links.join(' ')}</span>`;
}

function metricRow(cell: MetricCellView, col: ColumnView | undefined, rawBase: string): string {
  const s = cell.summary;
  const v = cell.vs;
  const flags: string[] = [];
  if (s && s.outliers.length) {
    const reps = s.outliers.map((i) => cell.repetitions[i] ?? i + 1).join(', ');
    flags.push(`<span class="badge flag" title="${escapeHtml(outlierText(s))}">${s.outliers.length} outlier${s.outliers.length > 1 ? 's' : ''} (rep ${escapeHtml(reps)})</span>`);
  } else if (s && outlierText(s)) flags.push(`<span class="badge state-missing" title="outliers cannot be flagged with fewer than 3 values">${escapeHtml(outlierText(s))}</span>`);
  if (s && s.cv > 0.1) flags.push(`<span class="badge flag" title="coefficient of variation above 10%: add repetitions">noisy</span>`);
  if (cell.state !== 'complete') flags.push(`<span class="badge state-${cell.state}" title="${escapeHtml(cell.stateReason ?? '')}">${escapeHtml(cell.state)}</span>`);
  for (const n of cell.notes) flags.push(`<span class="badge flag">${escapeHtml(n)}</span>`);
  const vs =
    col && isNative(col)
      ? '<td class="num"><span class="unit">baseline</span></td><td></td>'
      : v
        ? `<td class="num" title="${escapeHtml(v.detail)}">${escapeHtml(v.value)} <span class="unit">${escapeHtml(v.ci)}</span></td><td>${badge(v)}${v.judgement ? `<br><span class="unit">${escapeHtml(v.judgement)}</span>` : ''}</td>`
        : '<td class="num">—</td><td></td>';
  return `<td class="backend">${swatch(col)}${escapeHtml(cell.backend)}</td><td class="num">${s ? escapeHtml(fmtNum(s.median)) : '—'}</td><td class="num">${s ? escapeHtml(fmtNum(s.mean)) : '—'}</td><td class="num">${s ? escapeHtml(fmtCi(s.ci95)) : '—'}</td><td class="num">${s ? escapeHtml(fmtPct(s.cv * 100, false)) : '—'}</td><td class="num">${s ? s.n : cell.values.length}</td>${vs}<td>${flags.join(' ')}</td><td>${rawLinks(cell, rawBase)}</td>`;
}

function renderCategory(cat: CategoryView, m: ReportModel, rawBase: string): string {
  const problems = cat.problems.length
    ? `<ul class="problems">${cat.problems
        .map(
          (p) =>
            `<li><span class="badge state-${p.state}">${escapeHtml(p.state)}</span> <strong>${escapeHtml(p.backend)}</strong>: ${escapeHtml(p.reason)}${p.rawLog ? ` (<a href="${escapeHtml(rawHref(rawBase, p.rawLog))}">log</a>)` : ''}</li>`,
        )
        .join('')}</ul>`
    : '';
  const chart = cat.chart ? `<div class="chart"><canvas id="${escapeHtml(cat.chart.id)}" role="img" aria-label="${escapeHtml(cat.chart.title)}"></canvas></div>` : '';
  const dists = cat.distributions.length
    ? `<h3 style="font-size:14px;margin:14px 0 6px">Distributions</h3><div class="grid2">${cat.distributions
        .map((d) => `<div class="chart"><canvas id="${escapeHtml(d.id)}" role="img" aria-label="${escapeHtml(d.title)}"></canvas></div>`)
        .join('')}</div>`
    : '';
  const groups = cat.metrics
    .map((mv) => {
      const cells = shownCells(mv.cells);
      if (cells.length === 0) return '';
      const rows = cells.map((cell, i) => {
        const col = m.columns.find((c) => c.label === cell.backend);
        const first = i === 0 ? `<td class="metric" rowspan="${cells.length}">${escapeHtml(mv.metric)}<br><span class="unit">${escapeHtml(mv.unit)} · ${mv.higherIsBetter ? 'higher' : 'lower'} is better</span></td>` : '';
        return `<tr data-metric="${escapeHtml(mv.metric)}" data-backend="${escapeHtml(cell.backend)}">${first}${metricRow(cell, col, rawBase)}</tr>`;
      });
      return `<tbody class="metric-group">${rows.join('\n')}</tbody>`;
    })
    .join('\n');
  const lead = cat.metrics.some((x) => x.mode === 'absolute')
    ? `<p class="lead">${cat.metrics.every((x) => x.mode === 'absolute') ? 'Per-instance costs: compared with native as the absolute difference of means (Welch 95% CI), in the metric\'s unit.' : 'Metrics whose native mean is ~0 are compared as the absolute difference of means; the others as the ratio of means.'}</p>`
    : '';
  const single = cat.metrics.filter((x) => shownCells(x.cells).filter((c) => c.summary).length === 1 && m.columns.length > 1).length;
  const singleNote = single ? `<p class="lead">${single} metric${single > 1 ? 's are' : ' is'} reported by one backend only (its own stages): in the table, not in the charts.</p>` : '';
  return `<section class="card category" id="cat-${escapeHtml(cat.id)}">
<h2>${escapeHtml(cat.title)}</h2>
${lead}${singleNote}
${problems}
${cat.isolation ? renderIsolation(cat.isolation, m) : ''}
${chart}
${dists}
${cat.isolation && cat.isolation.charts.length ? '<h3 style="font-size:14px;margin:14px 0 6px">Every metric</h3>' : ''}
<div class="table-wrap"><table class="metrics"><thead><tr><th>Metric</th><th>Backend</th><th class="num">Median</th><th class="num">Mean</th><th class="num" title="95% confidence interval of the mean (Student t)">Mean 95% CI</th><th class="num">CV</th><th class="num">n</th><th class="num" title="${escapeHtml(vsHeaderTitle(cat))}">vs native [95% CI]</th><th>Verdict</th><th>Flags</th><th>Raw logs</th></tr></thead>
${groups}
</table></div>
</section>`;
}

function canvasFor(spec: ChartSpec, cls = 'chart'): string {
  return `<div class="${cls}"><canvas id="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(spec.title)}"></canvas></div>`;
}

/** The isolation category's own charts, findings and tables (from cell.extra). */
function renderIsolation(v: IsolationView, m: ReportModel): string {
  const findings = v.findings.length ? `<ul class="findings">${v.findings.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : '';
  const notes = v.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
  const charts = v.charts.length === 1 ? canvasFor(v.charts[0] as ChartSpec, 'chart wide') : v.charts.length ? `<div class="grid2">${v.charts.map((c) => canvasFor(c)).join('')}</div>` : '';
  const tables = v.tables
    .map((t) => {
      const head = t.head.map((h, i) => `<th${t.numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
      const rows = t.rows
        .map((r) => {
          const col = r.backend ? m.columns.find((c) => c.label === r.backend) : undefined;
          return `<tr${r.backend ? ` data-backend="${escapeHtml(r.backend)}"` : ''}>${r.cells
            .map((c, i) => `<td${t.numeric[i] ? ' class="num"' : ''}>${t.head[i] === 'Backend' ? swatch(col) : ''}${escapeHtml(c)}</td>`)
            .join('')}</tr>`;
        })
        .join('\n');
      return `<div class="table-wrap"><table class="extra" id="${escapeHtml(t.id)}"><caption>${escapeHtml(t.caption)}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
    })
    .join('\n');
  const skipped = v.skipped.length ? `<p class="skipped" id="skipped-${escapeHtml(v.kind)}">Not drawn: ${v.skipped.map((x) => escapeHtml(x)).join('; ')}.</p>` : '';
  return `<div class="isolation" data-kind="${escapeHtml(v.kind)}">${v.lead ? `<p class="lead">${escapeHtml(v.lead)}</p>` : ''}${findings}${notes}${charts}${tables}${skipped}</div>`;
}

function vsHeaderTitle(cat: CategoryView): string {
  const modes = new Set(cat.metrics.map((x) => x.mode));
  const parts: string[] = [];
  if (modes.has('ratio')) parts.push('ratio of means with a delta-method/Welch 95% CI; percent: + = worse than native');
  if (modes.has('absolute')) parts.push('difference of means (backend − native) with a Welch 95% CI');
  return parts.join('; ');
}

function renderCapacity(m: ReportModel): string {
  const c = m.capacity;
  const docs = '<code>docs/capacity.md</code>';
  if (c.status !== 'ok' || !c.plan) {
    return `<section class="card" id="capacity"><h2>Capacity</h2><p class="lead">No capacity plan in this report: ${escapeHtml(c.reason ?? 'not computed')}. Compute one with your host and instance:</p><pre class="cmd">${escapeHtml(c.rerun)}</pre><p class="unit">Model and formulas: ${docs}.</p></section>`;
  }
  const p = c.plan;
  const h = p.host;
  const hostBits = [`${fmtNum(h.cores)} cores`, `${fmtNum(h.memoryGiB)} GiB`, ...(h.diskIops !== undefined ? [`${fmtNum(h.diskIops)} IOPS`] : []), ...(h.netGbps !== undefined ? [`${fmtNum(h.netGbps)} Gbit/s`] : [])];
  const usable = `usable after the reserve (${fmtNum(p.reserve.cores)} core, ${fmtNum(p.reserve.memoryPct)}% memory${p.reserve.memoryMiB ? ` + ${fmtNum(p.reserve.memoryMiB)} MiB` : ''}): ${fmtNum(p.usable.cpu)} cores, ${fmtNum((p.usable.memory ?? 0) / 1024)} GiB`;
  const caveat = c.emulated.length
    ? `<div class="banner tcg inline" id="capacity-tcg"><strong>⚠ ${escapeHtml(c.emulated.join(', '))}: TCG emulation.</strong> The VM's CPU cost factor here describes software emulation, so its instances per host (CPU-bound) and its RuntimeClass cpu figure do not transfer to a KVM host. Rerun on a host with VT-x/AMD-V before sizing VMs.</div>`
    : '';
  const fig = (f: { value: number; best: number; worst: number } | null | undefined, digits = 2): string => {
    if (!f) return '—';
    const r = (x: number): string => (Number.isFinite(x) ? fmtNum(Number(x.toFixed(digits))) : '∞');
    return f.best === f.value && f.worst === f.value ? r(f.value) : `${r(f.value)} <span class="unit">(${r(f.best)}–${r(f.worst)})</span>`;
  };
  const rows = p.backends
    .map((b) => {
      const col = m.columns.find((x) => x.label === b.label);
      const bind = b.expected.binding.join(' + ') || '—';
      return `<tr data-backend="${escapeHtml(b.label)}"><td class="backend">${swatch(col)}${escapeHtml(b.label)}${b.emulated ? ' <span class="badge state-failed">TCG</span>' : ''}</td><td class="num"><strong>${b.expected.instancesPerHost}</strong> <span class="unit">(${b.worst.instancesPerHost}–${b.best.instancesPerHost})</span></td><td>${escapeHtml(bind)}</td><td class="num">${fig(b.resources.cpu.cost, 3)}</td><td class="num">${fig(b.resources.memory.cost, 1)}</td></tr>`;
    })
    .join('\n');
  const density = p.densityRatios
    .map((d) => `<li>Density ${escapeHtml(d.container)} : ${escapeHtml(d.vm)} = <strong>${d.expected === null ? '—' : escapeHtml(fmtNum(d.expected))}</strong> <span class="unit">(range ${d.range[0] === null ? '—' : escapeHtml(fmtNum(d.range[0]))}–${d.range[1] === null ? '—' : escapeHtml(fmtNum(d.range[1]))})</span></li>`)
    .join('');
  const breakEven = p.breakEven
    .map(
      (b) =>
        `<li>${escapeHtml(b.vm)}'s extra fixed footprint vs ${escapeHtml(b.reference)} is ${escapeHtml(fmtNum(b.extraFootprintMiB.value))} MiB: it costs ≤ ${escapeHtml(fmtNum(b.thresholdPct))}% of the host's memory capacity from <strong>${escapeHtml(fmtNum(b.memoryMiB.value))} MiB</strong> per instance; at ${escapeHtml(fmtNum(p.instance.memoryMiB))} MiB it costs ${escapeHtml(fmtNum(b.lossAtDemandPct.value))}%.</li>`,
    )
    .join('');
  const warnings = p.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  const chart = c.chart ? `<div class="chart capacity"><canvas id="${escapeHtml(c.chart.id)}" role="img" aria-label="${escapeHtml(c.chart.title)}"></canvas></div>` : '';
  return `<section class="card" id="capacity"><h2>Capacity: instances per host</h2>
<p class="lead">What this run's measured overheads mean for a host, computed by the capacity model (${docs}) from <strong>example inputs</strong>, not from your fleet. Host: <strong>${escapeHtml(h.name)}</strong> (${escapeHtml(hostBits.join(', '))}; ${escapeHtml(usable)}), the default profile <code>scenarios/hosts/${escapeHtml(h.name)}.yaml</code>. Instance: ${escapeHtml(c.instanceOrigin ?? '')}. Best–worst ranges come from the 95% CIs.</p>
${caveat}
${chart}
<div class="table-wrap"><table class="capacity" id="capacity-table"><thead><tr><th>Backend</th><th class="num">Instances per host <span class="unit">(worst–best)</span></th><th>Binding resource</th><th class="num">CPU cores per instance</th><th class="num">Memory MiB per instance</th></tr></thead><tbody>
${rows}
</tbody></table></div>
${density || breakEven ? `<ul class="problems">${density}${breakEven}</ul>` : ''}
${warnings ? `<ul class="warnings plan-warnings">${warnings}</ul>` : ''}
<p>Your own host and instance size:</p>
<pre class="cmd">${escapeHtml(c.rerun)}</pre>
${c.runtimeClassYaml ? `<details open><summary>Kubernetes RuntimeClass <code>overhead.podFixed</code> (upper CI ends, so the scheduler does not over-pack)</summary><pre class="yaml">${escapeHtml(c.runtimeClassYaml)}</pre></details>` : ''}
</section>`;
}

function renderMethods(m: ReportModel): string {
  return `<section class="card" id="methods"><h2>Methods: how to read the numbers</h2><ul class="methods">${methodsNote(m)
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join('')}</ul></section>`;
}

function renderFacts(m: ReportModel): string {
  const kv = (pairs: [string, string][]) => `<dl class="kv">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
  return `<section class="card" id="facts"><h2>Host, tools and image</h2>
<div class="cols">
<div><h3 style="font-size:14px">Host facts</h3>${m.host.length ? kv(m.host) : '<p class="unit">not recorded</p>'}</div>
<div><h3 style="font-size:14px">Tool versions</h3>${m.toolVersions.length ? kv(m.toolVersions) : '<p class="unit">not recorded</p>'}
<h3 style="font-size:14px">Workload rootfs</h3>${kv([['content hash', m.rootfsHash ?? 'not recorded']])}
<h3 style="font-size:14px">Run</h3>${kv([
    ['run id', m.runId],
    ['scenario file', m.scenarioFile],
    ['started', m.startedAt],
    ['ended', m.endedAt ?? 'not finished'],
    ['isobench', m.toolVersion],
    ['repetition order', m.order],
  ])}</div>
</div></section>`;
}

/** Draws every chart of the embedded #isobench-charts JSON and marks its canvas data-drawn. */
export const BOOT_JS = (runtime: string) => `
(function () {
  var specs = JSON.parse(document.getElementById('isobench-charts').textContent);
  var runtime = ${runtime};
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.color = '#334155';
  specs.forEach(function (s) {
    var canvas = document.getElementById(s.id);
    if (!canvas) return;
    new Chart(canvas, runtime.prepare(s.config));
    canvas.setAttribute('data-drawn', '1');
  });
})();
`;

export interface HtmlOptions {
  /** Prefix that turns a rawLog (relative to the run dir) into a link relative to the report, e.g. "../../results/<runId>/". */
  rawBase: string;
}

/**
 * The document head every isobench page shares: the stylesheet and the content
 * security policy that keeps a report offline (no request leaves the file).
 */
export function documentHead(title: string, extraCss = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'">
<title>${escapeHtml(title)}</title>
<style>${CSS}${extraCss ? `\n${extraCss}` : ''}</style>
</head>`;
}

export function renderHtmlFromModel(m: ReportModel, opts: HtmlOptions): string {
  const charts = allCharts(m).map((spec: ChartSpec) => ({ id: spec.id, config: chartConfig(spec) }));
  const title = m.scenarioName ? `${m.scenarioName} · ${m.runId}` : m.runId;
  const toc = m.categories.map((c) => `<a href="#cat-${escapeHtml(c.id)}">${escapeHtml(c.title)}</a>`).join('');
  return `${documentHead(`isobench report: ${title}`)}
<body>
<main>
<header class="top">
<div>
<h1>isobench report${m.scenarioName ? `: <span id="scenario-name">${escapeHtml(m.scenarioName)}</span>` : ''}</h1>
<div class="meta">run <code>${escapeHtml(m.runId)}</code> · ${escapeHtml(m.scenarioFile)} · started ${escapeHtml(m.startedAt)}${m.endedAt ? ` · ended ${escapeHtml(m.endedAt)}` : ''}</div>
<div class="meta">columns: ${m.columns.map((c) => `${swatch(c)}${escapeHtml(c.label)}`).join(' &nbsp; ')}</div>
</div>
<div><span class="pill ${escapeHtml(m.status)}" id="status-pill">${escapeHtml(m.status)}</span></div>
</header>
${renderBanners(m)}
<nav class="toc"><a href="#summary">Headline</a><a href="#capacity">Capacity</a>${m.warningGroups.length ? '<a href="#warnings">Warnings</a>' : ''}${toc}<a href="#methods">Methods</a><a href="#backends">Backends</a><a href="#facts">Host &amp; tools</a></nav>
${renderHeadline(m)}
${renderCapacity(m)}
${renderWarnings(m)}
${m.categories.map((c) => renderCategory(c, m, opts.rawBase)).join('\n')}
${renderVmSectionHtml(m.vm, escapeHtml, (r) => rawHref(opts.rawBase, r))}
${renderMethods(m)}
${renderBackends(m)}
${renderFacts(m)}
<footer>Generated by isobench ${escapeHtml(m.toolVersion)}. Tables show the median, the mean and the 95% confidence interval of the mean; comparisons with native use means (see Methods). Outliers are flagged, never dropped. Raw logs are linked relative to this file.</footer>
</main>
<script type="application/json" id="isobench-charts">${jsonForScript(charts)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT_JS(CHART_RUNTIME_JS)}</script>
</body>
</html>
`;
}

export function renderHtml(results: RunResults, opts: HtmlOptions & ModelOptions): string {
  const mo: ModelOptions = {};
  if (opts.capacityHost) mo.capacityHost = opts.capacityHost;
  return renderHtmlFromModel(buildModel(results, mo), opts);
}
