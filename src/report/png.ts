/**
 * PNG charts for slides and wikis, drawn with chartjs-node-canvas from the
 * same chart specifications as the HTML report (model.ts), plus summary.png:
 * the headline overheads with their CIs and the accelerator caveat.
 */
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { RunResults } from '../results/types.js';
import {
  CHART_RUNTIME_JS,
  acceleratorCaveat,
  buildModel,
  chartConfig,
  verdictText,
  type ChartSpec,
  type ModelOptions,
  type ReportModel,
} from './model.js';

export const PNG_WIDTH = 1000;
export const PNG_HEIGHT = 560;

export interface PngFile {
  name: string;
  data: Buffer;
}

interface ChartRuntime {
  errorBars: Plugin;
  prepare(cfg: unknown): ChartConfiguration;
}

/** The chart runtime (whiskers, tick formatters), evaluated from the same source the HTML inlines. */
function chartRuntime(): ChartRuntime {
  return new Function(`return ${CHART_RUNTIME_JS};`)() as ChartRuntime;
}

/** Draws extra lines of text (the caveat) in a red box at the bottom of the canvas. */
function footerPlugin(lines: string[]): Plugin {
  return {
    id: 'isobenchFooter',
    afterDraw(chart) {
      if (lines.length === 0) return;
      const { ctx, width, height } = chart;
      const lineH = 18;
      const boxH = lines.length * lineH + 14;
      ctx.save();
      ctx.fillStyle = '#fff1f2';
      ctx.strokeStyle = '#e11d48';
      ctx.lineWidth = 2;
      ctx.fillRect(8, height - boxH - 8, width - 16, boxH);
      ctx.strokeRect(8, height - boxH - 8, width - 16, boxH);
      ctx.fillStyle = '#881337';
      ctx.textBaseline = 'top';
      lines.forEach((l, i) => {
        ctx.font = `${i === 0 ? 'bold ' : ''}14px "DejaVu Sans", sans-serif`;
        ctx.fillText(l, 18, height - boxH - 8 + 7 + i * lineH, width - 36);
      });
      ctx.restore();
    },
  };
}

/** Greedy word wrap by character count (the canvas has no layout engine). */
function wrap(text: string, max: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if ((line + ' ' + word).trim().length > max) {
      if (line) out.push(line);
      line = word;
    } else line = (line + ' ' + word).trim();
  }
  if (line) out.push(line);
  return out;
}

/** The headline rows as text lines, the same stored figures the HTML and Markdown print. */
export function headlineLines(model: ReportModel): string[] {
  const out: string[] = [];
  for (const row of model.headline) {
    out.push(`${row.title} (${row.metric}; ${row.what})`);
    for (const e of row.entries) {
      if (!e.value) continue;
      const verdict = e.verdict ? ` · ${verdictText({ verdict: e.verdict })}` : '';
      out.push(`    ${e.backend}: ${e.value}${e.ci ? ` ${e.ci}` : ''}${verdict}`);
      if (e.verdict === 'inconclusive' || !e.verdict) for (const l of wrap(e.detail, 120)) out.push(`        ${l}`);
    }
  }
  return out;
}

/** Draws text lines top-down (a chart with no data: the canvas is the page). */
function textPlugin(title: string, lines: string[]): Plugin {
  return {
    id: 'isobenchText',
    afterDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.fillStyle = '#0f172a';
      ctx.textBaseline = 'top';
      ctx.font = 'bold 18px "DejaVu Sans", sans-serif';
      ctx.fillText(title, 16, 12);
      lines.forEach((l, i) => {
        ctx.font = `${l.startsWith(' ') ? '' : 'bold '}13px "DejaVu Sans", sans-serif`;
        ctx.fillText(l, 16, 44 + i * 18, chart.width - 32);
      });
      ctx.restore();
    },
  };
}

function pngName(spec: ChartSpec): string {
  return `${spec.id.replace(/^chart-/, '')}.png`;
}

export type PngRenderer = (spec: ChartSpec, footer: string[]) => Promise<Buffer>;

/**
 * One renderer for many charts (chartjs-node-canvas re-requires Chart.js per instance): the fleet report uses it too.
 */
