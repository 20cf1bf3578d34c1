/** The warnings section: the run's warnings grouped by code, repeated backend-level text removed. */
import type { Warning } from '../../results/types.js';
import type { ColumnView } from '../columns.js';

export interface WarningItem {
  backend: string | undefined;
  workload: string | undefined;
  text: string;
}

export interface WarningGroup {
  code: string;
  /** One line that stands for the group ("74 metric × backend pairs with CV > 10%"). */
  summary: string;
  /** Shown expanded when short, collapsed when long. */
  collapsed: boolean;
  items: WarningItem[];
}

// ---------- warnings ----------

const WARNING_EXPLANATIONS: Record<string, (n: number) => string> = {
  NOISY: (n) =>
    `${n} metric × backend figures with a coefficient of variation above 10%: ` +
    `too noisy for a fine-grained verdict; add repetitions`,
  OUTLIER: (n) =>
    `${n} metric × backend figures with repetitions flagged as outliers (modified z-score > 3.5; kept, not dropped)`,
};

/** Longest common suffix of several strings, cut at a word boundary. */
function commonSuffix(xs: string[]): string {
  if (xs.length < 2) return '';
  let suf = xs[0] ?? '';
  for (const x of xs.slice(1)) {
    let i = 0;
    while (i < suf.length && i < x.length && suf[suf.length - 1 - i] === x[x.length - 1 - i]) i++;
    suf = suf.slice(suf.length - i);
  }
  const cut = suf.search(/[:;,] /);
  return cut >= 0 ? suf.slice(cut) : '';
}

/**
 * Groups warnings by code. A code with more than three warnings becomes one
 * line with its list collapsed; the backend and workload prefix repeated in
 * each message and the common tail are dropped from the items. Backend-level
 * warnings that repeat a run warning are dropped.
 */
export function groupWarnings(warnings: Warning[], columns: ColumnView[]): WarningGroup[] {
  const all: Warning[] = [...warnings];
  for (const c of columns) {
    for (const w of c.warnings) {
      if (!warnings.some((x) => x.message.trim() === w.trim()))
        all.push({ code: 'BACKEND', message: w, backend: c.label });
    }
    // Helper processes outside the instance (its provider's declaration, stored in results): where, and what
    // that leaves out of the instance's figures.
    for (const h of c.helpers) {
      if (h.placement !== 'host') continue;
      const message =
        `${h.comm} (${h.role}) runs outside the instance's CPUs or cgroup: ` +
        `the figures leave out ${h.leavesOut ?? 'its cost'}`;
      all.push({ code: 'HELPER_OUTSIDE_INSTANCE', message, backend: c.label });
    }
  }
  const codes: string[] = [];
  for (const w of all) if (!codes.includes(w.code)) codes.push(w.code);
  return codes.map((code) => {
    const ws = all.filter((w) => w.code === code);
    const suffix = ws.length > 3 ? commonSuffix(ws.map((w) => w.message)) : '';
    const items = ws.map((w): WarningItem => {
      let text = w.message;
      const prefix = [w.backend, w.workload].filter(Boolean).join(' ');
      if (prefix && text.startsWith(prefix + ' ')) text = text.slice(prefix.length + 1);
      if (suffix && text.endsWith(suffix)) text = text.slice(0, text.length - suffix.length);
      return { backend: w.backend, workload: w.workload, text };
    });
    const collapsed = ws.length > 3;
    const explain = WARNING_EXPLANATIONS[code];
    const summary = collapsed
      ? explain
        ? explain(ws.length)
        : `${ws.length} warnings${suffix ? ` (${suffix.replace(/^[:;,] /, '')})` : ''}`
      : '';
    return { code, summary, collapsed, items };
  });
}
