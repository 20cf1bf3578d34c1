/**
 * summary.md: a Markdown summary for pasting into a review or a pull request.
 * Pure renderer: RunResults in, text out.
 */
import type { RunResults } from '../results/types.js';
import {
  acceleratorCaveat,
  buildModel,
  methodsNote,
  repetitionNote,
  sentence,
  shownCells,
  fmtCi,
  fmtNum,
  fmtPct,
  outlierText,
  verdictText,
  type HeadlineEntry,
  type ModelOptions,
  type ReportModel,
  type VsNative,
} from './model.js';
import { dutyCycleNote } from './sections/duty.js';
import { renderVmSectionMd } from './sections/vm.js';

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

function vsText(v: VsNative): string {
  return `${v.value} ${v.ci}`;
}

function headlineCell(e: HeadlineEntry): string {
  if (!e.value) return e.state !== 'complete' && e.state !== 'missing' ? `*${e.state}*` : '—';
  const fig = `${e.value}${e.ci ? ` ${e.ci}` : ''}`;
  const verdict = e.verdict ? verdictText({ verdict: e.verdict, implausible: e.implausible }) : '';
  const head = e.verdict === 'overhead' ? `**${mdEscape(e.value)}**${e.ci ? ` ${mdEscape(e.ci)}` : ''}` : mdEscape(fig);
  const extra =
    e.verdict === 'inconclusive' || e.verdict === 'insufficient-data' || !e.verdict ? ` (${mdEscape(e.detail)})` : '';
  const flag = e.implausible ? ` ⚠ ${mdEscape(e.implausible)}` : '';
  return `${head}${verdict ? ` · ${verdict}` : ''}${extra}${flag}`;
}

function renderCapacityMd(m: ReportModel, out: string[]): void {
  const c = m.capacity;
  out.push('## Capacity: instances per host', '');
  if (c.status !== 'ok' || !c.plan) {
    out.push(
      `No capacity plan in this report: ${mdEscape(c.reason ?? 'not computed')}. ` +
        `Compute one with your host and instance:`,
      '',
      '```',
      c.rerun,
      '```',
      '',
    );
    return;
  }
  const p = c.plan;
  const h = p.host;
  out.push(
    'Computed by the capacity model (docs/capacity.md) from **example inputs**, not your fleet: ' +
      `host **${mdEscape(h.name)}** (${fmtNum(h.cores)} cores, ${fmtNum(h.memoryGiB)} GiB; ` +
      `reserve ${fmtNum(p.reserve.cores)} core + ${fmtNum(p.reserve.memoryPct)}% memory), ` +
      `the default profile \`scenarios/hosts/${h.name.replace(/`/g, '')}.yaml\`; instance: ` +
      `${mdEscape(c.instanceOrigin ?? '')}. Ranges (worst–best) come from the 95% CIs.`,
    '',
  );
  if (c.emulated.length) {
    out.push(
      `> **⚠️ ${mdEscape(c.emulated.join(', '))}: TCG emulation.** The VM's CPU cost factor describes software ` +
        `emulation: its CPU-bound instances per host and RuntimeClass cpu figure do not transfer to a KVM host.`,
      '',
    );
  }
  out.push('| Backend | Instances per host (worst–best) | Binding | CPU cores/instance | Memory MiB/instance |');
  out.push('|---|---:|---|---:|---:|');
  const fig = (f: { value: number; best: number; worst: number } | null | undefined, d: number): string => {
    if (!f) return '—';
    const r = (x: number): string => fmtNum(Number(x.toFixed(d)));
    return f.best === f.value && f.worst === f.value
      ? r(f.value)
      : `${r(f.value)} (${r(f.best)}–${Number.isFinite(f.worst) ? r(f.worst) : '∞'})`;
  };
  for (const b of p.backends) {
    out.push(
      `| ${mdEscape(b.label)}${b.emulated ? ' (TCG)' : ''} | **${b.expected.instancesPerHost}** ` +
        `(${b.worst.instancesPerHost}–${b.best.instancesPerHost}) ` +
        `| ${mdEscape(b.expected.binding.join(' + ') || '—')} | ${fig(b.resources.cpu.cost, 3)} | ` +
        `${fig(b.resources.memory.cost, 1)} |`,
    );
  }
  out.push('');
  const orDash = (x: number | null): string => (x === null ? '—' : fmtNum(x));
  for (const d of p.densityRatios)
    out.push(
      `- Density ${mdEscape(d.container)} : ${mdEscape(d.vm)} = **${orDash(d.expected)}** ` +
        `(range ${orDash(d.range[0])}–${orDash(d.range[1])})`,
    );
  for (const w of p.warnings) out.push(`- ${mdEscape(w)}`);
  if (p.densityRatios.length || p.warnings.length) out.push('');
  out.push('Your own host and instance size:', '', '```', c.rerun, '```', '');
  if (c.runtimeClassYaml)
    out.push(
      'Kubernetes RuntimeClass `overhead.podFixed` (upper CI ends):',
      '',
      '```yaml',
      c.runtimeClassYaml.trimEnd(),
      '```',
      '',
    );
}

