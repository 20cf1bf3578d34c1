import { readAsset } from '../assets.js';

/**
 * The chart runtime, as plain JavaScript source evaluated both in the browser
 * (inlined in the HTML) and in Node (png.ts), so both draw identical charts.
 * It provides:
 *  - errorBars: a Chart.js plugin reading `errorBars` ({lo, hi} per point)
 *    from each bar dataset and drawing a whisker with caps (either axis);
 *  - prepare(cfg): attaches what JSON cannot carry: tick formatters
 *    (1-2-5 ticks on log axes, "×" suffix on ratio axes) and tooltips.
 */
// The file's final newline is not part of the expression.
export const CHART_RUNTIME_JS = readAsset('chart-runtime.js').replace(/\n$/, '');
