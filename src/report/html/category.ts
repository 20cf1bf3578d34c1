/** A category section in HTML: its charts, its isolation view and the table of every metric per backend. */
import type { ReportModel } from '../model.js';
import { isNative, type ColumnView } from '../columns.js';
import { fmtCi, fmtNum, fmtPct, outlierText } from '../format.js';
import type { ChartSpec } from '../charts/types.js';
import type { IsolationView } from '../isolation/index.js';
import { shownCells } from '../sections/categories.js';
import type { CategoryView, MetricCellView } from '../sections/category-view.js';
import { badge, canvasFor, escapeHtml, rawHref, swatch } from './parts.js';

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
    flags.push(
      `<span class="badge flag" title="${escapeHtml(outlierText(s))}">${s.outliers.length} ` +
        `outlier${s.outliers.length > 1 ? 's' : ''} (rep ${escapeHtml(reps)})</span>`,
    );
  } else if (s && outlierText(s))
    flags.push(
      `<span class="badge state-missing" title="outliers cannot be flagged with fewer than 3 ` +
        `values">${escapeHtml(outlierText(s))}</span>`,
    );
  if (s && s.cv > 0.1)
    flags.push(`<span class="badge flag" title="coefficient of variation above 10%: add repetitions">noisy</span>`);
  if (cell.state !== 'complete')
    flags.push(
      `<span class="badge state-${cell.state}" ` +
        `title="${escapeHtml(cell.stateReason ?? '')}">${escapeHtml(cell.state)}</span>`,
    );
  for (const n of cell.notes) flags.push(`<span class="badge flag">${escapeHtml(n)}</span>`);
  const vs =
    col && isNative(col)
      ? '<td class="num"><span class="unit">baseline</span></td><td></td>'
      : v
        ? `<td class="num vs" title="${escapeHtml(v.detail)}">` +
          `${escapeHtml(v.value)} <span class="unit">${escapeHtml(v.ci)}</span></td>` +
          `<td>${badge(v)}${v.judgement ? `<br><span class="unit">${escapeHtml(v.judgement)}</span>` : ''}</td>`
        : '<td class="num">—</td><td></td>';
  return (
    `<td class="backend">${swatch(col)}${escapeHtml(cell.backend)}</td>` +
    `<td class="num">${s ? escapeHtml(fmtNum(s.median)) : '—'}</td>` +
    `<td class="num">${s ? escapeHtml(fmtNum(s.mean)) : '—'}</td>` +
    `<td class="num">${s ? escapeHtml(fmtCi(s.ci95)) : '—'}</td>` +
    `<td class="num">${s ? escapeHtml(fmtPct(s.cv * 100, false)) : '—'}</td>` +
    `<td class="num">${s ? s.n : cell.values.length}</td>` +
    `${vs}<td>${flags.join(' ')}</td><td>${rawLinks(cell, rawBase)}</td>`
  );
}

const ALL_ABSOLUTE_LEAD =
  'Per-instance costs: compared with native as the absolute difference ' +
  "(paired per round where the values carry their round, else of means), in the metric's unit.";
const SOME_ABSOLUTE_LEAD =
  'Metrics whose native mean is ~0 are compared as the absolute difference of means; ' +
  'the others as the ratio of means.';