export function pngRenderer(
  size: { width: number; height: number } = { width: PNG_WIDTH, height: PNG_HEIGHT },
): PngRenderer {
  const runtime = chartRuntime();
  const canvas = new ChartJSNodeCanvas({
    width: size.width,
    height: size.height,
    backgroundColour: 'white',
    chartCallback: (C) => {
      C.defaults.font.family = 'DejaVu Sans';
      C.defaults.color = '#334155';
    },
  });
  return async (spec: ChartSpec, footer: string[]): Promise<Buffer> => {
    const raw = chartConfig(spec, { forPng: true }) as { options?: { plugins?: { subtitle?: { text?: unknown } } } };
    // The canvas squeezes a long line to fit: wrap long subtitles instead.
    const sub = raw.options?.plugins?.subtitle;
    if (sub && typeof sub.text === 'string' && sub.text.length > 140) sub.text = wrap(sub.text, 140);
    const cfg = runtime.prepare(raw);
    if (footer.length) cfg.plugins = [...(cfg.plugins ?? []), footerPlugin(footer)];
    const opts = (cfg.options ??= {}) as { layout?: { padding?: unknown } };
    opts.layout = { padding: { left: 8, right: 16, top: 4, bottom: footer.length ? footer.length * 18 + 30 : 4 } };
    return canvas.renderToBuffer(cfg);
  };
}

export async function renderPngsFromModel(
  model: ReportModel,
  size: { width: number; height: number } = { width: PNG_WIDTH, height: PNG_HEIGHT },
): Promise<PngFile[]> {
  const out: PngFile[] = [];
  const render = pngRenderer(size);

  const caveat = acceleratorCaveat(model);
  const tcgLine = 'WARNING: VM figures are TCG software emulation, not hardware virtualization.';
  const summaryFooter = [
    ...(caveat ? [tcgLine, ...wrap(caveat, 125)] : []),
    ...(model.status !== 'complete'
      ? [`Run ${model.runId} is ${model.status.toUpperCase()}: ${model.statusReason ?? 'some cells did not complete'}`]
      : []),
  ];

  const lines = headlineLines(model);
  if (lines.length) {
    // headline.png: every category in its own terms, with the verdicts (summary.png charts only the ratio rows).
    const height = Math.max(size.height, 44 + lines.length * 18 + 24 + summaryFooter.length * 18 + 30);
    const textCanvas = new ChartJSNodeCanvas({ width: size.width, height, backgroundColour: 'white' });
    const cfg = {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: false,
        plugins: { legend: { display: false } },
        scales: { x: { display: false }, y: { display: false } },
      },
      plugins: [
        textPlugin(`Headline · run ${model.runId}`, lines),
        ...(summaryFooter.length ? [footerPlugin(summaryFooter)] : []),
      ],
    } as unknown as ChartConfiguration;
    out.push({ name: 'headline.png', data: await textCanvas.renderToBuffer(cfg) });
  }
  if (model.summaryChart) {
    const summary = { ...model.summaryChart, title: `${model.summaryChart.title} · run ${model.runId}` };
    out.push({ name: 'summary.png', data: await render(summary, summaryFooter) });
  }
  if (model.capacity.chart) {
    const cap = model.capacity.emulated.length
      ? [
          `WARNING: ${model.capacity.emulated.join(', ')} ran under TCG emulation: its CPU-bound instances per host ` +
            `do not transfer to a KVM host.`,
        ]
      : [];
    const subtitle =
      `example inputs (default host profile, the scenario's instance): rerun \`isobench capacity\` ` +
      `with yours · run ${model.runId}`;
    out.push({
      name: 'capacity.png',
      data: await render({ ...model.capacity.chart, subtitle: `${model.capacity.chart.subtitle}; ${subtitle}` }, cap),
    });
  }
  for (const cat of model.categories) {
    if (cat.chart) {
      out.push({ name: pngName(cat.chart), data: await render(cat.chart, caveat ? [tcgLine] : []) });
    }
    for (const d of cat.distributions) out.push({ name: pngName(d), data: await render(d, caveat ? [tcgLine] : []) });
    for (const c of cat.isolation?.charts ?? []) {
      const title = `${c.title} · run ${model.runId}`;
      out.push({ name: pngName(c), data: await render({ ...c, title }, caveat ? [tcgLine] : []) });
    }
  }
  return out;
}

export async function renderPngs(results: RunResults, opts: ModelOptions = {}): Promise<PngFile[]> {
  return renderPngsFromModel(buildModel(results, opts));
}
