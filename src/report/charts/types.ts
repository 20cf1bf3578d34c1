/** Chart specifications: plain data, shared by HTML and PNG (config.ts turns them into Chart.js configurations). */

// ---------- chart specifications (plain data, shared by HTML and PNG) ----------

export interface BarSeries {
  label: string;
  colour: string;
  /** Bar value per x label (null when this backend has no value). */
  values: (number | null)[];
  /** Whisker ends per x label (95% CI), in the same scale as values. */
  lo: (number | null)[];
  hi: (number | null)[];
  /** Human text per x label for tooltips ("1,203 events/s [1,190, 1,215], n=5"). */
  text: (string | null)[];
  /** Text drawn above each bar ("−52%"), null for none. */
  labelsAbove?: (string | null)[];
}

export interface BarChartSpec {
  type: 'bar';
  id: string;
  title: string;
  subtitle: string;
  axisTitle: string;
  /** Category labels; an array is drawn as several lines. */
  labels: (string | string[])[];
  series: BarSeries[];
  /** Value axis is logarithmic (wide range such as TCG start-up vs native). */
  log: boolean;
  /** Horizontal bars (value axis is x). */
  horizontal: boolean;
  /** Where bars start (1 for cost factors, 0 otherwise). */
  base: number;
  /** Value-axis range that keeps every bar, whisker and the base in view. */
  suggestedMin: number | undefined;
  suggestedMax: number | undefined;
  /** Hard value-axis limits: whiskers beyond them are clipped and drawn with an arrow. */
  min?: number | undefined;
  max?: number | undefined;
  /** Stack the series (capacity chart: one series per binding resource). */
  stacked?: boolean;
  /** Value-axis tick suffix ("×" for factors, "" for absolute units). */
  suffix?: string;
}

export interface CdfSeries {
  label: string;
  colour: string;
  points: { x: number; y: number }[];
}

export interface CdfChartSpec {
  type: 'cdf';
  id: string;
  title: string;
  subtitle: string;
  axisTitle: string;
  series: CdfSeries[];
  log: boolean;
}

export interface LineSeries {
  label: string;
  colour: string;
  points: { x: number; y: number }[];
  /** Tooltip text per point. */
  text: (string | null)[];
  dashed?: boolean;
  /** A reference line: no point markers. */
  noPoints?: boolean;
  /** Points drawn hollow (e.g. outside the counted window). */
  hollow?: boolean[];
  /** Points drawn as a red ✕ (e.g. the step that was OOM-killed). */
  crosses?: boolean[];
  /** Text drawn next to a point. */
  marks?: (string | null)[];
  /** The last segment is dotted (leads to an end marker). */
  dashLast?: boolean;
}

/** An x–y line chart (time series, gradient, density): linear axes. */
export interface LineChartSpec {
  type: 'line';
  id: string;
  title: string;
  subtitle: string;
  xTitle: string;
  yTitle: string;
  xSuffix?: string;
  ySuffix: string;
  xMin?: number | undefined;
  xMax?: number | undefined;
  /** Tick step on x (1 for instance counts). */
  xStep?: number;
  yMin: number | undefined;
  yMax: number | undefined;
  series: LineSeries[];
}

export type ChartSpec = BarChartSpec | CdfChartSpec | LineChartSpec;
