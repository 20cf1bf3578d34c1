/**
 * summary.md: a Markdown summary for pasting into a review or a pull request.
 * Pure renderer: RunResults in, text out.
 */
import type { RunResults } from '../results/types.js';
import { acceleratorCaveat, buildModel, sentence, fmtCi, fmtNum, fmtOverhead, fmtPct, verdictText, type ReportModel } from './model.js';

/**
 * Escape text for a Markdown table cell: HTML-significant characters become
 * entities (so host strings such as `<script>` stay text), pipes and
 * backticks are escaped, newlines become spaces.
 */
export function mdEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`')
    .replace(/\*/g, '\\*')
    .replace(/_/g, '\\_')
    .replace(/\r?\n/g, ' ');
}

function headlineCell(o: Parameters<typeof fmtOverhead>[0] | null, state: string): string {
  if (!o) return state !== 'complete' && state !== 'missing' ? `*${state}*` : '—';
  if (o.verdict === 'within-noise') return `≈ within noise (${fmtOverhead(o)})`;
  if (o.verdict === 'insufficient-data') return `insufficient data (${fmtPct(o.overheadPct)})`;
  if (o.verdict === 'better') return `${fmtOverhead(o)} (better)`;
  return `**${fmtOverhead(o)}**`;
}

export function renderMarkdownFromModel(m: ReportModel): string {
  const out: string[] = [];
  const title = m.scenarioName ? `${m.scenarioName} · ${m.runId}` : m.runId;
  out.push(`# isobench report: ${mdEscape(title)}`, '');
  out.push(`- **Status:** ${m.status}${m.statusReason ? ` (${mdEscape(m.statusReason)})` : ''}`);
  out.push(`- **Scenario:** ${mdEscape(m.scenarioFile)}`);
  out.push(`- **Started:** ${mdEscape(m.startedAt)} · **ended:** ${mdEscape(m.endedAt ?? 'not finished')}`);
  out.push(`- **Backends:** ${m.columns.map((c) => `${mdEscape(c.label)} (${mdEscape(c.accelerator)})`).join(', ')}`);
  out.push(`- **Repetition order:** ${mdEscape(m.order)}`);
  out.push(`- **Rootfs:** ${m.rootfsHash ? `\`${m.rootfsHash.replace(/`/g, '')}\`` : 'not recorded'}`);
  out.push('');
  if (m.status !== 'complete') {
    out.push(`> **⚠️ This run is ${m.status.toUpperCase()}.** ${mdEscape(sentence(m.statusReason ?? 'Some cells did not complete'))} Figures below cover only what was measured.`, '');
  }
  const caveat = acceleratorCaveat(m);
  if (caveat) out.push(`> **⚠️ VM FIGURES ARE TCG EMULATION.** ${mdEscape(caveat)}`, '');
  if (m.cleanupFailed) {
    out.push(`> **Cleanup failed.** Left over: ${m.cleanupFailed.leftovers.map(mdEscape).join(', ')}. ${mdEscape(m.cleanupFailed.hint)}`, '');
  }

  out.push('## Headline: overhead vs native', '');
  if (m.headline.length === 0 || m.compared.length === 0) {
    out.push('No overheads were computed in this run.', '');
  } else {
    out.push(`Overhead in percent (positive = worse than native) with its 95% CI; "within noise" when the CI includes no difference.`, '');
    out.push(`| Category | Metric | ${m.compared.map((c) => mdEscape(c.label)).join(' | ')} |`);
    out.push(`|---|---|${m.compared.map(() => '---:').join('|')}|`);
    for (const row of m.headline) {
      out.push(
        `| ${mdEscape(row.title)} | ${mdEscape(row.metric)} (${mdEscape(row.unit)}, ${row.higherIsBetter ? '↑' : '↓'}) | ${row.entries.map((e) => headlineCell(e.overhead, e.state)).join(' | ')} |`,
      );
    }
    out.push('');
  }

  out.push('## Every metric', '');
  out.push('| Category | Metric | Backend | Median | 95% CI | CV | n | vs native [95% CI] | Verdict |');
  out.push('|---|---|---|---:|---:|---:|---:|---:|---|');
  for (const cat of m.categories) {
    for (const mv of cat.metrics) {
      for (const cell of mv.cells) {
        if (cell.state === 'missing' && cell.values.length === 0) continue;
        const s = cell.summary;
        const o = cell.overhead;
        const flags = s && s.outliers.length ? ` (${s.outliers.length} outlier${s.outliers.length > 1 ? 's' : ''})` : '';
        const stateNote = cell.state !== 'complete' && cell.state !== 'missing' ? ` *(${cell.state})*` : '';
        out.push(
          `| ${mdEscape(cat.title)} | ${mdEscape(mv.metric)} (${mdEscape(mv.unit)}, ${mv.higherIsBetter ? '↑' : '↓'}) | ${mdEscape(cell.backend)}${stateNote} | ${s ? fmtNum(s.median) : '—'} | ${s ? fmtCi(s.ci95) : '—'} | ${s ? fmtPct(s.cv * 100, false) : '—'} | ${s ? s.n : cell.values.length}${flags} | ${o ? fmtOverhead(o) : cell.backend === 'native' ? 'baseline' : '—'} | ${o ? verdictText(o) : ''} |`,
        );
      }
    }
  }
  out.push('');

  const problems = m.categories.flatMap((c) => c.problems);
  if (problems.length) {
    out.push('## Cells that did not complete', '');
    for (const p of problems) out.push(`- **${mdEscape(p.backend)} × ${mdEscape(p.workload)}**: ${p.state}: ${mdEscape(p.reason)}`);
    out.push('');
  }

  const warnings = [...m.warnings.map((w) => `${w.backend ? `${w.backend}: ` : ''}${w.message}`), ...m.columns.flatMap((c) => c.warnings.map((w) => `${c.label}: ${w}`))];
  if (warnings.length) {
    out.push('## Warnings', '');
    for (const w of warnings) out.push(`- ${mdEscape(w)}`);
    out.push('');
  }
  return out.join('\n');
}

export function renderMarkdown(results: RunResults): string {
  return renderMarkdownFromModel(buildModel(results));
}
