/**
 * Small HTML pieces every part of the report uses: escaping, script-safe JSON, raw-log links, verdict badges, colour
 * swatches, chart canvases.
 */
import path from 'node:path';
import type { ColumnView } from '../columns.js';
import { verdictText } from '../format.js';
import type { ChartSpec } from '../charts/types.js';
import type { VsNative } from '../sections/category-view.js';

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

/** Link prefix from the report directory to the run directory, POSIX separators, ending in "/". */
export function rawBaseFor(reportDir: string, runDir: string): string {
  const rel = path.relative(path.resolve(reportDir), path.resolve(runDir)).split(path.sep).join('/');
  return rel === '' ? './' : `${rel}/`;
}

/** A relative link to a raw log; anything that looks like a URL scheme is neutralised. */
export function rawHref(rawBase: string, rawLog: string): string {
  let href = rawBase + rawLog.replace(/^\/+/, '');
  if (/^\s*[a-z][a-z0-9+.-]*:/i.test(href)) href = './' + href;
  return encodeURI(href).replace(/#/g, '%23').replace(/\?/g, '%3F');
}

export function badge(v: { verdict: VsNative['verdict'] | null; implausible?: string | undefined } | null): string {
  if (!v || !v.verdict) return '';
  const text = escapeHtml(verdictText({ verdict: v.verdict, implausible: v.implausible }));
  if (v.implausible) return `<span class="badge flag" title="${escapeHtml(v.implausible)}">⚠ ${text}</span>`;
  return `<span class="badge v-${v.verdict}">${text}</span>`;
}

export function swatch(col: ColumnView | undefined): string {
  return col ? `<span class="swatch" style="background:${escapeHtml(col.colour)}"></span>` : '';
}

export function canvasFor(spec: Pick<ChartSpec, 'id' | 'title'>, cls = 'chart'): string {
  return (
    `<div class="${cls}"><canvas id="${escapeHtml(spec.id)}" role="img" ` +
    `aria-label="${escapeHtml(spec.title)}"></canvas></div>`
  );
}
