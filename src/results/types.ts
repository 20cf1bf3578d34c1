/**
 * The results.json contract (schemaVersion 1). Scripts, report, compare and
 * capacity read this; change it only with a schemaVersion bump.
 */
export const SCHEMA_VERSION = 1;

export type RunStatus = 'complete' | 'partial' | 'failed';

export interface Summary {
  n: number;
  median: number;
  mean: number;
  stdev: number;
  min: number;
  max: number;
  /**
   * 95% confidence interval of the MEAN, Student t with n-1 degrees of freedom
   * (src/stats: a bootstrap of 3-10 values understates the spread; t does not).
   */
  ci95: [number, number];
  /** Coefficient of variation (stdev / mean), 0..inf. */
  cv: number;
  /** Indices (into values) of outliers by modified z-score > 3.5 on MAD; flagged, never dropped. */
  outliers: number[];
}

export interface MetricResult {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  values: number[];
  /** Repetition number of each value (1-based, warm-ups excluded). */
  repetitions: number[];
  /** Raw log of each value, relative to the run directory (raw/...). */
  rawLogs: string[];
  summary: Summary | null;
  /** Labels of caveats attached to this metric (e.g. "gVisor does not honour O_DIRECT"). */
  notes?: string[];
}

export type CellState =
  | { state: 'complete'; metrics: MetricResult[] }
  | { state: 'partial'; metrics: MetricResult[]; reason: string }
  | { state: 'failed'; stage: string; error: string; rawLog?: string; metrics: MetricResult[] }
  | { state: 'skipped'; reason: string; metrics: MetricResult[] };

export type Cell = { backend: string; workload: string; extra?: Record<string, unknown> } & CellState;

export interface BackendResult {
  /** Column label: `native`, `container:runc`, `vm:q35-tcg` ... */
  label: string;
  kind: 'native' | 'container' | 'vm';
  variant: string;
  accelerator: string;
  acceleratorReason: string;
  versions: Record<string, string>;
  warnings: string[];
  details: Record<string, unknown>;
  /** Limits as read back from the instance's cgroup, proving they took effect. */
  limitsReadBack?: Record<string, unknown>;
  error?: string;
}

export type Verdict = 'overhead' | 'better' | 'within-noise' | 'insufficient-data';

export interface Overhead {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** backend mean / native mean (the ratio whose CI is computed; see src/stats). */
  ratio: number;
  /** 95% CI of the ratio: delta method on log(ratio), Welch-Satterthwaite df. */
  ratioCi95: [number, number];
  /** Cost in percent: positive means the backend is worse than native. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  verdict: Verdict;
}

export interface Warning {
  code: string;
  message: string;
  backend?: string;
  workload?: string;
}

export interface RunResults {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'isobench'; version: string };
  runId: string;
  status: RunStatus;
  /** Why the run is partial or failed. */
  statusReason?: string;
  startedAt: string;
  endedAt: string | null;
  scenarioFile: string;
  scenario: unknown;
  host: Record<string, unknown>;
  toolVersions: Record<string, string | null>;
  rootfsHash: string | null;
  backends: BackendResult[];
  /** How repetitions were ordered across backends, e.g. "interleaved (rotating ABC, BCA, CAB)". */
  order: string;
  cells: Cell[];
  overheads: Overhead[];
  warnings: Warning[];
  /** Set when measurements succeeded but cleanup did not: what is left, how to remove it. */
  cleanupFailed?: { leftovers: string[]; hint: string };
  /** The samples.jsonl written with this results.json (written and fsynced first): a reader checks the hash to know both match. */
  samples?: { file: 'samples.jsonl'; rows: number; sha256: string };
}

/** One line of samples.jsonl: flat, for pandas / BigQuery / Grafana. */
export interface SampleRow {
  runId: string;
  backend: string;
  variant: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  repetition: number;
  value: number;
  rawLog: string;
}
