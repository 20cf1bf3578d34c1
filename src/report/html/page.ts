/**
 * The page around a report: the shared stylesheet, the document head, Chart.js and the script that draws the charts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readAsset } from '../assets.js';
import { escapeHtml } from './parts.js';

/** The report stylesheet (the fleet report uses it too). */
export const CSS = readAsset('report.css');

/** The Chart.js UMD bundle, read at render time (no CDN); made safe to inline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
  return readFileSync(file, 'utf8')
    .replace(/\n\/\/# sourceMappingURL=.*$/m, '')
    .replace(/<\/script/gi, '<\\/script')
    .replace(/<!--/g, '<\\!--');
}

/** Draws every chart of the embedded #isobench-charts JSON and marks its canvas data-drawn. */
export const BOOT_JS = (runtime: string) => `
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

const CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'";

/**
 * The document head every isobench page shares: the stylesheet and the content
 * security policy that keeps a report offline (no request leaves the file).
 */
export function documentHead(title: string, extraCss = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title>
<style>${CSS}${extraCss ? `\n${extraCss}` : ''}</style>
</head>`;
}
