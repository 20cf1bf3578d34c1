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
import type { RunResults, Overhead } from '../results/types.js';
import {
  CHART_RUNTIME_JS,
  acceleratorCaveat,
  allCharts,
  buildModel,
  chartConfig,
  fmtCi,
  fmtNum,
  fmtOverheadCi,
  fmtOverheadValue,
  fmtPct,
  isNative,
  sentence,
  showAsFactor,
  verdictText,
  type CategoryView,
  type ChartSpec,
  type ColumnView,
  type MetricCellView,
  type ReportModel,
} from './model.js';

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

const CSS = `
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
.v-within-noise{background:#f1f5f9;color:#64748b}.v-insufficient-data{background:#fef9c3;color:#854d0e}
.flag{background:#fef3c7;color:#92400e}.state-failed{background:#fee2e2;color:#991b1b}.state-skipped,.state-missing{background:#f1f5f9;color:#64748b}.state-partial{background:#fef3c7;color:#92400e}
table.headline td,table.headline th{padding:10px 12px}
table.headline td.ov{white-space:nowrap}
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
.raw{display:inline-block;max-width:118px;line-height:1.7}
.raw a{color:var(--accent);margin-right:4px;font-size:12px}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
footer{color:var(--faint);font-size:12px;margin-top:24px}
details summary{cursor:pointer;color:var(--muted)}
@media print{.chart{break-inside:avoid}body{background:#fff}}
`;

function badge(o: Overhead | null): string {
  if (!o) return '';
  return `<span class="badge v-${o.verdict}">${escapeHtml(o.verdict === 'within-noise' ? '≈ within noise' : verdictText(o))}</span>`;
}