/** The isolation categories (partitioning, memory gradient, density, noisy neighbour): findings and short tables. */
function renderIsolationMd(m: ReportModel, out: string[]): void {
  const cats = m.categories.filter((c) => c.isolation);
  if (!cats.length) return;
  out.push('## Isolation', '');
  for (const c of cats) {
    const v = c.isolation;
    if (!v) continue;
    out.push(`### ${mdEscape(c.title)}`, '');
    // Start-up's section is its definition: say it (the HTML shows every lead).
    if (v.kind === 'startup' && v.lead) out.push(mdEscape(v.lead), '');
    for (const f of v.findings) out.push(`- ${mdEscape(f)}`);
    if (v.findings.length) out.push('');
    for (const n of v.notes) out.push(`> ${mdEscape(n)}`, '');
    for (const t of v.tables) {
      out.push(`**${mdEscape(t.caption)}**`, '');
      out.push(`| ${t.head.map(mdEscape).join(' | ')} |`);
      out.push(`|${t.numeric.map((n) => (n ? '---:' : '---')).join('|')}|`);
      for (const r of t.rows) out.push(`| ${r.cells.map(mdEscape).join(' | ')} |`);
      out.push('');
    }
    if (v.charts.length)
      out.push(`Charts: ${v.charts.map((ch) => `\`${ch.id.replace(/^chart-/, '')}.png\``).join(', ')}.`, '');
    if (v.skipped.length) out.push(`Not drawn: ${v.skipped.map(mdEscape).join('; ')}.`, '');
  }
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
    out.push(
      `> **⚠️ This run is ${m.status.toUpperCase()}.** ` +
        `${mdEscape(sentence(m.statusReason ?? 'Some cells did not complete'))} ` +
        `Figures below cover only what was measured.`,
      '',
    );
  }
  const caveat = acceleratorCaveat(m);
  if (caveat) out.push(`> **⚠️ VM FIGURES ARE TCG EMULATION.** ${mdEscape(caveat)}`, '');
  if (m.cleanupFailed) {
    out.push(
      `> **Cleanup failed.** Left over: ${m.cleanupFailed.leftovers.map(mdEscape).join(', ')}. ` +
        `${mdEscape(m.cleanupFailed.hint)}`,
      '',
    );
  }

  out.push('## Headline: what isolation costs', '');
  if (m.headline.length === 0 || m.compared.length === 0) {
    out.push('No overheads were computed in this run.', '');
  } else {
    out.push(
      'Each category in its own terms, with the 95% CI. Throughput, latency and bandwidth: ' +
        'paired ratio vs native, per round ' +
        '("9.8× slower than native" = a tenth of native\'s throughput; percentages: + = worse). ' +
        'Per-instance costs (footprint and density by PSS, start-up): mean per-round difference with a paired CI. ' +
        'Partitioning, memory gradient, noisy neighbour: their own figures. ' +
        'Verdicts against a practical threshold: only "no practical difference" (90% CI inside ±threshold) ' +
        'means the same as native; "inconclusive" says how many pairs would decide it.',
      '',
    );
    const reps = repetitionNote(m);
    if (reps) out.push(`> ${mdEscape(reps)}`, '');
    out.push(`| Category | Metric | ${m.compared.map((c) => mdEscape(c.label)).join(' | ')} |`);
    out.push(`|---|---|${m.compared.map(() => '---:').join('|')}|`);
    for (const row of m.headline) {
      out.push(
        `| ${mdEscape(row.title)} | ${mdEscape(row.metric)} (${mdEscape(row.unit)}, ` +
          `${row.higherIsBetter ? '↑' : '↓'}; ${mdEscape(row.what)}; ${mdEscape(row.baseline)}) ` +
          `| ${row.entries.map((e) => headlineCell(e)).join(' | ')} |`,
      );
    }
    out.push('');
  }

  renderCapacityMd(m, out);
  renderIsolationMd(m, out);

  out.push('## Every metric', '');
  out.push('| Category | Metric | Backend | Median | Mean | Mean 95% CI | CV | n | vs native [95% CI] | Verdict |');
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const cat of m.categories) {
    for (const mv of cat.metrics) {
      for (const cell of shownCells(mv.cells)) {
        const s = cell.summary;
        const v = cell.vs;
        const notes = cell.notes.length ? ` — ${cell.notes.map(mdEscape).join('; ')}` : '';
        const ot = s ? outlierText(s) : '';
        const flags = (ot ? ` (${ot})` : '') + notes;
        const stateNote = cell.state !== 'complete' && cell.state !== 'missing' ? ` *(${cell.state})*` : '';
        out.push(
          `| ${mdEscape(cat.title)} | ${mdEscape(mv.metric)} (${mdEscape(mv.unit)}, ` +
            `${mv.higherIsBetter ? '↑' : '↓'}) | ${mdEscape(cell.backend)}${stateNote} | ` +
            `${s ? fmtNum(s.median) : '—'} | ${s ? fmtNum(s.mean) : '—'} | ${s ? fmtCi(s.ci95) : '—'} | ` +
            `${s ? fmtPct(s.cv * 100, false) : '—'} | ${s ? s.n : cell.values.length}${flags} | ` +
            `${v ? mdEscape(vsText(v)) : cell.backend === 'native' ? 'baseline' : '—'} | ` +
            `${v ? `${verdictText(v)}${v.judgement ? ` (${mdEscape(v.judgement)})` : ''}` : ''} |`,
        );
      }
    }
  }
  out.push('');

  const problems = m.categories.flatMap((c) => c.problems);
  if (problems.length) {
    out.push('## Cells that did not complete', '');
    for (const p of problems)
      out.push(`- **${mdEscape(p.backend)} × ${mdEscape(p.workload)}**: ${p.state}: ${mdEscape(p.reason)}`);
    out.push('');
  }

  if (m.warningGroups.length) {
    out.push('## Warnings', '');
    for (const g of m.warningGroups) {
      const line = (it: { backend: string | undefined; workload: string | undefined; text: string }): string => {
        const where = it.backend
          ? `${mdEscape(it.backend)}${it.workload ? ` × ${mdEscape(it.workload)}` : ''}: `
          : it.workload
            ? `${mdEscape(it.workload)}: `
            : '';
        return `${where}${mdEscape(it.text)}`;
      };
      if (!g.collapsed) {
        for (const it of g.items) out.push(`- **${mdEscape(g.code)}** ${line(it)}`);
      } else {
        out.push(`- **${mdEscape(g.code)}** ${mdEscape(g.summary)}`, '', '  <details><summary>list</summary>', '');
        for (const it of g.items) out.push(`  - ${line(it)}`);
        out.push('', '  </details>', '');
      }
    }
    out.push('');
  }

  out.push(...renderVmSectionMd(m.vm, mdEscape));
  out.push('## Methods', '');
  for (const l of [...methodsNote(m), ...dutyCycleNote(m.dutyCycle)]) out.push(`- ${mdEscape(l)}`);
  out.push('');
  out.push('## Host capabilities', '');
  if (!m.capabilities) out.push('Not recorded (a run from before the capability model).', '');
  else {
    for (const c of m.capabilities)
      out.push(
        `- ${c.available ? '✓' : c.masked ? '✗ (masked)' : '✗'} **${mdEscape(c.title)}**: ` +
          `${mdEscape(c.what)}${c.fix ? ` (fix: ${mdEscape(c.fix)})` : ''}`,
      );
    out.push('');
  }
  return out.join('\n');
}

export function renderMarkdown(results: RunResults, opts: ModelOptions = {}): string {
  return renderMarkdownFromModel(buildModel(results, opts));
}
