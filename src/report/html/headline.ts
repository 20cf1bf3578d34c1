/** The headline section in HTML. */
import type { HeadlineEntry, HeadlineRow, ReportModel } from '../model.js';
import { repetitionNote } from '../sections/methods.js';
import { badge, escapeHtml, swatch } from './parts.js';

function headlineCell(e: HeadlineEntry, row: HeadlineRow): string {
  if (!e.value) {
    if (e.state !== 'complete' && e.state !== 'missing')
      return (
        `<td class="ov"><span class="badge state-${escapeHtml(e.state)}">${escapeHtml(e.state)}</span><span ` +
        `class="ci">${escapeHtml(e.stateReason ?? '')}</span></td>`
      );
    return '<td class="ov"><span class="unit">no data</span></td>';
  }
  const cls =
    e.verdict === 'no-practical-difference' || e.verdict === 'small-difference' ? 'noise' : (e.verdict ?? 'isolation');
  const ciNote = row.mode === 'ratio' && !/×/.test(e.ci) ? ' (+ = worse)' : '';
  const n = e.summary ? ` · n=${e.summary.n}${row.nativeSummary ? `/${row.nativeSummary.n}` : ''}` : '';
  const ci = e.ci ? `<span class="ci">95% CI ${escapeHtml(e.ci)}${escapeHtml(ciNote)}</span>` : '';
  return (
    `<td class="ov ${cls}"><span class="big">${escapeHtml(e.value)}</span> ${badge(e)}${ci}<span ` +
    `class="ci">${escapeHtml(e.detail)}${escapeHtml(n)}</span></td>`
  );
}

const HEADLINE_LEAD =
  'Each category in its own terms, with the 95% confidence interval. ' +
  'Throughput, latency and bandwidth: backend vs native as a <strong>paired ratio</strong> ' +
  "(per round, geometric mean) (“9.8× slower than native” = a tenth of native's throughput); " +
  'per-instance costs (footprint and density by PSS, start-up) as the <strong>absolute difference</strong> ' +
  '(mean per-round difference) (“+241 MiB per idle instance”); ' +
  'partitioning, the memory gradient and the noisy neighbour in their own terms. ' +
  'Verdicts are judged against a practical threshold: only <em>no practical difference</em> ' +
  '(the 90% interval inside ±threshold) means the same as native; ' +
  '<em>inconclusive</em> says how many pairs would decide it.';

export function renderHeadline(m: ReportModel): string {
  if (m.headline.length === 0 || m.compared.length === 0) {
    return (
      `<section class="card" id="summary"><h2>Headline</h2><p class="lead">No overheads vs native were ` +
      `computed in this run (a native baseline and at least one other backend ` +
      `with complete cells are needed).</p></section>`
    );
  }
  const head = m.compared
    .map((c) => `<th>${swatch(c)}${escapeHtml(c.label)} <span class="unit">vs native</span></th>`)
    .join('');
  const rows = m.headline
    .map((r) => {
      const how = escapeHtml(r.what);
      const base = r.baseline ? ` · ${escapeHtml(r.baseline)}` : '';
      return (
        `<tr data-category="${escapeHtml(r.category)}" ` +
        `data-mode="${r.mode}"><td><strong>${escapeHtml(r.title)}</strong><br><span ` +
        `class="unit">${escapeHtml(r.metric)} (${escapeHtml(r.unit)}, ${r.higherIsBetter ? 'higher' : 'lower'} is ` +
        `better)<br>${how}${base}</span></td>${r.entries.map((e) => headlineCell(e, r)).join('')}</tr>`
      );
    })
    .join('\n');
  const chart = m.summaryChart
    ? `<div class="chart summary" style="--rows:${m.summaryChart.labels.length}">` +
      `<canvas id="${escapeHtml(m.summaryChart.id)}" role="img" aria-label="${escapeHtml(m.summaryChart.title)}">` +
      '</canvas></div>'
    : '';
  const reps = repetitionNote(m);
  const tableOpen =
    '<div class="table-wrap"><table class="headline" id="headline-table">' +
    `<thead><tr><th>Category</th>${head}</tr></thead><tbody>`;
  return `<section class="card" id="summary">
<h2>Headline: what isolation costs</h2>
<p class="lead">${HEADLINE_LEAD} ${m.vm ? '<a href="#vm">VM</a> ' : ''}<a href="#methods">Methods</a>.</p>
${reps ? `<p class="note" id="repetitions-note">${escapeHtml(reps)}</p>` : ''}
${tableOpen}
${rows}
</tbody></table></div>
${chart}
</section>`;
}