function overheadCell(o: Overhead | null, state?: string, reason?: string): string {
  if (!o) {
    if (state && state !== 'complete' && state !== 'missing') return `<td class="ov"><span class="badge state-${escapeHtml(state)}">${escapeHtml(state)}</span><span class="ci">${escapeHtml(reason ?? '')}</span></td>`;
    return '<td class="ov"><span class="unit">no data</span></td>';
  }
  const asFactor = showAsFactor(o);
  const cls = o.verdict === 'within-noise' ? 'noise' : o.verdict;
  const main = o.verdict === 'within-noise' ? `≈ ${escapeHtml(fmtOverheadValue(o))}` : escapeHtml(fmtOverheadValue(o));
  const also = asFactor ? ` · overhead ${escapeHtml(fmtPct(o.overheadPct))}` : '';
  return `<td class="ov ${cls}"><span class="big">${main}</span> ${badge(o)}<span class="ci">95% CI ${escapeHtml(fmtOverheadCi(o))}${also}</span></td>`;
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
    .map(
      (r) =>
        `<tr data-category="${escapeHtml(r.category)}"><td><strong>${escapeHtml(r.title)}</strong><br><span class="unit">${escapeHtml(r.metric)} (${escapeHtml(r.unit)}, ${r.higherIsBetter ? 'higher' : 'lower'} is better)</span></td>${r.entries.map((e) => overheadCell(e.overhead, e.state, e.stateReason)).join('')}</tr>`,
    )
    .join('\n');
  const chart = m.summaryChart
    ? `<div class="chart summary" style="--rows:${m.headline.length}"><canvas id="${escapeHtml(m.summaryChart.id)}" role="img" aria-label="${escapeHtml(m.summaryChart.title)}"></canvas></div>`
    : '';
  return `<section class="card" id="summary">
<h2>Headline: what isolation costs</h2>
<p class="lead">Overhead vs native of each category's primary metric, in percent (positive = worse than native), with the 95% confidence interval. “≈ within noise” means the interval includes no difference.</p>
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

function renderWarnings(m: ReportModel): string {
  const items = [
    ...m.warnings.map(
      (w) =>
        `<li><code>${escapeHtml(w.code)}</code> ${w.backend ? `<strong>${escapeHtml(w.backend)}</strong>${w.workload ? ` × ${escapeHtml(w.workload)}` : ''}: ` : w.workload ? `<strong>${escapeHtml(w.workload)}</strong>: ` : ''}${escapeHtml(w.message)}</li>`,
    ),
    ...m.columns.flatMap((c) => c.warnings.map((w) => `<li><strong>${escapeHtml(c.label)}</strong>: ${escapeHtml(w)}</li>`)),
  ];
  if (items.length === 0) return '';
  return `<section class="card" id="warnings"><h2>Warnings</h2><ul class="warnings">${items.join('\n')}</ul></section>`;
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
  cell.rawLogs.forEach((log, i) => {
    if (!log || seen.has(log)) return;
    seen.add(log);
    const rep = cell.repetitions[i] ?? i + 1;
    links.push(`<a href="${escapeHtml(rawHref(rawBase, log))}" title="${escapeHtml(log)}">r${escapeHtml(rep)}</a>`);
  });
  return `<span class="raw">${links.join('')}</span>`;
}

function metricRow(cell: MetricCellView, col: ColumnView | undefined, rawBase: string): string {
  const s = cell.summary;
  const o = cell.overhead;
  const flags: string[] = [];
  if (s && s.outliers.length) {
    const reps = s.outliers.map((i) => cell.repetitions[i] ?? i + 1).join(', ');
    flags.push(`<span class="badge flag" title="modified z-score &gt; 3.5 (flagged, not dropped)">${s.outliers.length} outlier${s.outliers.length > 1 ? 's' : ''} (rep ${escapeHtml(reps)})</span>`);
  }
  if (s && s.cv > 0.1) flags.push(`<span class="badge flag" title="coefficient of variation above 10%">noisy</span>`);
  if (cell.state !== 'complete') flags.push(`<span class="badge state-${cell.state}" title="${escapeHtml(cell.stateReason ?? '')}">${escapeHtml(cell.state)}</span>`);
  for (const n of cell.notes) flags.push(`<span class="badge flag">${escapeHtml(n)}</span>`);
  const vs = col && isNative(col) ? '<td class="num"><span class="unit">baseline</span></td><td></td>' : o ? `<td class="num">${escapeHtml(fmtOverheadValue(o))} <span class="unit">${escapeHtml(fmtOverheadCi(o))}</span></td><td>${badge(o)}</td>` : '<td class="num">—</td><td></td>';
  return `<td class="backend">${swatch(col)}${escapeHtml(cell.backend)}</td><td class="num">${s ? escapeHtml(fmtNum(s.median)) : '—'}</td><td class="num">${s ? escapeHtml(fmtCi(s.ci95)) : '—'}</td><td class="num">${s ? escapeHtml(fmtPct(s.cv * 100, false)) : '—'}</td><td class="num">${s ? s.n : cell.values.length}</td>${vs}<td>${flags.join(' ')}</td><td>${rawLinks(cell, rawBase)}</td>`;
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
      const cells = mv.cells.filter((c) => !(c.state === 'missing' && c.values.length === 0));
      if (cells.length === 0) return '';
      const rows = cells.map((cell, i) => {
        const col = m.columns.find((c) => c.label === cell.backend);
        const first = i === 0 ? `<td class="metric" rowspan="${cells.length}">${escapeHtml(mv.metric)}<br><span class="unit">${escapeHtml(mv.unit)} · ${mv.higherIsBetter ? 'higher' : 'lower'} is better</span></td>` : '';
        return `<tr data-metric="${escapeHtml(mv.metric)}" data-backend="${escapeHtml(cell.backend)}">${first}${metricRow(cell, col, rawBase)}</tr>`;
      });
      return `<tbody class="metric-group">${rows.join('\n')}</tbody>`;
    })
    .join('\n');
  return `<section class="card category" id="cat-${escapeHtml(cat.id)}">
<h2>${escapeHtml(cat.title)}</h2>
${problems}
${chart}
${dists}
<div class="table-wrap"><table class="metrics"><thead><tr><th>Metric</th><th>Backend</th><th class="num">Median</th><th class="num">95% CI</th><th class="num">CV</th><th class="num">n</th><th class="num">vs native [95% CI]</th><th>Verdict</th><th>Flags</th><th>Raw logs</th></tr></thead>
${groups}
</table></div>
</section>`;
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

const BOOT_JS = (runtime: string) => `
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

export function renderHtmlFromModel(m: ReportModel, opts: HtmlOptions): string {
  const charts = allCharts(m).map((spec: ChartSpec) => ({ id: spec.id, config: chartConfig(spec) }));
  const title = m.scenarioName ? `${m.scenarioName} · ${m.runId}` : m.runId;
  const toc = m.categories.map((c) => `<a href="#cat-${escapeHtml(c.id)}">${escapeHtml(c.title)}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'">
<title>isobench report: ${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
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
${renderHeadline(m)}
${renderWarnings(m)}
${toc ? `<nav class="toc">${toc}<a href="#backends">Backends</a><a href="#facts">Host &amp; tools</a></nav>` : ''}
${m.categories.map((c) => renderCategory(c, m, opts.rawBase)).join('\n')}
${renderBackends(m)}
${renderFacts(m)}
<footer>Generated by isobench ${escapeHtml(m.toolVersion)}. Medians, with the 95% confidence intervals computed by the run; outliers are flagged, never dropped. Raw logs are linked relative to this file.</footer>
</main>
<script type="application/json" id="isobench-charts">${jsonForScript(charts)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT_JS(CHART_RUNTIME_JS)}</script>
</body>
</html>
`;
}

export function renderHtml(results: RunResults, opts: HtmlOptions): string {
  return renderHtmlFromModel(buildModel(results), opts);
}
