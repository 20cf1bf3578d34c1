/** The capacity section in HTML. */
import type { ReportModel } from '../report/model.js';
import { fmtNum } from '../report/format.js';
import { canvasFor, escapeHtml, swatch } from '../report/html/parts.js';

const TCG_CAVEAT =
  "The VM's CPU cost factor here describes software emulation, so its instances per host (CPU-bound) " +
  'and its RuntimeClass cpu figure do not transfer to a KVM host. Rerun on a host with VT-x/AMD-V before sizing VMs.';
const CAPACITY_HEAD =
  '<th>Backend</th><th class="num">Instances per host <span class="unit">(worst–best)</span></th>' +
  '<th>Binding resource</th><th class="num">CPU cores per instance</th><th class="num">Memory MiB per instance</th>';

export function renderCapacity(m: ReportModel): string {
  const c = m.capacity;
  const docs = '<code>docs/capacity.md</code>';
  if (c.status !== 'ok' || !c.plan) {
    return (
      `<section class="card" id="capacity"><h2>Capacity</h2><p class="lead">No capacity plan in this report: ` +
      `${escapeHtml(c.reason ?? 'not computed')}. Compute one with your host and instance:</p><pre ` +
      `class="cmd">${escapeHtml(c.rerun)}</pre><p class="unit">Model and formulas: ${docs}.</p></section>`
    );
  }
  const p = c.plan;
  const h = p.host;
  const hostBits = [
    `${fmtNum(h.cores)} cores`,
    `${fmtNum(h.memoryGiB)} GiB`,
    ...(h.diskIops !== undefined ? [`${fmtNum(h.diskIops)} IOPS`] : []),
    ...(h.netGbps !== undefined ? [`${fmtNum(h.netGbps)} Gbit/s`] : []),
  ];
  const usable =
    `usable after the reserve (${fmtNum(p.reserve.cores)} core, ${fmtNum(p.reserve.memoryPct)}% ` +
    `memory${p.reserve.memoryMiB ? ` + ${fmtNum(p.reserve.memoryMiB)} MiB` : ''}): ${fmtNum(p.usable.cpu)} cores, ` +
    `${fmtNum((p.usable.memory ?? 0) / 1024)} GiB`;
  const caveat = c.emulated.length
    ? '<div class="banner tcg inline" id="capacity-tcg">' +
      `<strong>⚠ ${escapeHtml(c.emulated.join(', '))}: TCG emulation.</strong> ${TCG_CAVEAT}</div>`
    : '';
  const fig = (f: { value: number; best: number; worst: number } | null | undefined, digits = 2): string => {
    if (!f) return '—';
    const r = (x: number): string => (Number.isFinite(x) ? fmtNum(Number(x.toFixed(digits))) : '∞');
    return f.best === f.value && f.worst === f.value
      ? r(f.value)
      : `${r(f.value)} <span class="unit">(${r(f.best)}–${r(f.worst)})</span>`;
  };
  const rows = p.backends
    .map((b) => {
      const col = m.columns.find((x) => x.label === b.label);
      const bind = b.expected.binding.join(' + ') || '—';
      const tcg = b.emulated ? ' <span class="badge state-failed">TCG</span>' : '';
      const range = `(${b.worst.instancesPerHost}–${b.best.instancesPerHost})`;
      return (
        `<tr data-backend="${escapeHtml(b.label)}">` +
        `<td class="backend">${swatch(col)}${escapeHtml(b.label)}${tcg}</td>` +
        `<td class="num"><strong>${b.expected.instancesPerHost}</strong> <span class="unit">${range}</span></td>` +
        `<td>${escapeHtml(bind)}</td><td class="num">${fig(b.resources.cpu.cost, 3)}</td>` +
        `<td class="num">${fig(b.resources.memory.cost, 1)}</td></tr>`
      );
    })
    .join('\n');
  const end = (x: number | null): string => (x === null ? '—' : escapeHtml(fmtNum(x)));
  const density = p.densityRatios
    .map(
      (d) =>
        `<li>Density ${escapeHtml(d.container)} : ` +
        `${escapeHtml(d.vm)} = <strong>${d.expected === null ? '—' : escapeHtml(fmtNum(d.expected))}</strong> ` +
        `<span class="unit">(range ${end(d.range[0])}–${end(d.range[1])})</span></li>`,
    )
    .join('');
  const breakEven = p.breakEven
    .map(
      (b) =>
        `<li>${escapeHtml(b.vm)}'s extra fixed footprint vs ${escapeHtml(b.reference)} is ` +
        `${escapeHtml(fmtNum(b.extraFootprintMiB.value))} MiB: it costs ≤ ${escapeHtml(fmtNum(b.thresholdPct))}% ` +
        `of the host's memory capacity from <strong>${escapeHtml(fmtNum(b.memoryMiB.value))} MiB</strong> per ` +
        `instance; at ${escapeHtml(fmtNum(p.instance.memoryMiB))} MiB it costs ` +
        `${escapeHtml(fmtNum(b.lossAtDemandPct.value))}%.</li>`,
    )
    .join('');
  const warnings = p.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  const chart = c.chart ? canvasFor(c.chart, 'chart capacity') : '';
  const lead =
    "What this run's measured overheads mean for a host, computed by the capacity model " +
    `(${docs}) from <strong>example inputs</strong>, not from your fleet. ` +
    `Host: <strong>${escapeHtml(h.name)}</strong> (${escapeHtml(hostBits.join(', '))}; ${escapeHtml(usable)}), ` +
    `the default profile <code>scenarios/hosts/${escapeHtml(h.name)}.yaml</code>. ` +
    `Instance: ${escapeHtml(c.instanceOrigin ?? '')}. Best–worst ranges come from the 95% CIs.`;
  const runtimeClass = c.runtimeClassYaml
    ? '<details open><summary>Kubernetes RuntimeClass <code>overhead.podFixed</code> ' +
      '(upper CI ends, so the scheduler does not over-pack)</summary>' +
      `<pre class="yaml">${escapeHtml(c.runtimeClassYaml)}</pre></details>`
    : '';
  return `<section class="card" id="capacity"><h2>Capacity: instances per host</h2>
<p class="lead">${lead}</p>
${caveat}
${chart}
<div class="table-wrap"><table class="capacity" id="capacity-table"><thead><tr>${CAPACITY_HEAD}</tr></thead><tbody>
${rows}
</tbody></table></div>
${density || breakEven ? `<ul class="problems">${density}${breakEven}</ul>` : ''}
${warnings ? `<ul class="warnings plan-warnings">${warnings}</ul>` : ''}
<p>Your own host and instance size:</p>
<pre class="cmd">${escapeHtml(c.rerun)}</pre>
${runtimeClass}
</section>`;
}