export function renderCategory(cat: CategoryView, m: ReportModel, rawBase: string): string {
  const problems = cat.problems.length
    ? `<ul class="problems">${cat.problems
        .map(
          (p) =>
            `<li><span class="badge state-${p.state}">${escapeHtml(p.state)}</span> ` +
            `<strong>${escapeHtml(p.backend)}</strong>: ` +
            escapeHtml(p.reason) +
            (p.rawLog ? ` (<a href="${escapeHtml(rawHref(rawBase, p.rawLog))}">log</a>)` : '') +
            '</li>',
        )
        .join('')}</ul>`
    : '';
  const chart = cat.chart ? canvasFor(cat.chart) : '';
  const dists = cat.distributions.length
    ? `<h3 style="font-size:14px;margin:14px 0 6px">Distributions</h3><div class="grid2">${cat.distributions
        .map((d) => canvasFor(d))
        .join('')}</div>`
    : '';
  const groups = cat.metrics
    .map((mv) => {
      const cells = shownCells(mv.cells);
      if (cells.length === 0) return '';
      const better = `${escapeHtml(mv.unit)} · ${mv.higherIsBetter ? 'higher' : 'lower'} is better`;
      const label = `${escapeHtml(mv.metric)}<br><span class="unit">${better}</span>`;
      const rows = cells.map((cell, i) => {
        const col = m.columns.find((c) => c.label === cell.backend);
        const first = i === 0 ? `<td class="metric" rowspan="${cells.length}">${label}</td>` : '';
        return (
          `<tr data-metric="${escapeHtml(mv.metric)}" ` +
          `data-backend="${escapeHtml(cell.backend)}">${first}${metricRow(cell, col, rawBase)}</tr>`
        );
      });
      return `<tbody class="metric-group">${rows.join('\n')}</tbody>`;
    })
    .join('\n');
  const lead = cat.metrics.some((x) => x.mode === 'absolute')
    ? `<p class="lead">${cat.metrics.every((x) => x.mode === 'absolute') ? ALL_ABSOLUTE_LEAD : SOME_ABSOLUTE_LEAD}</p>`
    : '';
  const single = cat.metrics.filter(
    (x) => shownCells(x.cells).filter((c) => c.summary).length === 1 && m.columns.length > 1,
  ).length;
  const singleNote = single
    ? `<p class="lead">${single} metric${single > 1 ? 's are' : ' is'} reported by one backend only ` +
      '(its own stages): in the table, not in the charts.</p>'
    : '';
  const head =
    '<th>Metric</th><th>Backend</th><th class="num">Median</th><th class="num">Mean</th>' +
    '<th class="num" title="95% confidence interval of the mean (Student t)">Mean 95% CI</th>' +
    '<th class="num">CV</th><th class="num">n</th>' +
    `<th class="num" title="${escapeHtml(vsHeaderTitle(cat))}">vs native [95% CI]</th>` +
    '<th>Verdict</th><th>Flags</th><th>Raw logs</th>';
  return `<section class="card category" id="cat-${escapeHtml(cat.id)}">
<h2>${escapeHtml(cat.title)}</h2>
${lead}${singleNote}
${problems}
${cat.isolation ? renderIsolation(cat.isolation, m) : ''}
${chart}
${dists}
${cat.isolation && cat.isolation.charts.length ? '<h3 style="font-size:14px;margin:14px 0 6px">Every metric</h3>' : ''}
<div class="table-wrap"><table class="metrics"><thead><tr>${head}</tr></thead>
${groups}
</table></div>
</section>`;
}

/** The isolation category's own charts, findings and tables (from cell.extra). */
export function renderIsolation(v: IsolationView, m: ReportModel): string {
  const findings = v.findings.length
    ? `<ul class="findings">${v.findings.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`
    : '';
  const notes = v.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
  const charts =
    v.charts.length === 1
      ? canvasFor(v.charts[0] as ChartSpec, 'chart wide')
      : v.charts.length
        ? `<div class="grid2">${v.charts.map((c) => canvasFor(c)).join('')}</div>`
        : '';
  const tables = v.tables
    .map((t) => {
      const head = t.head.map((h, i) => `<th${t.numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
      const rows = t.rows
        .map((r) => {
          const col = r.backend ? m.columns.find((c) => c.label === r.backend) : undefined;
          const cells = r.cells.map((c, i) => {
            const attrs = t.numeric[i] ? ' class="num"' : '';
            return `<td${attrs}>${t.head[i] === 'Backend' ? swatch(col) : ''}${escapeHtml(c)}</td>`;
          });
          return `<tr${r.backend ? ` data-backend="${escapeHtml(r.backend)}"` : ''}>${cells.join('')}</tr>`;
        })
        .join('\n');
      return (
        `<div class="table-wrap"><table class="extra" id="${escapeHtml(t.id)}">` +
        `<caption>${escapeHtml(t.caption)}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`
      );
    })
    .join('\n');
  const skipped = v.skipped.length
    ? `<p class="skipped" id="skipped-${escapeHtml(v.kind)}">` +
      `Not drawn: ${v.skipped.map((x) => escapeHtml(x)).join('; ')}.</p>`
    : '';
  const lead = v.lead ? `<p class="lead">${escapeHtml(v.lead)}</p>` : '';
  return (
    `<div class="isolation" data-kind="${escapeHtml(v.kind)}">` +
    `${lead}${findings}${notes}${charts}${tables}${skipped}</div>`
  );
}

function vsHeaderTitle(cat: CategoryView): string {
  const modes = new Set(cat.metrics.map((x) => x.mode));
  const parts: string[] = [];
  if (modes.has('ratio'))
    parts.push('paired ratio (exp of the mean per-round log ratio) with a t 95% CI; percent: + = worse than native');
  if (modes.has('absolute')) parts.push('mean per-round difference (backend − native) with a paired t 95% CI');
  return parts.join('; ');
}
