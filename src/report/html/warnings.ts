/** The warnings section in HTML. */
import type { ReportModel } from '../model.js';
import { escapeHtml } from './parts.js';

function warningItem(it: { backend: string | undefined; workload: string | undefined; text: string }): string {
  const who = it.backend
    ? `<strong>${escapeHtml(it.backend)}</strong>${it.workload ? ` × ${escapeHtml(it.workload)}` : ''}: `
    : it.workload
      ? `<strong>${escapeHtml(it.workload)}</strong>: `
      : '';
  return `<li>${who}${escapeHtml(it.text)}</li>`;
}

export function renderWarnings(m: ReportModel): string {
  if (m.warningGroups.length === 0) return '';
  const groups = m.warningGroups.map((g) => {
    if (!g.collapsed)
      return g.items
        .map(
          (it) =>
            `<li class="warning" data-code="${escapeHtml(g.code)}"><code>${escapeHtml(g.code)}</code> ` +
            `${warningItem(it).replace(/^<li>|<\/li>$/g, '')}</li>`,
        )
        .join('\n');
    return (
      `<li class="warning group" data-code="${escapeHtml(g.code)}" data-count="${g.items.length}"><details>` +
      `<summary><code>${escapeHtml(g.code)}</code> ${escapeHtml(g.summary)} ` +
      '<span class="unit">(list)</span></summary>' +
      `<ul class="warn-items">${g.items.map(warningItem).join('')}</ul></details></li>`
    );
  });
  const list = `<ul class="warnings">${groups.join('\n')}</ul>`;
  return `<section class="card" id="warnings"><h2>Warnings</h2>${list}</section>`;
}
