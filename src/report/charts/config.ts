/** Chart.js configurations (plain JSON) for chart specs; the chart runtime (runtime.ts) attaches the functions. */
import type { ChartSpec, LineChartSpec } from './types.js';

/** Chart.js configuration for a spec; functions (tooltips, tick formatters) are attached by the renderer. */
export function chartConfig(spec: ChartSpec, opts: { forPng?: boolean } = {}): Record<string, unknown> {
  // node-canvas does not parse quoted font stacks well: one installed family for PNGs.
  const font = {
    family: opts.forPng ? 'DejaVu Sans' : 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
  };
  const titlePlugins = {
    title: {
      display: true,
      text: spec.title,
      font: { ...font, size: opts.forPng ? 18 : 15, weight: 'bold' },
      color: '#0f172a',
      align: 'start',
    },
    subtitle: {
      display: true,
      text: spec.subtitle,
      font: { ...font, size: opts.forPng ? 13 : 12 },
      color: '#475569',
      align: 'start',
      padding: { bottom: 10 },
    },
    legend: { position: 'bottom', labels: { font: { ...font, size: 12 }, boxWidth: 14 } },
  };
  if (spec.type === 'bar') {
    const valueAxis = spec.horizontal ? 'x' : 'y';
    const catAxis = spec.horizontal ? 'y' : 'x';
    return {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: spec.series.map((s) => ({
          label: s.label,
          data: s.values,
          backgroundColor: s.colour + 'cc',
          borderColor: s.colour,
          borderWidth: 1,
          base: spec.base === 1 ? 1 : undefined,
          errorBars: s.values.map((_, i) => ({ lo: s.lo[i] ?? null, hi: s.hi[i] ?? null })),
          isobenchText: s.text,
          ...(s.labelsAbove ? { isobenchLabels: s.labelsAbove } : {}),
        })),
      },
      options: {
        indexAxis: catAxis === 'y' ? 'y' : 'x',
        isobenchAxes: { [valueAxis]: { log: spec.log, suffix: spec.suffix ?? '×' } },
        animation: false,
        responsive: !opts.forPng,
        maintainAspectRatio: false,
        plugins: titlePlugins,
        scales: {
          [valueAxis]: {
            type: spec.log ? 'logarithmic' : 'linear',
            beginAtZero: !spec.log && spec.base !== 1,
            suggestedMin: spec.suggestedMin,
            suggestedMax: spec.suggestedMax,
            min: spec.min,
            max: spec.max,
            stacked: spec.stacked === true,
            title: { display: true, text: spec.axisTitle, font: { ...font, size: 12 } },
            grid: { color: '#e2e8f0' },
          },
          [catAxis]: {
            stacked: spec.stacked === true,
            grid: { display: false },
            ticks: { font: { ...font, size: 11 } },
          },
        },
      },
    };
  }
  if (spec.type === 'line') return lineChartConfig(spec, font, titlePlugins, !opts.forPng);
  return {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.points,
        borderColor: s.colour,
        backgroundColor: s.colour,
        stepped: 'before',
        pointRadius: 3,
        borderWidth: 2,
        fill: false,
        clip: 6,
      })),
    },
    options: {
      animation: false,
      responsive: !opts.forPng,
      maintainAspectRatio: false,
      parsing: true,
      isobenchAxes: { x: { log: spec.log, suffix: '' } },
      plugins: titlePlugins,
      scales: {
        x: {
          type: spec.log ? 'logarithmic' : 'linear',
          title: { display: true, text: spec.axisTitle, font: { ...font, size: 12 } },
          grid: { color: '#e2e8f0' },
        },
        y: {
          min: 0,
          max: 1,
          title: { display: true, text: 'fraction of repetitions ≤ x', font: { ...font, size: 12 } },
          grid: { color: '#e2e8f0' },
        },
      },
    },
  };
}

const CROSS_RED = '#dc2626';

function lineChartConfig(
  spec: LineChartSpec,
  font: { family: string },
  titlePlugins: Record<string, unknown>,
  responsive: boolean,
): Record<string, unknown> {
  return {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => {
        const n = s.points.length;
        const cross = (i: number): boolean => s.crosses?.[i] === true;
        const hollow = (i: number): boolean => s.hollow?.[i] === true;
        const idx = Array.from({ length: n }, (_, i) => i);
        return {
          label: s.label,
          data: s.points,
          borderColor: s.colour,
          backgroundColor: s.colour,
          borderWidth: s.noPoints ? 1.5 : 2,
          borderDash: s.dashed ? [6, 4] : undefined,
          fill: false,
          tension: 0,
          clip: 14,
          pointStyle: idx.map((i) => (cross(i) ? 'crossRot' : 'circle')),
          pointRadius: idx.map((i) => (s.noPoints ? 0 : cross(i) ? 9 : 3)),
          pointHoverRadius: idx.map((i) => (s.noPoints ? 0 : cross(i) ? 10 : 5)),
          pointBorderWidth: idx.map((i) => (cross(i) ? 3 : 1.5)),
          pointBorderColor: idx.map((i) => (cross(i) ? CROSS_RED : s.colour)),
          pointBackgroundColor: idx.map((i) => (cross(i) ? CROSS_RED : hollow(i) ? '#ffffff' : s.colour)),
          isobenchText: s.text,
          ...(s.marks ? { isobenchLabels: s.marks, isobenchLabelColour: CROSS_RED } : {}),
          ...(s.dashLast ? { isobenchDashLast: true } : {}),
        };
      }),
    },
    options: {
      animation: false,
      responsive,
      maintainAspectRatio: false,
      parsing: true,
      isobenchAxes: { x: { log: false, suffix: spec.xSuffix ?? '' }, y: { log: false, suffix: spec.ySuffix } },
      plugins: {
        ...titlePlugins,
        legend: {
          position: 'bottom',
          labels: { font: { ...font, size: 12 }, usePointStyle: true, pointStyle: 'line', pointStyleWidth: 26 },
        },
      },
      scales: {
        x: {
          type: 'linear',
          min: spec.xMin,
          max: spec.xMax,
          ...(spec.xStep ? { ticks: { stepSize: spec.xStep } } : {}),
          title: { display: true, text: spec.xTitle, font: { ...font, size: 12 } },
          grid: { color: '#e2e8f0' },
        },
        y: {
          type: 'linear',
          min: spec.yMin,
          max: spec.yMax,
          beginAtZero: true,
          title: { display: true, text: spec.yTitle, font: { ...font, size: 12 } },
          grid: { color: '#e2e8f0' },
        },
      },
    },
  };
}
