/** The parts around the sections in HTML: status banners, backends, methods, host facts. */
import type { ReportModel } from '../model.js';
import { sentence } from '../format.js';
import { acceleratorCaveat, methodsNote } from '../sections/methods.js';
import { dutyCycleNote } from '../sections/duty.js';
import { escapeHtml, swatch } from './parts.js';

export function renderBanners(m: ReportModel): string {
  const out: string[] = [];
  if (m.status !== 'complete') {
    out.push(
      `<div class="banner status-${m.status}" id="status-banner" role="alert"><h2>This run is ` +
        `${escapeHtml(m.status)}</h2><p>${escapeHtml(sentence(m.statusReason ?? 'Some cells did not complete'))} ` +
        `The report shows only what was measured; see the cells that did not complete below.</p></div>`,
    );
  }
  const caveat = acceleratorCaveat(m);
  if (caveat) {
    const reasons = m.emulated
      .map((c) => `<li><strong>${escapeHtml(c.label)}</strong>: ${escapeHtml(c.acceleratorReason)}</li>`)
      .join('');
    out.push(
      `<div class="banner tcg" id="accelerator-banner" role="alert"><h2>⚠ VM figures are TCG software emulation, ` +
        `not hardware virtualization</h2><p>${escapeHtml(caveat)}</p><ul>${reasons}</ul></div>`,
    );
  }
  if (m.cleanupFailed) {
    out.push(
      `<div class="banner cleanup" id="cleanup-banner"><h2>Cleanup failed</h2><p>Left over: ` +
        `${m.cleanupFailed.leftovers.map((l) => `<code>${escapeHtml(l)}</code>`).join(', ')}</p>` +
        `<p>${escapeHtml(m.cleanupFailed.hint)}</p></div>`,
    );
  }
  return out.join('\n');
}

export function renderBackends(m: ReportModel): string {
  const rows = m.columns
    .map((c) => {
      const versions = Object.entries(c.versions)
        .map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
        .join('<br>');
      const limits = c.limitsReadBack
        ? '<details><summary>read back</summary>' +
          `<pre class="mono">${escapeHtml(JSON.stringify(c.limitsReadBack, null, 2))}</pre></details>`
        : '<span class="unit">—</span>';
      const error = c.error ? `<br><span class="badge state-failed">${escapeHtml(c.error)}</span>` : '';
      const accelerator = c.emulated
        ? `<span class="badge state-failed">${escapeHtml(c.accelerator)} (emulated)</span>`
        : escapeHtml(c.accelerator);
      return (
        `<tr><td class="backend">${swatch(c)}<strong>${escapeHtml(c.label)}</strong>${error}</td>` +
        `<td>${escapeHtml(c.kind)}</td><td>${escapeHtml(c.variant)}</td>` +
        `<td>${accelerator}<br><span class="unit">${escapeHtml(c.acceleratorReason)}</span></td>` +
        `<td class="mono" style="font-size:12px">${versions || '—'}</td><td>${limits}</td></tr>`
      );
    })
    .join('\n');
  const lead = `One column per backend variant. Repetition order: ${escapeHtml(m.order)}.`;
  const head = '<th>Column</th><th>Kind</th><th>Variant</th><th>Accelerator</th><th>Versions</th><th>Limits</th>';
  return `<section class="card" id="backends"><h2>Backends</h2><p class="lead">${lead}</p>
<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function renderMethods(m: ReportModel): string {
  return `<section class="card" id="methods"><h2>Methods: how to read the numbers</h2><ul class="methods">${[
    ...methodsNote(m),
    ...dutyCycleNote(m.dutyCycle),
  ]
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join('')}</ul></section>`;
}

export function renderFacts(m: ReportModel): string {
  const kv = (pairs: [string, string][]) =>
    `<dl class="kv">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
  const notRecorded = '<p class="unit">not recorded</p>';
  return `<section class="card" id="facts"><h2>Host, tools and image</h2>
<div class="cols">
<div><h3 style="font-size:14px">Host facts</h3>${m.host.length ? kv(m.host) : notRecorded}</div>
<div><h3 style="font-size:14px">Tool versions</h3>${m.toolVersions.length ? kv(m.toolVersions) : notRecorded}
<h3 style="font-size:14px">Workload rootfs</h3>${kv([['content hash', m.rootfsHash ?? 'not recorded']])}
<h3 style="font-size:14px">Run</h3>${kv([
    ['run id', m.runId],
    ['scenario file', m.scenarioFile],
    ['started', m.startedAt],
    ['ended', m.endedAt ?? 'not finished'],
    ['isobench', m.toolVersion],
    ['repetition order', m.order],
  ])}</div>
</div>
${renderCapabilities(m)}</section>`;
}

/** The host capability table: what each part used, or what isobench did without it. */
export function renderCapabilities(m: ReportModel): string {
  if (!m.capabilities)
    return (
      '<h3 style="font-size:14px">Host capabilities</h3><p class="unit">not recorded ' +
      '(a run from before the capability model)</p>'
    );
  const rows = m.capabilities
    .map(
      (c) =>
        `<tr><td>${c.available ? '✓' : c.masked ? '✗ (masked)' : '✗'}</td>` +
        `<td>${escapeHtml(c.title)}</td><td>${escapeHtml(c.what)}</td>` +
        `<td class="unit">${escapeHtml(c.evidence)}${c.fix ? `<br>fix: ${escapeHtml(c.fix)}` : ''}</td></tr>`,
    )
    .join('');
  const head = '<th></th><th>Capability</th><th>Used, or what isobench did without it</th><th>Evidence</th>';
  return `<h3 style="font-size:14px" id="capabilities">Host capabilities</h3>
<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}
